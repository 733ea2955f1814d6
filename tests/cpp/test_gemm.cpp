// gemm (src/core/gemm.h): our split of Eigen's GEMM over threads and over stack-sized blocks.
#include <catch2/catch.hpp>

#include <Eigen/Core>

#include "allocation.h"
#include "core/gemm.h"
#include "core/parallel.h"
#include "core/rng.h"

using namespace bionn;

namespace {
template <int Order>
using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Order>;

template <int Order>
Mat<Order> random_matrix(Eigen::Index rows, Eigen::Index cols, Rng& rng) {
  Mat<Order> a(rows, cols);
  for (Eigen::Index i = 0; i < a.size(); ++i) a.data()[i] = static_cast<float>(rng.normal());
  return a;
}

// Checks gemm(C, A, B) against Eigen's own product, with and without accumulation: bit for bit on
// one thread (several threads cut the output on other edges than Eigen's kernel does), and with no
// malloc where mallocs are counted.
template <int Order>
void check_gemm(Eigen::Index m, Eigen::Index n, Eigen::Index k, bool bitwise) {
  INFO("m " << m << " n " << n << " k " << k << (Order == Eigen::RowMajor ? " row-major" : " col-major"));
  Rng rng(5);
  const Mat<Eigen::RowMajor> a = random_matrix<Eigen::RowMajor>(m, k, rng);
  const Mat<Eigen::ColMajor> b = random_matrix<Eigen::ColMajor>(k, n, rng);
  Mat<Order> want(m, n), got(m, n);
  want.noalias() = a * b;
  Mat<Order> want_acc = want, got_acc = want;
  want_acc.noalias() += a * b;
  gemm(got, a, b, false);  // warm-up (the thread team)
#ifdef BIONN_TEST_COUNTS_MALLOC
  bionn_test::start_counting_mallocs();
#endif
  gemm(got, a, b, false);
  gemm(got_acc, a, b, true);
#ifdef BIONN_TEST_COUNTS_MALLOC
  CHECK(bionn_test::stop_counting_mallocs() == 0);
#endif
  if (bitwise) {
    CHECK((got.array() == want.array()).all());
    CHECK((got_acc.array() == want_acc.array()).all());
  } else {
    CHECK(got.isApprox(want, 1e-5f));
    CHECK(got_acc.isApprox(want_acc, 1e-5f));
  }
}
}  // namespace

TEST_CASE("gemm matches Eigen bit for bit and keeps its packed blocks off the heap", "[gemm][allocation]") {
  limit_gemm_blocking();
  const int threads = get_num_threads(), use = GENERATE(1, 2);
  set_num_threads(use);
  INFO("threads " << use);
  // Eigen's row count m is dst's columns for a row-major dst. Depth over its kc and m over the
  // stack limit: Dense(784, 800) forward at batch 128 (one 400 x 800 lhs block is 1.25 MiB), a
  // wider one whose per-thread halves are still too big, and the column-major counterparts.
  const bool bitwise = use == 1;
  check_gemm<Eigen::RowMajor>(128, 800, 784, bitwise);
  check_gemm<Eigen::RowMajor>(128, 3000, 900, bitwise);
  check_gemm<Eigen::ColMajor>(800, 128, 784, bitwise);
  check_gemm<Eigen::ColMajor>(3000, 100, 900, bitwise);
  check_gemm<Eigen::RowMajor>(64, 200, 30, bitwise);  // small: one block
  set_num_threads(threads);
}

TEST_CASE("blas: without a library every product is Eigen's; an unusable library changes nothing", "[gemm][blas]") {
  blas::unload();
  Rng rng(7);
  const Mat<Eigen::RowMajor> a = random_matrix<Eigen::RowMajor>(64, 96, rng);
  const Mat<Eigen::ColMajor> b = random_matrix<Eigen::ColMajor>(96, 80, rng);
  Mat<Eigen::RowMajor> c(64, 80);
  c.setConstant(3.0f);
  CHECK_FALSE(blas::gemm(c, a, b, false));
  CHECK((c.array() == 3.0f).all());  // untouched
  const uint64_t before = blas::calls.load();
  CHECK_THROWS_WITH(blas::load("/no/such/libblas.so"), Catch::Contains("cannot open '/no/such/libblas.so'"));
  CHECK(blas::current.load() == nullptr);
  CHECK(blas::loaded_path().empty());
  gemm_serial(c, a, b, false);
  Mat<Eigen::RowMajor> want(64, 80);
  want.noalias() = a * b;
  CHECK((c.array() == want.array()).all());
  CHECK(blas::calls.load() == before);
}
