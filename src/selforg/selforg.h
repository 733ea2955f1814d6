// Self-organizing network (issue 8; paper: "self-organizing network with entropy-driven
// meta-learning"). A feature map (the "2D cortical sheet", §2) holds the input image and the hidden
// activity of K autoencoder (AE) units at fixed locations. Each unit reads a receptive field r_k made
// of N x N windows on the map (Eq. 1, two windows by default), reconstructs it (MSE + dropout + L2,
// §2.1) and writes its hidden activity back onto the map (Algorithm 1). A meta-learner moves the
// windows to maximise each unit's histogram entropy (Eq. 2-3, Algorithm 2).
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"
#include "core/usage.h"

namespace bionn {
namespace selforg {

// Top-left corner (row, col) of an N x N receptive-field window or of a unit's hidden block.
using Cell = std::array<int64_t, 2>;
// Per unit, the corners of its windows: the meta-parameters phi = {r_k} (Eq. 1).
using Fields = std::vector<std::vector<Cell>>;

// Where things live on the h x w feature map. Fixed for the life of a network (§2: "allocation of
// both the input and the latent activity within the feature map is arbitrary and specified prior to
// training which remains fixed throughout").
struct MapLayout {
  int64_t height = 0, width = 0;
  int64_t image_row = 0, image_col = 0, image_height = 0, image_width = 0;
  int64_t window = 10;                            // N of the N x N windows
  int64_t hidden_height = 10, hidden_width = 10;  // n_hidden = hidden_height * hidden_width
  std::vector<Cell> unit_locations;               // corner of each unit's hidden block (K entries)

  int64_t n_units() const { return static_cast<int64_t>(unit_locations.size()); }
  int64_t n_hidden() const { return hidden_height * hidden_width; }
  int64_t map_size() const { return height * width; }
  int64_t image_size() const { return image_height * image_width; }
  // Throws std::invalid_argument naming the problem (blocks outside the map, overlapping units,
  // a window larger than the map, ...).
  void validate() const;
  // Throws unless `fields` has one non-empty list of windows per unit, each inside the map.
  void validate_fields(const Fields& fields) const;
  // Flattened map positions covered by a unit's windows (sorted, duplicates removed): where the
  // binary indicator delta_k of §2.1 is one.
  std::vector<int64_t> field_indices(const std::vector<Cell>& windows) const;
};

struct TrainOptions {
  double lr = 1e-3;  // Adam step size of the local (base) learning
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double l2 = 1e-4;      // L2 penalty (l2/2)*||theta o delta||^2 on the effective weights (§2.1)
  double dropout = 0.1;  // dropout on the hidden code during training (§2.1)
  int64_t batch_size = 64;
  int64_t bins = 100;  // histogram bins of the entropy estimate (§2.2: "a constant bin size of 100")
  bool shuffle = true;
  void validate() const;
};

// Shannon entropy (natural log) of the histogram of `values` over their full range [min, max] with
// `bins` equal bins (Eq. 2): H = -sum_i P_i log P_i. Bin edges follow numpy.histogram (the last bin is
// closed). Constant input has entropy 0.
double histogram_entropy(const double* values, int64_t n, int64_t bins);
template <typename T>
double histogram_entropy_of(const T* values, int64_t n, int64_t bins);

// One single-layer under-complete autoencoder over the whole map, masked by delta_k (§2.1):
//   h = relu(W_eff x + b),  x_hat = V_eff drop(h) + c,  loss = mean over the field (x_hat - x)^2
//       + (l2 / 2) (||W_eff||^2 + ||V_eff||^2),
// with W_eff = W o delta_k (columns) and V_eff = delta_k o V (rows). Only the field's weights take
// part and receive gradients; weights outside the field are kept unchanged ("retained", §2.2) and
// come back into use when the field moves over them again. Internally the field's columns are
// gathered into compact matrices so a step costs O(|field| * n_hidden), not O(map * n_hidden).
template <typename T>
class AEUnit {
 public:
  AEUnit(int64_t map_size, int64_t n_hidden);
  int64_t map_size() const { return map_size_; }
  int64_t n_hidden() const { return n_hidden_; }
  int64_t field_size() const { return static_cast<int64_t>(field_.size()); }
  const std::vector<int64_t>& field() const { return field_; }

  // Uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) over the whole map (so weights exist everywhere a
  // field may move), biases zero; fan_in is the field size, the unit's effective input count.
  void reset_parameters(Rng& rng, int64_t fan_in);
  // Moves the mask: the current field's weights (and Adam moments) go back into the full matrices,
  // then the new field's are gathered. `indices` must be sorted, unique and inside the map.
  void set_field(const std::vector<int64_t>& indices);

  // Forward pass on a batch of maps (batch x map_size, row-major). With `training`, dropout with
  // probability `dropout` (drawn from rng) is applied to the hidden code before decoding.
  void forward(const T* maps, int64_t batch, bool training, double dropout, Rng* rng);
  // Hidden activity of the last forward (batch x n_hidden, before dropout): what goes on the map.
  const T* hidden() const { return hidden_.data(); }
  // Backward pass of the last forward: writes the gradients of the loss above (compact) and returns
  // the loss (MSE term + L2 term).
  double backward(double l2);
  // Loss of the last forward without computing gradients (MSE + L2).
  double loss(double l2) const;
  void adam_step(const TrainOptions& o);

  // Full-map parameters and gradients (zero outside the field), for inspection, tests and saving.
  // Names: "encoder_weight" (n_hidden x map), "encoder_bias" (n_hidden), "decoder_weight"
  // (map x n_hidden), "decoder_bias" (map).
  std::vector<T> get(const std::string& name) const;
  void set(const std::string& name, const std::vector<T>& values);
  std::vector<T> grad(const std::string& name) const;
  std::vector<int64_t> shape(const std::string& name) const;
  int64_t adam_steps() const { return adam_t_; }

 private:
  void exchange(bool to_map);  // copies between the compact field matrices and the full map
  void scatter();              // compact -> full
  void gather();               // full -> compact
  void reserve_batch(int64_t batch);

  int64_t map_size_, n_hidden_;
  std::vector<int64_t> field_;
  // Full parameters (and Adam moments) over the whole map.
  AlignedVector<T> W_, b_, V_, c_;
  AlignedVector<T> mW_, vW_, mb_, vb_, mV_, vV_, mc_, vc_;
  // Compact copies on the field (authoritative for the field's entries while it is set).
  AlignedVector<T> We_, Vd_, cd_;  // n_hidden x n, n x n_hidden, n
  AlignedVector<T> mWe_, vWe_, mVd_, vVd_, mcd_, vcd_;
  AlignedVector<T> gWe_, gb_, gVd_, gcd_;  // gradients (compact)
  int64_t adam_t_ = 0;
  // Batch buffers (sized for the largest batch seen; never shrunk).
  int64_t batch_ = 0, last_batch_ = 0;
  AlignedVector<T> x_, z_, hidden_, code_, drop_, xhat_, dxhat_, dcode_;
};

// Per-epoch record of fit(): mean reconstruction loss and histogram entropy per unit.
struct EpochStats {
  std::vector<double> loss;
  std::vector<double> entropy;
};

// Called between batches; throws to stop. (Ctrl-C needs no hook: the loops poll poll_interrupt()
// between batches and between the settling passes, see core/interrupt.h.)
using BatchHook = std::function<void()>;

// The meta-network: feature map + K AE units (§2).
template <typename T>
class SelfOrgNetwork {
 public:
  SelfOrgNetwork(const MapLayout& layout, const Fields& fields, const TrainOptions& options, uint64_t seed);
  const MapLayout& layout() const { return layout_; }
  const Fields& fields() const { return fields_; }
  const TrainOptions& options() const { return options_; }
  int64_t n_units() const { return layout_.n_units(); }
  int64_t n_hidden() const { return layout_.n_hidden(); }
  AEUnit<T>& unit(int64_t k);
  Rng& rng() { return rng_; }
  int64_t epochs_trained() const { return epochs_trained_; }

  void set_fields(const Fields& fields);
  void reset_parameters();
  // Takes over another network's state (an accepted meta-learning candidate) while keeping this
  // network's AE units at their addresses, so references handed out by unit() stay valid.
  void adopt(SelfOrgNetwork&& other);

  // Threads: transform, entropies and feature_maps may be called from several threads (they run one
  // at a time); the training methods (fit, train_epoch, set_fields, reset_parameters, adopt, a
  // meta-learning step) need the network to themselves and otherwise raise std::runtime_error
  // naming the call in use (core/usage.h). Interrupted (Ctrl-C), fit stops between batches, inside a
  // batch's settling passes (nothing learned from that batch yet) or between two units' updates (the
  // units before it have learned from the batch, each update whole, Adam steps counted); the
  // interrupted epoch is not counted in epochs_trained.
  UsageGuard& usage() { return usage_; }

  // One epoch of Algorithm 1 over `images` (n x image_size, row-major), mini-batched: per batch the
  // map is initialised with the image and zeros, K x K settling passes run without gradients, then
  // each unit in turn does a forward pass, a backward pass + Adam step, and writes its hidden
  // activity onto the map. Returns the mean loss per unit.
  std::vector<double> train_epoch(const T* images, int64_t n, const BatchHook& hook = BatchHook());
  // Algorithm 1 without learning: settle, then one more forward pass per unit. out: n x K x n_hidden.
  void transform(const T* images, int64_t n, T* out, int64_t batch_size = 256);
  // Histogram entropy of each unit's hidden activity on `images` (Eq. 2-3).
  std::vector<double> entropies(const T* images, int64_t n);
  // `epochs` epochs of train_epoch; after each, the entropy on `entropy_images`.
  std::vector<EpochStats> fit(const T* images, int64_t n, int64_t epochs, const T* entropy_images, int64_t n_entropy,
                              const BatchHook& hook = BatchHook());
  // The map after settling on one batch (for inspection/tests): batch x height x width.
  void feature_maps(const T* images, int64_t n, T* out);

 private:
  std::vector<double> train_epoch_impl(const T* images, int64_t n, const BatchHook& hook);
  void transform_impl(const T* images, int64_t n, T* out, int64_t batch_size);
  std::vector<double> entropies_impl(const T* images, int64_t n);
  void load_images(const T* images, const int64_t* order, int64_t start, int64_t batch);
  void write_hidden(int64_t k, int64_t batch);
  void settle(int64_t batch);

  MapLayout layout_;
  Fields fields_;
  TrainOptions options_;
  Rng rng_;
  std::vector<AEUnit<T>> units_;
  std::vector<int64_t> hidden_positions_;  // per unit, flattened map position of each hidden unit (K x n_hidden)
  AlignedVector<T> maps_;                  // batch x map_size
  std::vector<int64_t> order_;
  int64_t epochs_trained_ = 0;
  UsageGuard usage_;
};

// A uniformly random topology: every window's corner uniform over the positions that keep it inside
// the map (seeded; used by random search and by bionn.selforg.Topology.random).
Fields random_fields(const MapLayout& layout, int64_t windows_per_unit, Rng& rng);
// All fields reachable from `fields` by moving one window of unit k by +-1 row or column inside the
// map (§2.2: "[-1, 1] for a horizontal or vertical shift"), in a fixed order.
std::vector<Fields> neighbours(const MapLayout& layout, const Fields& fields, int64_t k);

// The meta-learning rules of §2.2. Each meta-step trains the candidate network for
// `epochs_per_step` epochs from the current weights (the meta-learner updates slower than base
// learning) and keeps the candidate only if the acceptance entropy rises strictly:
//  - "hill_climbing" (Algorithm 2): for units i = 1..K in order, one random neighbour of r_i; accept
//    and stop at the first whose H(x_i) exceeds the current H(x_i).
//  - "local_search": for units i = 1..K in order, every neighbour of r_i; accept the best one if its
//    H(x_i) exceeds the current H(x_i), then stop.
//  - "random_search": one fresh random topology; accept if the summed entropy over units rises.
// A rejected candidate's training is discarded (weights and fields return to the incumbent's).
struct MetaStepResult {
  bool accepted = false;
  int64_t unit = -1;                      // unit whose field changed (-1: random search or nothing accepted)
  int64_t candidates = 0;                 // candidate networks trained
  std::vector<double> entropy;            // incumbent's per-unit entropies after the step
  std::vector<double> candidate_entropy;  // entropies of the last candidate evaluated
};

struct MetaOptions {
  std::string method = "hill_climbing";
  int64_t epochs_per_step = 1;
  void validate() const;
};

// True when a candidate's entropy replaces the incumbent's: strictly higher (Algorithm 2, line 9).
inline bool accept_candidate(double candidate_entropy, double incumbent_entropy) {
  return candidate_entropy > incumbent_entropy;
}

template <typename T>
class MetaLearner {
 public:
  MetaLearner(const MetaOptions& options, uint64_t seed);
  const MetaOptions& options() const { return options_; }
  Rng& rng() { return rng_; }
  // One meta-step on `net`, whose current per-unit entropies are `incumbent` (from its last fit).
  MetaStepResult step(SelfOrgNetwork<T>& net, const std::vector<double>& incumbent, const T* images, int64_t n,
                      const T* entropy_images, int64_t n_entropy, const BatchHook& hook = BatchHook());

 private:
  MetaOptions options_;
  Rng rng_;
};

}  // namespace selforg
}  // namespace bionn
