// MaxPool2d / AvgPool2d / GlobalAvgPool2d: hand-computed values, tie-breaking, padding semantics,
// gradients by finite differences, errors.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <vector>

#include "gradcheck.h"
#include "layers/pooling.h"

using namespace bionn;
using namespace bionn_test;

using Pool = Pool2d<double>;

static void check_values(const Tensor<double>& t, std::initializer_list<double> expected) {
  REQUIRE(t.size() == static_cast<int64_t>(expected.size()));
  int64_t i = 0;
  for (double e : expected) {
    INFO("index " << i);
    CHECK(t[i++] == Approx(e).margin(1e-12));
  }
}

TEST_CASE("MaxPool2d forward and backward on a hand-computed case", "[pooling][maxpool]") {
  Pool pool(Pool::Mode::Max, 2, 2, 0);
  CHECK(pool.kind() == "MaxPool2d");
  Rng rng;
  Tensor<double> x = make_tensor(Shape{1, 1, 4, 4}, {1, 5, 2, 0,    //
                                                     3, 4, 8, 1,    //
                                                     -1, -2, 0, 7,  //
                                                     -3, -4, 6, 9});
  const Tensor<double>& y = pool.forward(x, true, rng);
  REQUIRE(y.shape() == Shape{1, 1, 2, 2});
  check_values(y, {5, 8, -1, 9});
  Tensor<double> g = make_tensor(Shape{1, 1, 2, 2}, {10, 20, 30, 40});
  check_values(pool.backward(g), {0, 10, 0, 0,  //
                                  0, 0, 20, 0,  //
                                  30, 0, 0, 0,  //
                                  0, 0, 0, 40});
}

TEST_CASE("MaxPool2d ties: the first maximum wins and takes all the gradient", "[pooling][maxpool]") {
  Rng rng;
  SECTION("all equal") {
    Pool pool(Pool::Mode::Max, 2, 2, 0);
    Tensor<double> x(Shape{1, 1, 2, 2}, 3.0);
    check_values(pool.forward(x, true, rng), {3});
    Tensor<double> g(Shape{1, 1, 1, 1}, 1.5);
    check_values(pool.backward(g), {1.5, 0, 0, 0});
  }
  SECTION("tie between later positions, row-major order decides") {
    Pool pool(Pool::Mode::Max, 2, 2, 0);
    Tensor<double> x = make_tensor(Shape{1, 1, 2, 2}, {1, 7, 7, 7});
    check_values(pool.forward(x, true, rng), {7});
    Tensor<double> g(Shape{1, 1, 1, 1}, 1.0);
    check_values(pool.backward(g), {0, 1, 0, 0});
  }
  SECTION("overlapping windows accumulate on a shared maximum") {
    Pool pool(Pool::Mode::Max, 2, 1, 0);
    Tensor<double> x = make_tensor(Shape{1, 1, 2, 3}, {4, 4, 4, 0, 0, 0});
    check_values(pool.forward(x, true, rng), {4, 4});
    Tensor<double> g = make_tensor(Shape{1, 1, 1, 2}, {1, 2});
    // window 0 -> first 4 (index 0); window 1 covers indices 1,2 -> first is index 1
    check_values(pool.backward(g), {1, 2, 0, 0, 0, 0});
  }
}

// The forward pass updates a whole output row per window element; this checks it against the plain
// per-window scan (row-major, strict >, NaN taken) on inputs full of ties, with NaN and -inf, over
// kernel / stride / padding combinations including the borders that need bounds checks.
template <typename T>
static void check_against_window_scan(int64_t k, int64_t s, int64_t p, int64_t h, int64_t w) {
  Pool2d<T> pool(Pool2d<T>::Mode::Max, k, s, p);
  Rng rng;
  const int64_t n = 2, c = 3;
  Tensor<T> x(Shape{n, c, h, w});
  uint64_t state = 12345 + static_cast<uint64_t>(k * 1000 + s * 100 + p * 10 + h + w);
  for (int64_t i = 0; i < x.size(); ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    x[i] = static_cast<T>(static_cast<int64_t>((state >> 33) % 5) - 2);  // values in -2..2: many ties
  }
  x[1] = std::numeric_limits<T>::quiet_NaN();
  x[x.size() / 2] = std::numeric_limits<T>::quiet_NaN();
  x[x.size() - 1] = -std::numeric_limits<T>::infinity();
  const Tensor<T>& y = pool.forward(x, true, rng);
  const int64_t ho = (h + 2 * p - k) / s + 1, wo = (w + 2 * p - k) / s + 1;
  REQUIRE(y.shape() == Shape{n, c, ho, wo});
  Tensor<T> g(y.shape());
  for (int64_t i = 0; i < g.size(); ++i) g[i] = static_cast<T>(i + 1);
  const Tensor<T>& dx = pool.backward(g);
  std::vector<T> want_dx(static_cast<size_t>(x.size()), T(0));
  for (int64_t pl = 0; pl < n * c; ++pl)
    for (int64_t oy = 0; oy < ho; ++oy)
      for (int64_t ox = 0; ox < wo; ++ox) {
        T best = -std::numeric_limits<T>::infinity();
        int64_t arg = -1;
        for (int64_t yy = oy * s - p; yy < oy * s - p + k; ++yy)
          for (int64_t xx = ox * s - p; xx < ox * s - p + k; ++xx) {
            if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
            const T v = x[(pl * h + yy) * w + xx];
            if (arg < 0) arg = yy * w + xx;
            if (v > best || std::isnan(v)) best = v, arg = yy * w + xx;
          }
        const int64_t o = (pl * ho + oy) * wo + ox;
        INFO("k " << k << " s " << s << " p " << p << " input " << h << "x" << w << " output " << o);
        if (std::isnan(best))
          CHECK(std::isnan(y[o]));
        else
          CHECK(y[o] == best);
        want_dx[static_cast<size_t>(pl * h * w + arg)] += g[o];
      }
  for (int64_t i = 0; i < x.size(); ++i) {
    INFO("k " << k << " s " << s << " p " << p << " input " << h << "x" << w << " dx " << i);
    CHECK(dx[i] == want_dx[static_cast<size_t>(i)]);
  }
}

TEST_CASE("MaxPool2d equals a per-window scan: ties, NaN, -inf, padding, strides", "[pooling][maxpool]") {
  const int64_t geo[][3] = {{5, 1, 0}, {5, 1, 2}, {2, 2, 0}, {3, 2, 1}, {3, 1, 1}, {4, 3, 2},
                            {5, 2, 2}, {1, 1, 0}, {3, 3, 0}, {2, 1, 1}, {5, 3, 1}};
  const int64_t sizes[][2] = {{28, 28}, {7, 9}, {5, 5}, {6, 4}, {3, 11}};
  for (const auto& g : geo)
    for (const auto& hw : sizes) {
      if (hw[0] + 2 * g[2] < g[0] || hw[1] + 2 * g[2] < g[0]) continue;
      check_against_window_scan<float>(g[0], g[1], g[2], hw[0], hw[1]);
      check_against_window_scan<double>(g[0], g[1], g[2], hw[0], hw[1]);
    }
}

TEST_CASE("MaxPool2d padding acts as -infinity", "[pooling][maxpool]") {
  Rng rng;
  Pool pool(Pool::Mode::Max, 2, 2, 1);
  Tensor<double> x = make_tensor(Shape{1, 1, 3, 3}, {-1, -2, -3, -4, -5, -6, -7, -8, -9});
  const Tensor<double>& y = pool.forward(x, true, rng);
  REQUIRE(y.shape() == Shape{1, 1, 2, 2});
  // Zero padding would give 0 everywhere; -inf padding keeps the real (negative) maxima.
  check_values(y, {-1, -2, -4, -5});
  Tensor<double> g = make_tensor(Shape{1, 1, 2, 2}, {1, 2, 3, 4});
  check_values(pool.backward(g), {1, 2, 0, 3, 4, 0, 0, 0, 0});
}

TEST_CASE("MaxPool2d gradients match finite differences", "[pooling][maxpool][gradcheck]") {
  struct C {
    int64_t k, s, p, h, w;
  };
  const C cases[] = {{2, 2, 0, 4, 6}, {3, 1, 1, 4, 5}, {3, 2, 1, 5, 5}, {2, 1, 0, 3, 3}, {2, 3, 1, 5, 4}};
  for (const C& c : cases) {
    INFO("k=" << c.k << " s=" << c.s << " p=" << c.p << " input " << c.h << "x" << c.w);
    Rng rng(31);
    Pool pool(Pool::Mode::Max, c.k, c.s, c.p);
    REQUIRE_GRADCHECK(gradcheck(pool, distinct_tensor(Shape{2, 3, c.h, c.w}, rng)));
  }
}

TEST_CASE("AvgPool2d count_include_pad", "[pooling][avgpool]") {
  Rng rng;
  Tensor<double> ones(Shape{1, 1, 3, 3}, 1.0);
  SECTION("true (PyTorch default): padding counts in the divisor") {
    Pool pool(Pool::Mode::Avg, 3, 1, 1, true);
    CHECK(pool.kind() == "AvgPool2d");
    check_values(pool.forward(ones, true, rng), {4.0 / 9, 6.0 / 9, 4.0 / 9,  //
                                                 6.0 / 9, 1.0, 6.0 / 9,      //
                                                 4.0 / 9, 6.0 / 9, 4.0 / 9});
    Tensor<double> g(Shape{1, 1, 3, 3}, 9.0);
    // Every output spreads 9/9 = 1 over its real inputs; input (i, j) is in as many windows as
    // there are real neighbours (including itself).
    check_values(pool.backward(g), {4, 6, 4, 6, 9, 6, 4, 6, 4});
  }
  SECTION("false: only real elements count") {
    Pool pool(Pool::Mode::Avg, 3, 1, 1, false);
    check_values(pool.forward(ones, true, rng), {1, 1, 1, 1, 1, 1, 1, 1, 1});
    Tensor<double> g(Shape{1, 1, 3, 3}, 1.0);
    // corner windows have 4 real elements, edges 6, centre 9
    const double c = 1.0 / 4, e = 1.0 / 6, m = 1.0 / 9;
    // input (0,0) is in windows (0,0) c, (0,1) e, (1,0) e, (1,1) m; input (0,1) in 2 corner,
    // 3 edge and the centre window; the centre input in all nine.
    const double corner = c + 2 * e + m, edge = 2 * c + 3 * e + m, centre = 4 * c + 4 * e + m;
    check_values(pool.backward(g), {corner, edge, corner, edge, centre, edge, corner, edge, corner});
  }
  SECTION("stride 2 padding 1 on a non-uniform input") {
    Tensor<double> x = make_tensor(Shape{1, 1, 3, 4}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
    Pool incl(Pool::Mode::Avg, 2, 2, 1, true);
    // output 2x3; window (0,0) holds only x[0,0]=1, (0,1): 2+3, (0,2): 4, (1,0): 5+9, (1,1): 6+7+10+11, (1,2): 8+12
    check_values(incl.forward(x, true, rng), {1.0 / 4, 5.0 / 4, 4.0 / 4, 14.0 / 4, 34.0 / 4, 20.0 / 4});
    Pool excl(Pool::Mode::Avg, 2, 2, 1, false);
    check_values(excl.forward(x, true, rng), {1.0, 2.5, 4.0, 7.0, 8.5, 10.0});
  }
}

TEST_CASE("AvgPool2d floors the output size", "[pooling][avgpool]") {
  Rng rng;
  Pool pool(Pool::Mode::Avg, 2, 2, 0);
  Tensor<double> x = make_tensor(Shape{1, 1, 3, 3}, {1, 2, 100, 3, 4, 100, 100, 100, 100});
  const Tensor<double>& y = pool.forward(x, true, rng);
  REQUIRE(y.shape() == Shape{1, 1, 1, 1});
  check_values(y, {2.5});
}

TEST_CASE("Pool2d stride <= 0 defaults to the kernel size", "[pooling]") {
  Rng rng;
  Pool pool(Pool::Mode::Max, 2, 0, 0);
  Tensor<double> x(Shape{1, 1, 4, 6}, 1.0);
  CHECK(pool.forward(x, true, rng).shape() == Shape{1, 1, 2, 3});
}

TEST_CASE("AvgPool2d gradients match finite differences", "[pooling][avgpool][gradcheck]") {
  struct C {
    int64_t k, s, p;
    bool incl;
    int64_t h, w;
  };
  const C cases[] = {{2, 2, 0, true, 4, 6}, {3, 1, 1, true, 4, 5},  {3, 1, 1, false, 4, 5},
                     {3, 2, 1, true, 5, 6}, {3, 2, 1, false, 5, 6}, {2, 3, 1, false, 5, 4}};
  for (const C& c : cases) {
    INFO("k=" << c.k << " s=" << c.s << " p=" << c.p << " include_pad=" << c.incl);
    Rng rng(32);
    Pool pool(Pool::Mode::Avg, c.k, c.s, c.p, c.incl);
    REQUIRE_GRADCHECK(gradcheck(pool, random_tensor(Shape{2, 2, c.h, c.w}, rng)));
  }
}

TEST_CASE("GlobalAvgPool2d averages each plane", "[pooling][gap]") {
  Rng rng(33);
  GlobalAvgPool2d<double> gap;
  Tensor<double> x = make_tensor(Shape{2, 2, 1, 3}, {1, 2, 3, -3, 0, 6, 10, 10, 10, 0, 0, 1.5});
  const Tensor<double>& y = gap.forward(x, true, rng);
  REQUIRE(y.shape() == Shape{2, 2});
  check_values(y, {2, 1, 10, 0.5});
  Tensor<double> g = make_tensor(Shape{2, 2}, {3, 6, 9, 12});
  check_values(gap.backward(g), {1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4});
  REQUIRE_GRADCHECK(gradcheck(gap, random_tensor(Shape{3, 4, 2, 5}, rng)));
}

TEST_CASE("Pooling rejects bad hyper-parameters and shapes", "[pooling][errors]") {
  Rng rng;
  CHECK_THROWS_AS(Pool(Pool::Mode::Max, 0, 1, 0), std::invalid_argument);
  CHECK_THROWS_AS(Pool(Pool::Mode::Avg, 3, 1, 2), std::invalid_argument);  // padding > kernel / 2
  CHECK_THROWS_AS(Pool(Pool::Mode::Max, 2, 2, -1), std::invalid_argument);
  CHECK_NOTHROW(Pool(Pool::Mode::Max, 2, 2, 1));  // padding == kernel / 2 is allowed

  Pool pool(Pool::Mode::Max, 3, 1, 0);
  Tensor<double> three_d(Shape{1, 4, 4}, 1.0);
  CHECK_THROWS_AS(pool.forward(three_d, true, rng), std::invalid_argument);
  Tensor<double> too_small(Shape{1, 1, 2, 4}, 1.0);
  CHECK_THROWS_AS(pool.forward(too_small, true, rng), std::invalid_argument);
  Tensor<double> empty(Shape{0, 1, 4, 4});
  CHECK_THROWS_AS(pool.forward(empty, true, rng), std::invalid_argument);

  Tensor<double> x(Shape{1, 1, 4, 4}, 1.0);
  pool.forward(x, true, rng);
  Tensor<double> bad_grad(Shape{1, 1, 4, 4}, 1.0);
  CHECK_THROWS_AS(pool.backward(bad_grad), std::invalid_argument);

  GlobalAvgPool2d<double> gap;
  Tensor<double> two_d(Shape{2, 3}, 1.0);
  CHECK_THROWS_AS(gap.forward(two_d, true, rng), std::invalid_argument);
  Tensor<double> no_positions(Shape{2, 3, 0, 4});
  CHECK_THROWS_AS(gap.forward(no_positions, true, rng), std::invalid_argument);
  gap.forward(x, true, rng);
  Tensor<double> bad_gap_grad(Shape{1, 2}, 1.0);
  CHECK_THROWS_AS(gap.backward(bad_gap_grad), std::invalid_argument);
}
