// Layer interface. A layer owns its output and input-gradient buffers and remembers its forward
// input, so backward(grad_out) can run right after forward(x) with nothing allocated per step.
// Parameter gradients accumulate (+=), as in PyTorch; optimizers zero them.
//
// Because a layer keeps its activations, one layer object runs one pass at a time. Concurrent
// inference on a model (Sequential) runs on replicas: copies of the layers made with clone() and
// refreshed from the original with copy_from() (weights, buffers and configuration; the copied
// activations are overwritten by the replica's own forward). Every layer declares both with
// BIONN_LAYER_COPYABLE(ClassName); a layer without them is run one call at a time.
#pragma once
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/parameter.h"
#include "core/rng.h"
#include "core/tensor.h"

namespace bionn {

template <typename T>
class Layer {
 public:
  virtual ~Layer() = default;

  virtual std::string kind() const = 0;
  // x: (N, ...). Returns this layer's output buffer (or x itself for an identity in eval mode).
  virtual const Tensor<T>& forward(const Tensor<T>& x, bool training, Rng& rng) = 0;
  // grad_out has the shape of the last forward's output. Accumulates parameter gradients and
  // returns dLoss/dInput (left untouched when need_input_grad is false, e.g. for a first layer).
  virtual const Tensor<T>& backward(const Tensor<T>& grad_out, bool need_input_grad = true) = 0;

  virtual std::vector<Parameter<T>*> parameters() { return {}; }
  // Non-trainable state saved with the model (BatchNorm running statistics).
  virtual std::vector<std::pair<std::string, Tensor<T>*>> buffers() { return {}; }
  virtual void reset_parameters(Rng& rng) {}

  // An independent copy (nullptr: this layer cannot be copied), and assignment from a layer of the
  // same class. See BIONN_LAYER_COPYABLE.
  virtual std::shared_ptr<Layer<T>> clone() const { return nullptr; }
  virtual void copy_from(const Layer<T>& other) {
    throw std::logic_error(kind() + ": copy_from is not supported by this layer");
  }

  // Convenience for standalone use (Python layer calls): keeps its own copy of the input alive.
  const Tensor<T>& forward_owned(Tensor<T>&& x, bool training, Rng& rng) {
    owned_input_ = std::move(x);
    return forward(owned_input_, training, rng);
  }

 protected:
  // The forward input, kept for backward. Points to the previous layer's output buffer.
  const Tensor<T>* input_ = nullptr;
  Tensor<T> output_;
  Tensor<T> grad_input_;

  void require_forward(const Tensor<T>& grad_out, const Tensor<T>& out) const {
    if (input_ == nullptr) throw std::logic_error(kind() + ".backward: call forward first");
    if (grad_out.shape() != out.shape())
      throw std::invalid_argument(kind() + ".backward: grad_output has shape " + grad_out.shape().str() +
                                  ", expected the forward output's shape " + out.shape().str());
  }
  void require_ndim(const Tensor<T>& x, int ndim, const char* layout) const {
    if (x.ndim() != ndim)
      throw std::invalid_argument(kind() + ": input must have " + std::to_string(ndim) + " dimensions " + layout +
                                  ", got shape " + x.shape().str());
    if (x.batch() == 0) throw std::invalid_argument(kind() + ": input batch is empty");
  }

 private:
  Tensor<T> owned_input_;
};

// clone() and copy_from() through the class's copy constructor and copy assignment.
#define BIONN_LAYER_COPYABLE(Class)                                                           \
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<Class>(*this); } \
  void copy_from(const Layer<T>& other) override { *this = dynamic_cast<const Class&>(other); }

template <typename T>
using LayerPtr = std::shared_ptr<Layer<T>>;

}  // namespace bionn
