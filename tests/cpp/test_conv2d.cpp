// Conv2d: forward against a direct (naive) cross-correlation, gradients by finite differences
// over several stride/padding/shape combinations, batch independence, errors.
#include <catch2/catch.hpp>

#include "gradcheck.h"
#include "layers/conv2d.h"

using namespace bionn;
using namespace bionn_test;

namespace {

struct ConvCase {
  int64_t cin, cout, kh, kw, stride, pad, n, h, w;
  bool bias;
};

std::string describe(const ConvCase& c) {
  return "cin=" + std::to_string(c.cin) + " cout=" + std::to_string(c.cout) + " k=" + std::to_string(c.kh) + "x" +
         std::to_string(c.kw) + " stride=" + std::to_string(c.stride) + " pad=" + std::to_string(c.pad) +
         " input=" + std::to_string(c.n) + "x" + std::to_string(c.cin) + "x" + std::to_string(c.h) + "x" +
         std::to_string(c.w) + (c.bias ? " bias" : " no-bias");
}

// Direct definition of PyTorch's Conv2d (cross-correlation with zero padding).
Tensor<double> naive_conv(const Tensor<double>& x, const Tensor<double>& wt, const Tensor<double>* b, int64_t stride,
                          int64_t pad) {
  const int64_t n = x.dim(0), cin = x.dim(1), h = x.dim(2), w = x.dim(3);
  const int64_t cout = wt.dim(0), kh = wt.dim(2), kw = wt.dim(3);
  const int64_t ho = (h + 2 * pad - kh) / stride + 1, wo = (w + 2 * pad - kw) / stride + 1;
  Tensor<double> y(Shape{n, cout, ho, wo}, 0.0);
  for (int64_t s = 0; s < n; ++s)
    for (int64_t o = 0; o < cout; ++o)
      for (int64_t oy = 0; oy < ho; ++oy)
        for (int64_t ox = 0; ox < wo; ++ox) {
          double acc = b ? (*b)[o] : 0.0;
          for (int64_t c = 0; c < cin; ++c)
            for (int64_t i = 0; i < kh; ++i)
              for (int64_t j = 0; j < kw; ++j) {
                const int64_t iy = oy * stride - pad + i, ix = ox * stride - pad + j;
                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                acc += x[((s * cin + c) * h + iy) * w + ix] * wt[((o * cin + c) * kh + i) * kw + j];
              }
          y[((s * cout + o) * ho + oy) * wo + ox] = acc;
        }
  return y;
}

const ConvCase kCases[] = {
    {2, 3, 3, 3, 1, 0, 2, 5, 5, true},   // plain 3x3, valid
    {2, 3, 3, 3, 1, 1, 2, 5, 5, true},   // 'same' padding
    {2, 3, 3, 3, 2, 1, 3, 7, 6, true},   // stride 2 padding 1, non-square input
    {1, 2, 2, 3, 1, 1, 1, 4, 6, true},   // batch size 1, non-square kernel
    {3, 2, 1, 1, 1, 0, 2, 3, 4, false},  // 1x1, no bias
    {2, 2, 3, 3, 3, 2, 2, 5, 7, true},   // stride 3 padding 2 (windows mostly in the padding)
    {2, 4, 3, 2, 2, 0, 2, 6, 5, false},  // stride 2 without padding, odd sizes (floor division)
};

}  // namespace

TEST_CASE("Conv2d forward matches a direct cross-correlation", "[conv2d]") {
  for (const ConvCase& c : kCases) {
    INFO(describe(c));
    Rng rng(21);
    Conv2d<double> conv(c.cin, c.cout, c.kh, c.kw, c.stride, c.pad, c.bias, "torch", rng);
    Tensor<double> x = random_tensor(Shape{c.n, c.cin, c.h, c.w}, rng);
    const Tensor<double>& y = conv.forward(x, true, rng);
    auto params = conv.parameters();
    REQUIRE(params.size() == (c.bias ? 2u : 1u));
    const Tensor<double> ref = naive_conv(x, params[0]->value, c.bias ? &params[1]->value : nullptr, c.stride, c.pad);
    REQUIRE(y.shape() == ref.shape());
    CHECK(y.dim(2) == (c.h + 2 * c.pad - c.kh) / c.stride + 1);
    CHECK(y.dim(3) == (c.w + 2 * c.pad - c.kw) / c.stride + 1);
    for (int64_t i = 0; i < y.size(); ++i) REQUIRE(y[i] == Approx(ref[i]).margin(1e-12));
  }
}

TEST_CASE("Conv2d gradients match finite differences", "[conv2d][gradcheck]") {
  for (const ConvCase& c : kCases) {
    INFO(describe(c));
    Rng rng(22);
    Conv2d<double> conv(c.cin, c.cout, c.kh, c.kw, c.stride, c.pad, c.bias, "torch", rng);
    REQUIRE_GRADCHECK(gradcheck(conv, random_tensor(Shape{c.n, c.cin, c.h, c.w}, rng)));
  }
}

TEST_CASE("Conv2d treats batch samples independently", "[conv2d]") {
  // A larger batch exercises the per-thread im2col buffers and the gradient reduction.
  Rng rng(23);
  Conv2d<double> conv(2, 3, 3, 3, 2, 1, true, "torch", rng);
  const int64_t n = 9;
  Tensor<double> x = random_tensor(Shape{n, 2, 6, 5}, rng);
  Tensor<double> g = random_tensor(Shape{n, 3, 3, 3}, rng);
  for (auto* p : conv.parameters()) p->grad.zero();
  const std::vector<double> y_batch = to_vector(conv.forward(x, true, rng));
  const std::vector<double> dx_batch = to_vector(conv.backward(g, true));
  const std::vector<double> dw_batch = to_vector(conv.parameters()[0]->grad);

  for (auto* p : conv.parameters()) p->grad.zero();
  const int64_t in_per = 2 * 6 * 5, out_per = 3 * 3 * 3;
  for (int64_t s = 0; s < n; ++s) {
    Tensor<double> xs(Shape{1, 2, 6, 5}), gs(Shape{1, 3, 3, 3});
    for (int64_t i = 0; i < in_per; ++i) xs[i] = x[s * in_per + i];
    for (int64_t i = 0; i < out_per; ++i) gs[i] = g[s * out_per + i];
    const Tensor<double>& ys = conv.forward(xs, true, rng);
    for (int64_t i = 0; i < out_per; ++i)
      REQUIRE(ys[i] == Approx(y_batch[static_cast<size_t>(s * out_per + i)]).margin(1e-12));
    const Tensor<double>& dxs = conv.backward(gs, true);
    for (int64_t i = 0; i < in_per; ++i)
      REQUIRE(dxs[i] == Approx(dx_batch[static_cast<size_t>(s * in_per + i)]).margin(1e-12));
  }
  // Summed one sample at a time, the weight gradient equals the batched one.
  const auto dw_single = to_vector(conv.parameters()[0]->grad);
  for (size_t i = 0; i < dw_single.size(); ++i) CHECK(dw_single[i] == Approx(dw_batch[i]).margin(1e-12));
}

TEST_CASE("Conv2d's per-image and chunked batched paths agree with the direct definition", "[conv2d]") {
  // P = ho*wo >= kBatchedBelow (16) runs one product per image; smaller maps run one product per chunk
  // of images (several chunks when K*P is large). Forward against naive_conv, backward against the same
  // layer run one sample at a time (a chunk of one image).
  struct Big {
    int64_t cin, cout, k, pad, n, hw;
  };
  const Big cases[] = {
      {1, 2, 3, 1, 3, 16},    // 16x16 output: the per-image path
      {64, 3, 3, 0, 120, 5},  // 3x3 output, K = 576: chunks of 50 images (3 chunks)
      {50, 8, 4, 0, 10, 4},   // 1x1 output (LeNet's third layer): one chunk
  };
  for (const Big& c : cases) {
    INFO("cin=" << c.cin << " k=" << c.k << " n=" << c.n << " hw=" << c.hw);
    Rng rng(25);
    Conv2d<double> conv(c.cin, c.cout, c.k, c.k, 1, c.pad, true, "torch", rng);
    const int64_t ho = c.hw + 2 * c.pad - c.k + 1;
    Tensor<double> x = random_tensor(Shape{c.n, c.cin, c.hw, c.hw}, rng);
    Tensor<double> g = random_tensor(Shape{c.n, c.cout, ho, ho}, rng);
    for (auto* p : conv.parameters()) p->grad.zero();
    const std::vector<double> y = to_vector(conv.forward(x, true, rng));
    const Tensor<double> ref = naive_conv(x, conv.parameters()[0]->value, &conv.parameters()[1]->value, 1, c.pad);
    REQUIRE(y.size() == static_cast<size_t>(ref.size()));
    for (int64_t i = 0; i < ref.size(); ++i) REQUIRE(y[static_cast<size_t>(i)] == Approx(ref[i]).margin(1e-10));
    const std::vector<double> dx = to_vector(conv.backward(g, true));
    const std::vector<double> dw = to_vector(conv.parameters()[0]->grad);
    const std::vector<double> db = to_vector(conv.parameters()[1]->grad);
    for (auto* p : conv.parameters()) p->grad.zero();
    const int64_t in_per = c.cin * c.hw * c.hw, out_per = c.cout * ho * ho;
    for (int64_t s = 0; s < c.n; ++s) {
      Tensor<double> xs(Shape{1, c.cin, c.hw, c.hw}), gs(Shape{1, c.cout, ho, ho});
      for (int64_t i = 0; i < in_per; ++i) xs[i] = x[s * in_per + i];
      for (int64_t i = 0; i < out_per; ++i) gs[i] = g[s * out_per + i];
      conv.forward(xs, true, rng);
      const Tensor<double>& dxs = conv.backward(gs, true);
      for (int64_t i = 0; i < in_per; ++i)
        REQUIRE(dxs[i] == Approx(dx[static_cast<size_t>(s * in_per + i)]).margin(1e-10));
    }
    const auto dw1 = to_vector(conv.parameters()[0]->grad);
    const auto db1 = to_vector(conv.parameters()[1]->grad);
    for (size_t i = 0; i < dw1.size(); ++i) REQUIRE(dw1[i] == Approx(dw[i]).margin(1e-9));
    for (size_t i = 0; i < db1.size(); ++i) REQUIRE(db1[i] == Approx(db[i]).margin(1e-9));
  }
}

TEST_CASE("Conv2d float forward/backward is deterministic", "[conv2d]") {
  Rng rng(24);
  Conv2d<float> conv(3, 4, 3, 3, 1, 1, true, "torch", rng);
  Tensor<float> x = random_tensor<float>(Shape{8, 3, 8, 8}, rng);
  Tensor<float> g = random_tensor<float>(Shape{8, 4, 8, 8}, rng);
  auto run = [&]() {
    for (auto* p : conv.parameters()) p->grad.zero();
    std::vector<float> all = to_vector(conv.forward(x, true, rng));
    const auto dx = to_vector(conv.backward(g, true));
    all.insert(all.end(), dx.begin(), dx.end());
    for (auto* p : conv.parameters()) {
      const auto v = to_vector(p->grad);
      all.insert(all.end(), v.begin(), v.end());
    }
    return all;
  };
  const auto a = run();
  const auto b = run();
  CHECK(a == b);
}

TEST_CASE("Conv2d need_input_grad=false still accumulates parameter gradients", "[conv2d]") {
  Rng rng(25);
  Conv2d<double> conv(1, 2, 2, 2, 1, 0, true, "torch", rng);
  Tensor<double> x = random_tensor(Shape{2, 1, 3, 3}, rng);
  Tensor<double> g = random_tensor(Shape{2, 2, 2, 2}, rng);
  conv.forward(x, true, rng);
  conv.backward(g, true);
  const auto once = to_vector(conv.parameters()[1]->grad);
  conv.forward(x, true, rng);
  conv.backward(g, false);
  const auto twice = to_vector(conv.parameters()[1]->grad);
  for (size_t i = 0; i < once.size(); ++i) CHECK(twice[i] == Approx(2 * once[i]));
  // The bias gradient is the per-channel sum of grad_out.
  for (int64_t o = 0; o < 2; ++o) {
    double s = 0;
    for (int64_t n = 0; n < 2; ++n)
      for (int64_t k = 0; k < 4; ++k) s += g[(n * 2 + o) * 4 + k];
    CHECK(once[static_cast<size_t>(o)] == Approx(s));
  }
}

TEST_CASE("Conv2d rejects bad hyper-parameters and shapes", "[conv2d][errors]") {
  Rng rng(26);
  CHECK_THROWS_AS(Conv2d<double>(0, 2, 3, 3, 1, 0, true, "torch", rng), std::invalid_argument);
  CHECK_THROWS_AS(Conv2d<double>(2, 0, 3, 3, 1, 0, true, "torch", rng), std::invalid_argument);
  CHECK_THROWS_AS(Conv2d<double>(2, 2, 0, 3, 1, 0, true, "torch", rng), std::invalid_argument);
  CHECK_THROWS_AS(Conv2d<double>(2, 2, 3, -1, 1, 0, true, "torch", rng), std::invalid_argument);
  CHECK_THROWS_AS(Conv2d<double>(2, 2, 3, 3, 0, 0, true, "torch", rng), std::invalid_argument);
  CHECK_THROWS_AS(Conv2d<double>(2, 2, 3, 3, 1, -1, true, "torch", rng), std::invalid_argument);
  CHECK_THROWS_AS(Conv2d<double>(2, 2, 3, 3, 1, 0, true, "bogus", rng), std::invalid_argument);

  Conv2d<double> conv(2, 3, 3, 3, 1, 0, true, "torch", rng);
  Tensor<double> wrong_channels(Shape{1, 3, 5, 5}, 1.0);
  CHECK_THROWS_AS(conv.forward(wrong_channels, true, rng), std::invalid_argument);
  Tensor<double> three_d(Shape{2, 5, 5}, 1.0);
  CHECK_THROWS_AS(conv.forward(three_d, true, rng), std::invalid_argument);
  Tensor<double> too_small(Shape{1, 2, 2, 5}, 1.0);
  CHECK_THROWS_AS(conv.forward(too_small, true, rng), std::invalid_argument);
  Tensor<double> empty(Shape{0, 2, 5, 5});
  CHECK_THROWS_AS(conv.forward(empty, true, rng), std::invalid_argument);

  // Padding can make a small input valid.
  Conv2d<double> padded(2, 3, 3, 3, 1, 1, true, "torch", rng);
  Tensor<double> small(Shape{1, 2, 1, 1}, 1.0);
  const Tensor<double>& y = padded.forward(small, true, rng);
  CHECK(y.shape() == Shape{1, 3, 1, 1});

  Tensor<double> x(Shape{2, 2, 5, 5}, 1.0);
  conv.forward(x, true, rng);
  Tensor<double> bad_grad(Shape{2, 3, 5, 5}, 1.0);
  CHECK_THROWS_AS(conv.backward(bad_grad), std::invalid_argument);
}
