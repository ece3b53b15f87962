// Not a header to include: the headers every in-process test program reads, compiled once per build into a precompiled
// header (cpp_pch in tests/meson.build): parsing doctest and colt.hpp took about 4 CPU-s of
// each test's translation unit, a third of the build. Only headers that every test may see.

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
