// Optimizers with PyTorch's update rules (so one step matches torch.optim to float precision),
// parameter groups with their own hyper-parameters, and epoch-wise learning-rate schedulers.
// State buffers are allocated once, at construction.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/parameter.h"

namespace bionn {

struct GroupOptions {
  double lr = 0.01;
  double weight_decay = 0.0;
  // Element-wise gradient clipping to [-clip_value, clip_value] before the update (Keras'
  // `clipvalue`, torch's clip_grad_value_); 0 switches it off. The focusing paper's code uses 1.0.
  double clip_value = 0.0;
  // SGD
  double momentum = 0.0;
  double dampening = 0.0;
  bool nesterov = false;
  // Adam
  double beta1 = 0.9, beta2 = 0.999;
  bool amsgrad = false;
  bool decoupled_weight_decay = false;  // AdamW
  // Adam variants (the defaults are PyTorch's). bias_correction = false drops the 1/(1 - beta^t)
  // factors; eps_inside_sqrt = true divides by sqrt(v + eps) instead of sqrt(v) + eps;
  // decay_after_step = true (decoupled decay only) applies p -= lr wd p after the Adam step instead
  // of p *= 1 - lr wd before it. All three together are the amplifying-neuron authors' Adam.
  bool bias_correction = true;
  bool eps_inside_sqrt = false;
  bool decay_after_step = false;
  // RMSprop (alpha) and Adam/RMSprop (eps)
  double alpha = 0.99;
  double eps = 1e-8;
  bool centered = false;
};

// The Adam update rule, shared by Adam below and every other Adam in bionn (the self-organizing
// network's AE units keep their parameters in their own buffers). Coefficients are computed once
// per step t (1-based: the updates this tensor has had, this one included) in double, then
// rounded to T, as torch does.
template <typename T>
struct AdamCoefficients {
  AdamCoefficients(double lr, double beta1, double beta2, double eps, int64_t t, double weight_decay = 0.0,
                   bool decoupled_weight_decay = false, bool bias_correction = true, bool eps_inside_sqrt = false,
                   bool decay_after_step = false);
  T step_size, bc2_sqrt, bc2, b1, b2, one_minus_b1, one_minus_b2, eps, lr, wd;
  bool decoupled, eps_inside, decay_after;
};

// torch.optim.Adam / AdamW on the entries [begin, end): m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps), with L2 (g += wd p) or decoupled
// (p *= 1 - lr wd) weight decay. Variants (GroupOptions): no bias correction (the 1 - beta^t
// factors are 1), eps inside the square root (p -= step * m / sqrt(v / (1 - b2^t) + eps)), and
// decoupled decay after the step (p -= lr wd p on the updated p). vmax (AMSGrad's running max of v) may be null.
// Moments that decay into the subnormal range are flushed to 0. Allocates nothing.
template <typename T>
void adam_update(T* p, T* m, T* v, T* vmax, const T* g, int64_t begin, int64_t end, const AdamCoefficients<T>& c);

template <typename T>
struct ParamGroup {
  std::vector<Parameter<T>*> params;
  GroupOptions options;
  double initial_lr = 0.0;  // set at construction; schedulers scale from it
};

template <typename T>
class Optimizer {
 public:
  explicit Optimizer(std::vector<ParamGroup<T>> groups);
  virtual ~Optimizer() = default;
  virtual std::string kind() const = 0;
  // Applies one update from the accumulated gradients, then each parameter's clamp bounds.
  void step();
  void zero_grad();
  // Throws std::invalid_argument if any group's options are out of range (step() checks too).
  void validate_options() const;
  std::vector<ParamGroup<T>>& groups() { return groups_; }
  int64_t steps_taken() const { return steps_; }
  // Per-parameter state tensors (momentum, moments), for saving and inspection.
  std::vector<Tensor<T>*> state_tensors();
  // Zeroes every state tensor (momentum, moments) and every parameter's step count, as if the
  // optimizer had just been built: the next update is a first step again (bias correction,
  // SGD's first-step momentum). Group options, including the current lr, are kept.
  void reset_state();

 protected:
  // t: how many updates this parameter has had, this one included (PyTorch counts per parameter,
  // so one unfrozen later starts its bias correction / momentum afresh).
  virtual void update(const GroupOptions& o, Parameter<T>& p, std::vector<Tensor<T>>& state, int64_t t) = 0;
  virtual int state_slots(const GroupOptions& o) const = 0;
  void allocate_state();
  std::vector<ParamGroup<T>> groups_;
  std::vector<std::vector<std::vector<Tensor<T>>>> state_;  // [group][param][slot]
  int64_t steps_ = 0;
  std::vector<std::vector<int64_t>> param_steps_;  // [group][param]
};

template <typename T>
class SGD : public Optimizer<T> {
 public:
  explicit SGD(std::vector<ParamGroup<T>> groups);
  std::string kind() const override { return "SGD"; }

 protected:
  void update(const GroupOptions& o, Parameter<T>& p, std::vector<Tensor<T>>& state, int64_t t) override;
  int state_slots(const GroupOptions& o) const override { return o.momentum != 0.0 ? 1 : 0; }
};

template <typename T>
class Adam : public Optimizer<T> {
 public:
  explicit Adam(std::vector<ParamGroup<T>> groups);
  std::string kind() const override { return "Adam"; }

 protected:
  void update(const GroupOptions& o, Parameter<T>& p, std::vector<Tensor<T>>& state, int64_t t) override;
  int state_slots(const GroupOptions& o) const override { return o.amsgrad ? 3 : 2; }
};

template <typename T>
class RMSprop : public Optimizer<T> {
 public:
  explicit RMSprop(std::vector<ParamGroup<T>> groups);
  std::string kind() const override { return "RMSprop"; }

 protected:
  void update(const GroupOptions& o, Parameter<T>& p, std::vector<Tensor<T>>& state, int64_t t) override;
  int state_slots(const GroupOptions& o) const override { return 3; }
};

// Schedulers are stepped once per epoch (fit does it), and set each group's lr from its initial lr.
template <typename T>
class LRScheduler {
 public:
  explicit LRScheduler(std::shared_ptr<Optimizer<T>> opt) : opt_(std::move(opt)) {}
  virtual ~LRScheduler() = default;
  void step() {
    ++epoch_;
    for (auto& g : opt_->groups()) g.options.lr = g.initial_lr * factor(epoch_);
  }
  int64_t epoch() const { return epoch_; }
  virtual double factor(int64_t epoch) const = 0;

 protected:
  std::shared_ptr<Optimizer<T>> opt_;
  int64_t epoch_ = 0;
};

template <typename T>
class StepLR : public LRScheduler<T> {
 public:
  StepLR(std::shared_ptr<Optimizer<T>> opt, int64_t step_size, double gamma);
  double factor(int64_t epoch) const override;

 private:
  int64_t step_size_;
  double gamma_;
};

template <typename T>
class ExponentialLR : public LRScheduler<T> {
 public:
  ExponentialLR(std::shared_ptr<Optimizer<T>> opt, double gamma);
  double factor(int64_t epoch) const override;

 private:
  double gamma_;
};

}  // namespace bionn
