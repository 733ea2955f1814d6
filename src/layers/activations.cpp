#include "layers/activations.h"

#include <string>

namespace bionn {

template <typename T>
LayerPtr<T> make_leaky_relu(double slope) {
  if (!std::isfinite(static_cast<T>(slope)))
    throw std::invalid_argument("LeakyReLU: negative_slope must be finite in the layer's dtype");
  LeakyReluOp<T> op;
  op.slope = static_cast<T>(slope);
  return std::make_shared<LeakyReLU<T>>(op);
}

template <typename T>
LayerPtr<T> make_elu(double alpha) {
  if (!std::isfinite(static_cast<T>(alpha)) || alpha < 0)
    throw std::invalid_argument("ELU: alpha must be >= 0 and finite in the layer's dtype");
  EluOp<T> op;
  op.alpha = static_cast<T>(alpha);
  return std::make_shared<ELU<T>>(op);
}

template <typename T>
LayerPtr<T> make_softplus(double beta, double threshold) {
  if (!(static_cast<T>(beta) > 0) || !std::isfinite(static_cast<T>(beta)))
    throw std::invalid_argument("Softplus: beta must be positive and finite in the layer's dtype");
  if (!(threshold > 0) || !std::isfinite(static_cast<T>(threshold)))
    throw std::invalid_argument("Softplus: threshold must be positive");
  SoftplusOp<T> op;
  op.beta = static_cast<T>(beta);
  op.threshold = static_cast<T>(threshold);
  return std::make_shared<Softplus<T>>(op);
}

template LayerPtr<float> make_leaky_relu<float>(double);
template LayerPtr<double> make_leaky_relu<double>(double);
template LayerPtr<float> make_elu<float>(double);
template LayerPtr<double> make_elu<double>(double);
template LayerPtr<float> make_softplus<float>(double, double);
template LayerPtr<double> make_softplus<double>(double, double);

}  // namespace bionn
