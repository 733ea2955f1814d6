// Self-organizing network: masked AE gradients (finite differences, with dropout and L2), retained
// weights outside the receptive field, feature-map write-back, histogram entropy, the meta-learning
// acceptance rule and its determinism, and argument validation.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "allocation.h"
#include "core/rng.h"
#include "selforg/selforg.h"

using namespace bionn;
using namespace bionn::selforg;

namespace {

// A 6 x 8 map: a 4 x 4 image at the top-left, two 2 x 2 hidden blocks on the right, 2 x 2 windows.
MapLayout small_layout() {
  MapLayout L;
  L.height = 6;
  L.width = 8;
  L.image_row = 0;
  L.image_col = 0;
  L.image_height = 4;
  L.image_width = 4;
  L.window = 2;
  L.hidden_height = 2;
  L.hidden_width = 2;
  L.unit_locations = {{0, 4}, {0, 6}};
  return L;
}

Fields small_fields() { return {{{0, 0}, {2, 2}}, {{1, 1}, {0, 4}}}; }

std::vector<double> random_vec(int64_t n, Rng& rng, double lo = 0.0, double hi = 1.0) {
  std::vector<double> v(static_cast<size_t>(n));
  for (auto& x : v) x = rng.uniform(lo, hi);
  return v;
}

double unit_loss(AEUnit<double>& u, const std::vector<double>& maps, int64_t batch, double dropout, double l2,
                 uint64_t seed) {
  Rng rng(seed);
  u.forward(maps.data(), batch, dropout > 0, dropout, &rng);
  return u.loss(l2);
}

}  // namespace

TEST_CASE("masked AE unit gradients match finite differences", "[selforg][gradcheck]") {
  const double dropout = GENERATE(0.0, 0.3);
  const double l2 = GENERATE(0.0, 0.05);
  CAPTURE(dropout, l2);
  const MapLayout L = small_layout();
  Rng rng(3);
  AEUnit<double> u(L.map_size(), 4);
  u.set_field(L.field_indices({{0, 0}, {3, 5}}));
  u.reset_parameters(rng, u.field_size());
  const int64_t batch = 5;
  const auto maps = random_vec(batch * L.map_size(), rng);
  const uint64_t seed = 99;
  unit_loss(u, maps, batch, dropout, l2, seed);
  u.backward(l2);
  const double h = 1e-6;
  const std::vector<std::string> names = {"encoder_weight", "encoder_bias", "decoder_weight", "decoder_bias"};
  std::vector<std::vector<double>> grads;
  for (const auto& name : names) grads.push_back(u.grad(name));  // before set() moves the buffers
  for (size_t q = 0; q < names.size(); ++q) {
    const std::string& name = names[q];
    CAPTURE(name);
    const auto& analytic = grads[q];
    auto p = u.get(name);
    for (size_t i = 0; i < p.size(); ++i) {
      const double orig = p[i];
      p[i] = orig + h;
      u.set(name, p);
      const double fp = unit_loss(u, maps, batch, dropout, l2, seed);
      p[i] = orig - h;
      u.set(name, p);
      const double fm = unit_loss(u, maps, batch, dropout, l2, seed);
      p[i] = orig;
      u.set(name, p);
      const double numeric = (fp - fm) / (2 * h);
      CAPTURE(i);
      REQUIRE(analytic[i] == Approx(numeric).margin(1e-8).epsilon(1e-5));
    }
  }
}

TEST_CASE("weights outside the receptive field get zero gradient and are retained", "[selforg]") {
  const MapLayout L = small_layout();
  Rng rng(4);
  AEUnit<double> u(L.map_size(), 4);
  const auto field_a = L.field_indices({{0, 0}, {2, 2}});
  u.set_field(field_a);
  u.reset_parameters(rng, u.field_size());
  const auto W0 = u.get("encoder_weight");
  const auto maps = random_vec(8 * L.map_size(), rng);
  TrainOptions o;
  o.lr = 0.01;
  for (int s = 0; s < 5; ++s) {
    u.forward(maps.data(), 8, true, 0.2, &rng);
    u.backward(1e-3);
    u.adam_step(o);
  }
  const auto g = u.grad("encoder_weight");
  const auto W1 = u.get("encoder_weight");
  std::vector<bool> in_field(static_cast<size_t>(L.map_size()), false);
  for (auto p : field_a) in_field[static_cast<size_t>(p)] = true;
  bool moved_inside = false;
  for (int64_t h = 0; h < 4; ++h)
    for (int64_t p = 0; p < L.map_size(); ++p) {
      const size_t i = static_cast<size_t>(h * L.map_size() + p);
      if (!in_field[static_cast<size_t>(p)]) {
        REQUIRE(g[i] == 0.0);
        REQUIRE(W1[i] == W0[i]);  // theta outside delta_k stays exactly as it was
      } else if (W1[i] != W0[i]) {
        moved_inside = true;
      }
    }
  REQUIRE(moved_inside);
  // Moving the field away and back brings the trained weights back unchanged (§2.2).
  u.set_field(L.field_indices({{4, 6}}));
  u.set_field(field_a);
  REQUIRE(u.get("encoder_weight") == W1);
}

TEST_CASE("the feature map holds the image and each unit's hidden activity", "[selforg]") {
  const MapLayout L = small_layout();
  TrainOptions o;
  o.batch_size = 4;
  SelfOrgNetwork<double> net(L, small_fields(), o, 7);
  Rng rng(5);
  const int64_t n = 3;
  const auto images = random_vec(n * L.image_size(), rng);
  std::vector<double> maps(static_cast<size_t>(n * L.map_size())), codes(static_cast<size_t>(n * 2 * 4));
  net.feature_maps(images.data(), n, maps.data());
  net.transform(images.data(), n, codes.data());
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t r = 0; r < 4; ++r)
      for (int64_t c = 0; c < 4; ++c)
        REQUIRE(maps[static_cast<size_t>(i * L.map_size() + r * L.width + c)] ==
                images[static_cast<size_t>(i * 16 + r * 4 + c)]);
    for (int64_t k = 0; k < 2; ++k)
      for (int64_t j = 0; j < 4; ++j) {
        const Cell at = L.unit_locations[static_cast<size_t>(k)];
        const int64_t pos = (at[0] + j / 2) * L.width + at[1] + j % 2;
        REQUIRE(maps[static_cast<size_t>(i * L.map_size() + pos)] == codes[static_cast<size_t>((i * 2 + k) * 4 + j)]);
      }
    // Cells that are neither image nor hidden stay zero ("non-activation").
    REQUIRE(maps[static_cast<size_t>(i * L.map_size() + 5 * L.width + 7)] == 0.0);
  }
  // Unit 1 reads unit 0's hidden block: its code depends on unit 0 through the settled map.
  net.unit(0).set("encoder_bias", std::vector<double>(4, 5.0));
  std::vector<double> codes2(codes.size());
  net.transform(images.data(), n, codes2.data());
  bool changed = false;
  for (int64_t j = 0; j < 4; ++j) changed |= codes2[static_cast<size_t>(4 + j)] != codes[static_cast<size_t>(4 + j)];
  REQUIRE(changed);
}

TEST_CASE("training lowers the reconstruction loss and is reproducible", "[selforg]") {
  const MapLayout L = small_layout();
  TrainOptions o;
  o.batch_size = 8;
  o.lr = 0.01;
  Rng rng(6);
  const int64_t n = 40;
  const auto images = random_vec(n * L.image_size(), rng);
  SelfOrgNetwork<double> a(L, small_fields(), o, 11), b(L, small_fields(), o, 11);
  const auto ha = a.fit(images.data(), n, 15, images.data(), n);
  const auto hb = b.fit(images.data(), n, 15, images.data(), n);
  REQUIRE(ha.back().loss[0] < ha.front().loss[0]);
  REQUIRE(ha.back().loss == hb.back().loss);
  REQUIRE(ha.back().entropy == hb.back().entropy);
}

TEST_CASE("histogram entropy of known distributions", "[selforg][entropy]") {
  std::vector<double> uniform(1000);
  for (size_t i = 0; i < uniform.size(); ++i) uniform[i] = static_cast<double>(i % 100);
  REQUIRE(histogram_entropy(uniform.data(), 1000, 100) == Approx(std::log(100.0)));
  std::vector<double> two = {0, 0, 1, 1, 0, 1};
  REQUIRE(histogram_entropy(two.data(), 6, 100) == Approx(std::log(2.0)));
  std::vector<double> constant(10, 3.0);
  REQUIRE(histogram_entropy(constant.data(), 10, 100) == 0.0);
  std::vector<double> skew = {0, 0, 0, 1};
  REQUIRE(histogram_entropy(skew.data(), 4, 10) == Approx(-(0.75 * std::log(0.75) + 0.25 * std::log(0.25))));
  std::vector<double> bad = {0, NAN};
  REQUIRE_THROWS_AS(histogram_entropy(bad.data(), 2, 10), std::invalid_argument);
}

TEST_CASE("meta-learning accepts only a strictly higher entropy and is seeded", "[selforg][meta]") {
  REQUIRE(accept_candidate(1.5, 1.0));
  REQUIRE_FALSE(accept_candidate(1.0, 1.0));
  REQUIRE_FALSE(accept_candidate(0.9, 1.0));
  const MapLayout L = small_layout();
  TrainOptions o;
  o.batch_size = 8;
  o.lr = 0.01;
  Rng rng(8);
  const int64_t n = 32;
  const auto images = random_vec(n * L.image_size(), rng);
  for (const std::string method : {"hill_climbing", "local_search", "random_search"}) {
    CAPTURE(method);
    MetaOptions mo;
    mo.method = method;
    auto run = [&](uint64_t seed) {
      SelfOrgNetwork<double> net(L, small_fields(), o, 1);
      auto h = net.fit(images.data(), n, 2, images.data(), n).back().entropy;
      MetaLearner<double> meta(mo, seed);
      const AEUnit<double>* unit0 = &net.unit(0);
      std::vector<Fields> trace;
      for (int s = 0; s < 4; ++s) {
        const auto before = h;
        const auto r = meta.step(net, h, images.data(), n, images.data(), n);
        if (r.accepted) {
          if (method == "random_search")
            REQUIRE(r.entropy[0] + r.entropy[1] > before[0] + before[1]);
          else
            REQUIRE(r.entropy[static_cast<size_t>(r.unit)] > before[static_cast<size_t>(r.unit)]);
        } else {
          REQUIRE(r.entropy == before);  // a rejected candidate leaves the incumbent untouched
        }
        REQUIRE(r.candidates >= 1);
        h = r.entropy;
        REQUIRE(&net.unit(0) == unit0);  // accepted candidates are adopted in place
        trace.push_back(net.fields());
      }
      return trace;
    };
    REQUIRE(run(21) == run(21));
  }
}

TEST_CASE("neighbours move one window by one cell inside the map", "[selforg][meta]") {
  const MapLayout L = small_layout();
  const Fields f = {{{0, 0}, {4, 6}}, {{1, 1}, {0, 4}}};
  const auto nb = neighbours(L, f, 0);
  REQUIRE(nb.size() == 4u);  // (0,0) can go down/right; (4,6) (bottom-right corner) up/left
  for (const auto& g : nb) {
    REQUIRE(g[1] == f[1]);
    int64_t moved = 0;
    for (size_t j = 0; j < 2; ++j) moved += std::abs(g[0][j][0] - f[0][j][0]) + std::abs(g[0][j][1] - f[0][j][1]);
    REQUIRE(moved == 1);
  }
  Rng rng(1);
  const Fields r = random_fields(L, 2, rng);
  REQUIRE_NOTHROW(L.validate_fields(r));
}

TEST_CASE("bad layouts and fields are rejected", "[selforg][validation]") {
  MapLayout L = small_layout();
  L.unit_locations = {{0, 4}, {1, 5}};
  REQUIRE_THROWS_WITH(L.validate(), Catch::Contains("overlapping"));
  L = small_layout();
  L.unit_locations = {{0, 7}, {0, 4}};
  REQUIRE_THROWS_WITH(L.validate(), Catch::Contains("outside"));
  L = small_layout();
  L.window = 7;
  REQUIRE_THROWS_WITH(L.validate(), Catch::Contains("larger than"));
  L = small_layout();
  L.unit_locations = {{2, 2}, {0, 6}};
  REQUIRE_THROWS_WITH(L.validate(), Catch::Contains("image"));
  L = small_layout();
  REQUIRE_THROWS_WITH(L.validate_fields({{{0, 7}}, {{0, 0}}}), Catch::Contains("outside"));
  REQUIRE_THROWS_WITH(L.validate_fields({{{0, 0}}}), Catch::Contains("2 units"));
  TrainOptions o;
  o.dropout = 1.0;
  REQUIRE_THROWS_AS(SelfOrgNetwork<double>(small_layout(), small_fields(), o, 1), std::invalid_argument);
  MetaOptions mo;
  mo.method = "annealing";
  REQUIRE_THROWS_AS(MetaLearner<double>(mo, 1), std::invalid_argument);
}

#ifdef BIONN_TEST_COUNTS_MALLOC
TEST_CASE("self-organizing network batches allocate nothing in steady state", "[allocation][selforg]") {
  // One epoch allocates O(1) bookkeeping (its loss vector); the count must not grow with batches.
  selforg::MapLayout L;
  L.height = 20;
  L.width = 40;
  L.image_height = L.image_width = 20;
  L.unit_locations = {{0, 20}, {0, 30}, {10, 20}};
  const selforg::Fields fields = {{{0, 0}, {0, 10}}, {{10, 0}, {10, 10}}, {{0, 20}, {0, 30}}};
  selforg::TrainOptions o;
  o.batch_size = 16;
  selforg::SelfOrgNetwork<float> net(L, fields, o, 1);
  std::vector<float> images(64 * 400, 0.5f);
  net.train_epoch(images.data(), 64);  // warm-up sizes every buffer
  auto count = [&](int64_t n) {
    bionn_test::start_counting_mallocs();
    net.train_epoch(images.data(), n);
    return bionn_test::stop_counting_mallocs();
  };
  const long one_batch = count(16), four_batches = count(64);
  CHECK(four_batches == one_batch);
}
#endif
