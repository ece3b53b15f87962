// Not a header to include: the headers every in-process test program reads, compiled once per
// build into a precompiled header (cpp_pch in tests/meson.build). Parsing doctest and colt.hpp
// took about 3.5 CPU-s of each suite's translation unit. Only headers every suite may see.

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "colt/colt.hpp"
