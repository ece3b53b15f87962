#pragma once
// Counts the allocations a thread makes while counting is on, by replacing the global operator
// new (counting_allocator.cpp, linked into the soak tests only): the test of "steady-state calls
// allocate nothing".

#include <atomic>
#include <cstddef>

namespace colt::test {

struct AllocationCount {
  std::atomic<long> allocations{0};
  std::atomic<long> bytes{0};
};

AllocationCount& allocation_count();
bool& counting_allocations();  // this thread's switch

// Counts this thread's allocations for as long as it lives.
struct CountAllocations {
  CountAllocations() { counting_allocations() = true; }
  ~CountAllocations() { counting_allocations() = false; }
  CountAllocations(const CountAllocations&) = delete;
  CountAllocations& operator=(const CountAllocations&) = delete;
};

}  // namespace colt::test
