// expect-error: colt needs C++20
// std: c++17
// Compiled as C++17, a program including colt is told, first, which standard colt needs.
#include "colt/colt.hpp"

int main() { return 0; }
