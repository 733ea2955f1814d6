// Gradient-sign adversarial attacks on a Sequential, batched, in C++ (Evanson et al. Eq. 2; Madry-style
// PGD as in the TRADES evaluation scripts the paper's code builds on).
//
//   FGSM (Eq. 2):  x_adv = clip(x + ε·sign(∇_x J(θ, x, y)), lo, hi)              (one step, no start noise)
//   PGD:           x_0 = clip(x + U(−ε, ε), lo, hi) (random start; or x itself), then `steps` times
//                  x_{k+1} = clip(x + clip(x_k + α·sign(∇_x J(θ, x_k, y)) − x, −ε, ε), lo, hi)
//
// J is the model's loss (cross-entropy on logits), the model runs in eval mode (training=false;
// layers that are random in inference, like the flexible layer's random thresholds, draw from the
// model's own engine). sign(0) = 0 as in torch.sign. Black-box attacks are the same iterations on a
// surrogate model, whose adversarial images are then given to the target.
#pragma once
#include "core/sequential.h"

namespace bionn {

struct AttackOptions {
  double eps = 8.0 / 255.0;
  double alpha = 2.0 / 255.0;
  int steps = 10;
  bool random_start = true;
  double clip_min = 0.0, clip_max = 1.0;
  int64_t batch_size = 1000;
  uint64_t seed = 0;  // random start noise
};

// Returns the adversarial images (x's shape). `start` (optional, x's shape) replaces the random
// start: x_0 = clip(x + clip(start, −ε, ε), lo, hi) — used to share the noise with another library.
// Parameter gradients of the model are left as they were.
template <typename T>
Tensor<T> pgd_attack(Sequential<T>& model, DataView<T> x, DataView<T> y, Loss<T>& loss, const AttackOptions& o,
                     const DataView<T>* start = nullptr);

// FGSM = one PGD step of size ε from x itself.
template <typename T>
Tensor<T> fgsm_attack(Sequential<T>& model, DataView<T> x, DataView<T> y, Loss<T>& loss, double eps,
                      double clip_min = 0.0, double clip_max = 1.0, int64_t batch_size = 1000);

}  // namespace bionn
