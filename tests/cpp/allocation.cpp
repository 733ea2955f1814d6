// The malloc interposer behind allocation.h, defined exactly once in the test binary, and the test
// that it counts. That test lives here, in the interposer's translation unit: GCC elides or moves
// a new/delete pair around counting calls made from elsewhere, but not around this malloc.
#include "allocation.h"

#include <catch2/catch.hpp>

#ifdef BIONN_TEST_COUNTS_MALLOC
#include <cstddef>

extern "C" void* __libc_malloc(size_t);

namespace bionn_test {
std::atomic<long> malloc_count{0};
std::atomic<bool> counting_mallocs{false};
}  // namespace bionn_test

extern "C" void* malloc(size_t n) {
  if (bionn_test::counting_mallocs.load(std::memory_order_relaxed))
    bionn_test::malloc_count.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(n);
}

TEST_CASE("the allocation counter sees allocations", "[allocation]") {
  bionn_test::start_counting_mallocs();
  std::vector<float>* v = new std::vector<float>(1000);
  const long mallocs = bionn_test::stop_counting_mallocs();
  delete v;
  CHECK(mallocs >= 2);
}
#endif
