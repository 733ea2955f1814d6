// Size checks run by constructors before they allocate anything: the element count of a layer's
// largest tensor, from its size arguments, computed without overflow and refused (a
// std::length_error, ValueError in Python, naming the arguments and the bytes needed) when it does
// not fit in a ptrdiff_t or in this machine's memory. A product that wraps around would otherwise
// size the tensors wrong and the initialisers would write past them.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

namespace bionn {

// A named size argument of a constructor: {"in_features", in_features}.
struct SizeArg {
  const char* name;
  int64_t value;
};

constexpr int64_t kMaxIndex = INT64_MAX;  // PTRDIFF_MAX on the 64-bit targets bionn builds for

// The most bytes one tensor may take: the physical memory (POSIX; otherwise kMaxIndex), lowered by
// the environment variable BIONN_MAX_BYTES when it holds a positive integer. Python reads the same
// variable (bionn._validation.memory_limit), so both sides refuse the same sizes.
inline int64_t memory_limit_bytes() {
  int64_t limit = kMaxIndex;
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGE_SIZE)
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  int64_t phys = 0;
  if (pages > 0 && page > 0 && !__builtin_mul_overflow(int64_t(pages), int64_t(page), &phys)) limit = phys;
#endif
  if (const char* cap = std::getenv("BIONN_MAX_BYTES")) {
    char* end = nullptr;
    const long long v = std::strtoll(cap, &end, 10);
    if (end != cap && v > 0 && v < limit) limit = v;
  }
  return limit;
}

// Checks the product of `args` (times `copies` tensors of `itemsize` bytes each) and returns it.
// Non-positive arguments are left to the caller's own checks (the product is then 0).
inline int64_t checked_elements(const std::string& layer, const std::vector<SizeArg>& args, int64_t itemsize,
                                int64_t copies = 1) {
  std::string names, values;
  for (const SizeArg& a : args) {
    names += (names.empty() ? "" : " * ") + std::string(a.name);
    values += (values.empty() ? "" : " * ") + std::to_string(a.value);
  }
  int64_t count = 1;
  for (const SizeArg& a : args) {
    if (a.value <= 0) return 0;
    if (__builtin_mul_overflow(count, a.value, &count))
      throw std::length_error(layer + ": " + names + " = " + values + " overflows a 64-bit element count");
  }
  int64_t bytes = 0;
  if (__builtin_mul_overflow(count, itemsize * copies, &bytes))
    throw std::length_error(layer + ": " + names + " = " + std::to_string(count) + " elements need more than the " +
                            std::to_string(kMaxIndex) + " bytes a 64-bit program can address");
  const int64_t limit = memory_limit_bytes();
  if (bytes > limit)
    throw std::length_error(layer + ": " + names + " = " + std::to_string(count) + " elements need " +
                            std::to_string(bytes) + " bytes, more than the " + std::to_string(limit) +
                            " bytes this machine allows (physical memory, or $BIONN_MAX_BYTES)");
  return count;
}

}  // namespace bionn
