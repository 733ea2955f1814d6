// Sequential model: a chain of layers, one random engine, and the training loop in C++.
// fit() gathers shuffled mini-batches into buffers it reuses, so steady-state training
// allocates nothing; hooks let the caller watch progress, stop early, or interrupt.
//
// Threads: predict, evaluate, input_gradient (eval mode) and the attacks may be called from several
// threads at once. Each call leases a replica of the layer chain (Layer::clone, refreshed from this
// model with copy_from at every lease), so it owns its activations while the weights it copies are
// only read; results are bit-identical to serial calls. A layer drawing random numbers at inference
// uses a copy of the model's engine, written back when the call ends: serial calls see one stream as
// before; concurrent calls start from the same state. Writers (fit, train_step, forward/backward,
// input_gradient in training mode, reset_parameters, reseed) run on the layers themselves and need
// the model to themselves (UsageGuard: a clear std::runtime_error otherwise, nothing changed).
//
// Ctrl-C: loops poll poll_interrupt() between layers, batches and chunks. An interrupted fit or
// train_step leaves the weights, optimizer state and buffers (BatchNorm running statistics) of the
// last completed step, with zeroed gradients; the engine has advanced.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/layer.h"
#include "core/losses.h"
#include "core/optim.h"
#include "core/usage.h"

namespace bionn {

// A read-only view of caller-owned, contiguous data (e.g. a NumPy array), first axis = samples.
template <typename T>
struct DataView {
  const T* data = nullptr;
  Shape shape;
  int64_t samples() const { return shape.ndim ? shape[0] : 0; }
};

struct FitOptions {
  int epochs = 1;
  int64_t batch_size = 32;
  bool shuffle = true;
  // An epoch draws its n samples uniformly at random with replacement (rather than one pass over
  // a permutation): the per-step sampling of classic online SGD. Overrides shuffle.
  bool replacement = false;
  bool drop_last = false;
  int64_t eval_batch_size = 1024;
};

using EpochRecord = std::map<std::string, double>;

struct FitHooks {
  // Called after every batch (epoch, batch index, batches per epoch, batch loss). May throw to stop
  // (the Python binding raises KeyboardInterrupt from here when Ctrl-C is pressed).
  std::function<void(int, int64_t, int64_t, double)> on_batch;
  // Called after every epoch with its record; returning true stops training.
  std::function<bool(const EpochRecord&)> on_epoch;
};

template <typename T>
class Sequential {
 public:
  explicit Sequential(std::vector<LayerPtr<T>> layers, uint64_t seed);

  const std::vector<LayerPtr<T>>& layers() const { return layers_; }
  Rng& rng() { return rng_; }
  void reseed(uint64_t seed) {
    auto use = usage_.write("reseed");
    rng_.seed_with(seed);
  }
  // The model's usage guard: callers that write the weights outside these methods (loading a state
  // from Python) hold usage().write(...) meanwhile.
  UsageGuard& usage() { return usage_; }
  // Re-draws every layer's parameters from the model's engine (fresh seed -> fresh init).
  void reset_parameters();
  std::vector<Parameter<T>*> parameters();

  const Tensor<T>& forward(const Tensor<T>& x, bool training);
  // Forward on an input the model keeps (for callers whose input would not outlive backward).
  const Tensor<T>& forward_owned(Tensor<T>&& x, bool training) {
    owned_input_ = std::move(x);
    return forward(owned_input_, training);
  }
  // Back-propagates grad_out through the last forward; returns dLoss/dInput.
  const Tensor<T>& backward(const Tensor<T>& grad_out, bool need_input_grad = true);

  std::vector<EpochRecord> fit(DataView<T> x, DataView<T> y, Loss<T>& loss, Optimizer<T>& opt,
                               const FitOptions& options, const DataView<T>* val_x = nullptr,
                               const DataView<T>* val_y = nullptr, LRScheduler<T>* scheduler = nullptr,
                               const FitHooks& hooks = FitHooks());
  // Mean loss (and accuracy for classification losses) in eval mode.
  EpochRecord evaluate(DataView<T> x, DataView<T> y, Loss<T>& loss, int64_t batch_size);
  Tensor<T> predict(DataView<T> x, int64_t batch_size);
  // dLoss/dInput for a batch (mean-reduced loss), in eval mode unless training is true.
  Tensor<T> input_gradient(DataView<T> x, DataView<T> y, Loss<T>& loss, bool training = false);
  // One training step on a batch; returns the loss.
  double train_step(const Tensor<T>& x, const Tensor<T>& y, Loss<T>& loss, Optimizer<T>& opt);

  // Runs f(model, loss) for an inference call named `op`: `model` is a replica this thread has to
  // itself (or this model, used alone, when a layer cannot be copied) and `loss` a copy of `loss`
  // with its own buffers (the shared one if it has no clone()). Public for the attacks.
  template <class F>
  auto infer(const char* op, Loss<T>* loss, F&& f) {
    std::unique_ptr<Loss<T>> own = loss ? loss->clone() : nullptr;
    Loss<T>* use_loss = own ? own.get() : loss;
    if (!copyable_) {
      auto use = usage_.write(op);
      return f(*this, use_loss);
    }
    auto use = usage_.read(op);
    struct Holder {
      Sequential* owner;
      std::unique_ptr<Sequential> replica;
      ~Holder() { owner->release_replica(std::move(replica)); }
    } held{this, acquire_replica()};
    return f(*held.replica, use_loss);
  }

 private:
  Sequential(std::vector<LayerPtr<T>> layers, const Rng& rng, bool copyable);
  std::unique_ptr<Sequential> acquire_replica();
  void release_replica(std::unique_ptr<Sequential> replica);

  const Tensor<T>& forward_layers(const Tensor<T>& x, bool training);
  const Tensor<T>& backward_layers(const Tensor<T>& grad_out, bool need_input_grad);
  double step(const Tensor<T>& x, const Tensor<T>& y, Loss<T>& loss, Optimizer<T>& opt, int64_t* correct);
  EpochRecord evaluate_impl(DataView<T> x, DataView<T> y, Loss<T>& loss, int64_t batch_size);
  Tensor<T> predict_impl(DataView<T> x, int64_t batch_size);
  Tensor<T> input_gradient_impl(DataView<T> x, DataView<T> y, Loss<T>& loss, bool training);
  void gather(DataView<T> src, const int64_t* idx, int64_t count, Tensor<T>& dst) const;
  void check_pair(DataView<T> x, DataView<T> y, const char* what) const;

  std::vector<LayerPtr<T>> layers_;
  Rng rng_;
  Tensor<T> batch_x_, batch_y_, owned_input_;
  std::vector<int64_t> order_;
  // Snapshot of the layers' buffers taken before each training step and restored when the step is
  // interrupted (sized once: a step allocates nothing).
  std::vector<Tensor<T>*> buffers_;
  std::vector<Tensor<T>> buffer_backup_;
  UsageGuard usage_;
  bool copyable_ = true;                           // every layer has clone()
  std::mutex pool_mutex_;                          // guards pool_ and the engine hand-over
  std::vector<std::unique_ptr<Sequential>> pool_;  // idle replicas
};

}  // namespace bionn
