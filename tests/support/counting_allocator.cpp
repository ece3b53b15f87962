// The replaced global operator new behind counting_allocator.hpp. Only the plain and aligned
// forms are replaced; the other forms of new call these, as the standard library does.
#include "counting_allocator.hpp"

#include <cstdlib>
#include <new>

namespace colt::test {

AllocationCount& allocation_count() {
  static AllocationCount count;
  return count;
}

bool& counting_allocations() {
  thread_local bool on = false;
  return on;
}

namespace {
void note(std::size_t size) {
  if (counting_allocations()) {
    allocation_count().allocations.fetch_add(1, std::memory_order_relaxed);
    allocation_count().bytes.fetch_add(static_cast<long>(size), std::memory_order_relaxed);
  }
}
}  // namespace

}  // namespace colt::test

void* operator new(std::size_t size) {
  colt::test::note(size);
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}

void* operator new(std::size_t size, std::align_val_t align) {
  colt::test::note(size);
  const std::size_t a = static_cast<std::size_t>(align);
  if (void* p = std::aligned_alloc(a, (size + a - 1) / a * a)) return p;
  throw std::bad_alloc();
}

void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
