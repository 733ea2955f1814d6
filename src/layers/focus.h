// Focusing neuron layers: a dense layer whose effective weight is K = Phi ∘ W (Algorithm 1), with
// Phi a per-neuron Gaussian focus over the input positions (Eq. 6) whose centre mu and aperture
// sigma are trained by backpropagation (Eq. 8-9), chained through the normaliser (Eq. 7, or the
// plain-sum division of Algorithm 2).
//
// Storage follows Dense: W, Phi and K are (out, in) row-major (the paper's Phi is their transpose).
// Input positions are linearly spaced in [0, 1] inclusive: tau(i) = i / (m - 1) (0 when m == 1).
//
// FocusDense2D: the inputs are an H x W grid, row-major (index p = r * W + c), at positions
// (x, y) = (c / (W - 1), r / (H - 1)); input (N, H*W) or (N, 1, H, W). Each neuron has a centre
// (mu_x, mu_y) and an isotropic aperture sigma or, with `anisotropic`, (sigma_x, sigma_y):
//   phi = s exp(-(x - mu_x)^2 / (2 sigma_x^2) - (y - mu_y)^2 / (2 sigma_y^2)).
//
// Speed: coefficients below eps^1.5 of a neuron's peak are exactly 0, which gives every neuron a
// window of inputs (grid rows in 2D) where its focus lives. Neurons are sorted by window into
// blocks whose products run over the union of their windows only (or, when those cover most of K,
// over everything); dW = (G^T X) ∘ Phi and the mu/sigma sums are one fused pass over each window,
// on a block of G^T X that is still in cache.
#pragma once
#include <string>
#include <vector>

#include "core/init.h"
#include "core/layer.h"

namespace bionn {

enum class FocusNorm { L2, Sum, None };
FocusNorm parse_focus_norm(const std::string& name);
std::string focus_norm_name(FocusNorm norm);

struct FocusOptions {
  bool bias = true;
  // "focus": Eq. 10, W_j ~ U(+-sqrt(6) / ||phi_j||_2), zero bias; "focus_glorot": the authors' code,
  // W_ji ~ U(+-sqrt(6 / (sum_i phi_ji^2 + sum_j phi_ji^2))), zero bias; or any name parse_init accepts.
  std::string init = "focus";
  // "l2" (Eq. 7: ||phi_j||_2 = sqrt(m)), "sum" (Algorithm 2: phi_j = sqrt(m) e_j / sum(e_j)), "none".
  std::string normalization = "l2";
  // "spread" (evenly over [spread_lo, spread_hi]; a grid in 2D), "center" (0.5 + U(-0.025, 0.025)),
  // "values" (mu_values: n entries in 1D, n (x, y) pairs in 2D).
  std::string mu_init = "spread";
  std::vector<double> mu_values;
  double spread_lo = 0.2, spread_hi = 0.8;
  double sigma_init = 0.025;  // the paper's Focus-s MLP value
  bool trainable_focus = true;
  double mu_min = 0.0, mu_max = 1.0;  // Algorithm 3's clip bounds, applied after each step
  double sigma_min = 0.01, sigma_max = 1.0;
  double sigma_l1 = 0.0, sigma_l2 = 0.0;  // penalty l1 * sum|sigma| + l2 * sum sigma^2, added in backward
  double prune_threshold = 0.0;           // effective weights with phi < threshold are zero
  bool anisotropic = false;               // 2D only: (sigma_x, sigma_y) instead of one sigma
};

template <typename T>
class FocusBase : public Layer<T> {
 public:
  const Tensor<T>& forward(const Tensor<T>& x, bool training, Rng& rng) override;
  const Tensor<T>& backward(const Tensor<T>& grad_out, bool need_input_grad = true) override;
  std::vector<Parameter<T>*> parameters() override;
  void reset_parameters(Rng& rng) override;

  // Phi (out, in) for the current mu, sigma (unpruned).
  const Tensor<T>& focus();
  // K = Phi ∘ W (out, in), out-of-focus entries (phi < prune threshold) zeroed.
  const Tensor<T>& effective_weight();
  // Sets the prune threshold (0 disables) and returns the fraction of effective weights pruned.
  double prune(double threshold);
  double prune_threshold() const { return prune_; }
  // l1 * sum|sigma| + l2 * sum sigma^2 (its gradient is added to sigma.grad by backward).
  double sigma_penalty() const;

  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }
  Parameter<T>& weight() { return weight_; }
  Parameter<T>& mu(int d = 0) { return mus_.at(static_cast<size_t>(d)); }
  Parameter<T>& sigma(int d = 0) { return sigmas_.at(static_cast<size_t>(d)); }

 protected:
  FocusBase(const std::string& name, int64_t height, int64_t width, int64_t out_features, int dims,
            const FocusOptions& opt, Rng& rng);
  void check_input(const Tensor<T>& x) const;

  std::string name_;
  int64_t in_, out_, height_, width_;
  int dims_;
  bool aniso_;
  FocusOptions opt_;
  FocusNorm norm_;
  bool focus_init_;    // "focus" or "focus_glorot": the weights depend on the focus
  bool focus_glorot_;  // "focus_glorot": the authors' code's element-wise Glorot
  Init init_;
  double prune_ = 0.0;
  Parameter<T> weight_, bias_;
  std::vector<Parameter<T>> mus_, sigmas_;
  std::vector<T> pos_[2];  // input positions per axis
  // Training keeps Phi's and K's rows in block order: row r holds neuron order_[r], the neurons
  // sorted by where their windows start. Blocks of about kBlock consecutive rows share one product
  // over the union of their windows [blk_lo_, blk_hi_) when those cover less than kWindowedBelow of
  // K; otherwise each thread multiplies its share in full.
  static constexpr int64_t kBlock = 200;
  static constexpr double kWindowedBelow = 0.8;
  // Wide windows: the rows of one G^T X product in backward (its scratch stays in L2).
  static constexpr int64_t kBackwardRows = 256;

  Tensor<T> phi_, k_;          // (out, in), block order; k_valid_ once K is computed
  Tensor<T> phi_out_, k_out_;  // focus() and effective_weight(): neuron order, on demand
  Tensor<T> yp_, gp_;          // Y's and G's columns in block order
  bool k_valid_ = false;
  bool windowed_ = false;        // the last forward's choice of products, which backward follows
  std::vector<int64_t> order_;   // block-order row -> neuron
  bool identity_order_ = true;   // order_[r] == r: Y and G are used in place of Yp and Gp
  std::vector<int64_t> bounds_;  // block b is rows [bounds_[b], bounds_[b + 1])
  // Per neuron, the index window [lo, hi) outside which its focus is exactly 0 (below eps^1.5 of
  // its peak); per block, the union of its neurons' windows.
  std::vector<int64_t> win_lo_, win_hi_, blk_lo_, blk_hi_;
  // Per row of phi_ and k_, the window both were last written for (0 outside it).
  std::vector<int64_t> row_lo_, row_hi_;
  std::vector<Tensor<T>> scratch_;  // per thread: some rows of G^T X

 private:
  void window(int64_t j, int64_t& lo, int64_t& hi) const;  // neuron j's window from mu, sigma
  void plan_blocks();                                      // sorts order_, cuts the blocks, chooses windowed_
  void block_window(int64_t b);                            // blk_lo_[b], blk_hi_[b] from the current windows
  double window_fraction() const;                          // share of K the block windows cover
  void position_rows(int64_t r0, int64_t count);           // Phi's and K's rows [r0, r0 + count), windows
  void compute_rows();                                     // all of them, in the current order
  // phi_j (Eq. 6 with its normaliser) over its window into dst[lo, hi); dst is indexed like a row
  // of Phi and left untouched outside the window.
  void focus_row(int64_t j, T* dst, int64_t& lo, int64_t& hi) const;
  // f(block, thread) over all blocks, in parallel when `work` (multiply-adds) is large enough.
  template <class F>
  void for_blocks(int64_t work, F&& f);
};

// 1-D focusing layer over in_features inputs at tau(i) = i / (m - 1).
template <typename T>
class FocusDense : public FocusBase<T> {
 public:
  BIONN_LAYER_COPYABLE(FocusDense)
  FocusDense(int64_t in_features, int64_t out_features, const FocusOptions& opt = {}, Rng& rng = global_rng())
      : FocusBase<T>("FocusDense", 1, in_features, out_features, 1, opt, rng) {}
  std::string kind() const override { return "FocusDense"; }
};

// 2-D focusing layer over an H x W grid of inputs.
template <typename T>
class FocusDense2D : public FocusBase<T> {
 public:
  BIONN_LAYER_COPYABLE(FocusDense2D)
  FocusDense2D(int64_t height, int64_t width, int64_t out_features, const FocusOptions& opt = {},
               Rng& rng = global_rng())
      : FocusBase<T>("FocusDense2D", height, width, out_features, 2, opt, rng) {}
  std::string kind() const override { return "FocusDense2D"; }
  int64_t height() const { return this->height_; }
  int64_t width() const { return this->width_; }
};

}  // namespace bionn
