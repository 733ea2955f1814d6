// Size checks before allocation: products that overflow, and sizes beyond the memory limit, are
// refused with a std::length_error naming the arguments, before any tensor is allocated.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>

#include "core/limits.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "layers/batchnorm.h"
#include "layers/conv2d.h"
#include "layers/dense.h"
#include "layers/focus.h"

using namespace bionn;

namespace {
std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::length_error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("checked_elements multiplies without overflow and names the arguments", "[limits]") {
  REQUIRE(checked_elements("L", {{"a", 3}, {"b", 4}}, 4) == 12);
  REQUIRE(checked_elements("L", {{"a", 0}, {"b", 4}}, 4) == 0);  // non-positive: the caller reports it
  const std::string m =
      message_of([] { checked_elements("L", {{"a", int64_t(1) << 32}, {"b", int64_t(1) << 32}}, 4); });
  REQUIRE(m.find("a * b") != std::string::npos);
  REQUIRE(m.find("overflows") != std::string::npos);
  const std::string bytes = message_of([] { checked_elements("L", {{"a", int64_t(1) << 61}}, 8); });
  REQUIRE(bytes.find("a 64-bit program can address") != std::string::npos);
}

TEST_CASE("BIONN_MAX_BYTES lowers the memory limit", "[limits]") {
  setenv("BIONN_MAX_BYTES", "1000", 1);
  REQUIRE(memory_limit_bytes() == 1000);
  REQUIRE(checked_elements("L", {{"n", 250}}, 4) == 250);
  const std::string m = message_of([] { checked_elements("L", {{"n", 251}}, 4); });
  REQUIRE(m.find("1004 bytes") != std::string::npos);
  unsetenv("BIONN_MAX_BYTES");
  REQUIRE(memory_limit_bytes() > 1000);
}

TEST_CASE("layer constructors refuse overflowing sizes before allocating", "[limits]") {
  Rng rng(0);
  FocusOptions o;
  // The reproducers: height * width wrapped to 0 and the initialiser wrote past empty vectors.
  REQUIRE_THROWS_AS(FocusDense2D<float>(int64_t(1) << 62, 4, 3, o, rng), std::length_error);
  REQUIRE_THROWS_AS(FocusDense2D<float>(int64_t(1) << 32, int64_t(1) << 32, 3, o, rng), std::length_error);
  REQUIRE_THROWS_AS(FocusDense<float>(int64_t(1) << 62, 4, o, rng), std::length_error);
  REQUIRE_THROWS_AS(Dense<float>(int64_t(1) << 32, int64_t(1) << 32, true, "torch", rng), std::length_error);
  REQUIRE_THROWS_AS(Dense<float>(1000000000, 1000000000, true, "torch", rng), std::length_error);
  REQUIRE_THROWS_AS(BatchNorm<float>(int64_t(1) << 62, false, 1e-5, 0.1, true), std::length_error);
}

TEST_CASE("a tensor refuses to grow past the memory limit and stays as it was", "[limits]") {
  Tensor<float> t(Shape{2, 3});
  t.fill(7.0f);
  setenv("BIONN_MAX_BYTES", "4096", 1);
  t.resize(Shape{4, 256});  // 4096 bytes: allowed
  t.resize(Shape{2, 3});
  const std::string m = message_of([&] { t.resize(Shape{4, 257}); });
  REQUIRE(m.find("(4, 257)") != std::string::npos);
  REQUIRE(m.find("4112 bytes") != std::string::npos);
  REQUIRE(t.shape() == Shape({2, 3}));
  const std::string wraps =
      message_of([&] { t.resize(Shape{int64_t(1) << 32, int64_t(1) << 32, int64_t(1) << 32, 1}); });
  REQUIRE(wraps.find("more elements than a 64-bit count holds") != std::string::npos);
  unsetenv("BIONN_MAX_BYTES");
}

TEST_CASE("a convolution whose padded output cannot fit is refused at forward", "[limits]") {
  Rng rng(0);
  setenv("BIONN_MAX_BYTES", "1048576", 1);
  Conv2d<float> conv(1, 2, 3, 3, 1, int64_t(1) << 20, true, "torch", rng);  // valid; the output is not
  Tensor<float> x(Shape{4, 1, 8, 8}, 0.0f);
  const std::string m = message_of([&] { conv.forward(x, false, rng); });
  REQUIRE(m.find("(4, 2, 2097158, 2097158)") != std::string::npos);
  REQUIRE_THROWS_AS(Conv2d<float>(1, 2, 3, 3, 1, int64_t(1) << 31, true, "torch", rng), std::invalid_argument);
  unsetenv("BIONN_MAX_BYTES");
}
