#include "core/losses.h"

#include <cmath>
#include <stdexcept>

namespace bionn {

template <typename T>
void Loss<T>::check_same_shape(const Tensor<T>& pred, const Tensor<T>& target) const {
  if (pred.size() == 0) throw std::invalid_argument(kind() + ": prediction is empty");
  if (pred.shape() != target.shape())
    throw std::invalid_argument(kind() + ": target has shape " + target.shape().str() +
                                ", expected the prediction's shape " + pred.shape().str());
}

template <typename T>
CrossEntropyLoss<T>::CrossEntropyLoss(double label_smoothing) : smoothing_(label_smoothing) {
  if (!(label_smoothing >= 0.0 && label_smoothing < 1.0))
    throw std::invalid_argument("CrossEntropy: label_smoothing must be in [0, 1)");
}

template <typename T>
double CrossEntropyLoss<T>::forward(const Tensor<T>& pred, const Tensor<T>& target) {
  if (pred.ndim() != 2 || pred.batch() == 0)
    throw std::invalid_argument("CrossEntropy: logits must be (batch, classes), got " + pred.shape().str());
  const int64_t n = pred.dim(0), c = pred.dim(1);
  if (target.ndim() != 1 || target.dim(0) != n)
    throw std::invalid_argument("CrossEntropy: target must be integer labels of shape (" + std::to_string(n) +
                                ",), got " + target.shape().str());
  this->grad_.resize(pred.shape());
  const T* z = pred.data();
  const T* y = target.data();
  T* g = this->grad_.data();
  const double inv_n = 1.0 / static_cast<double>(n);
  const double eps = smoothing_;
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double label_f = static_cast<double>(y[i]);
    // Range-check before converting: casting NaN, inf or a huge value to int64_t is undefined.
    if (!(label_f >= 0 && label_f < static_cast<double>(c)) || std::floor(label_f) != label_f)
      throw std::invalid_argument("CrossEntropy: label " + std::to_string(label_f) + " at index " + std::to_string(i) +
                                  " is not an integer in [0, " + std::to_string(c) + ")");
    const int64_t label = static_cast<int64_t>(label_f);
    const T* row = z + i * c;
    T* grow = g + i * c;
    // Subtracting the row max keeps exp() from overflowing: log-sum-exp is shift invariant.
    T mx = row[0];
    for (int64_t k = 1; k < c; ++k) mx = row[k] > mx ? row[k] : mx;
    double sum = 0.0;
    for (int64_t k = 0; k < c; ++k) sum += std::exp(static_cast<double>(row[k] - mx));
    const double log_sum = std::log(sum) + static_cast<double>(mx);
    double row_loss = (1.0 - eps) * (log_sum - row[label]);
    if (eps > 0) {
      double mean_logp = 0.0;
      for (int64_t k = 0; k < c; ++k) mean_logp += static_cast<double>(row[k]) - log_sum;
      row_loss -= eps * mean_logp / static_cast<double>(c);
    }
    total += row_loss;
    for (int64_t k = 0; k < c; ++k) {
      const double p = std::exp(static_cast<double>(row[k]) - log_sum);
      const double t = (k == label ? 1.0 - eps : 0.0) + eps / static_cast<double>(c);
      grow[k] = static_cast<T>((p - t) * inv_n);
    }
  }
  return total * inv_n;
}

template <typename T>
double MSELoss<T>::forward(const Tensor<T>& pred, const Tensor<T>& target) {
  this->check_same_shape(pred, target);
  this->grad_.resize(pred.shape());
  const int64_t n = pred.size();
  const double scale = 2.0 / static_cast<double>(n);
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(pred[i]) - static_cast<double>(target[i]);
    total += d * d;
    this->grad_[i] = static_cast<T>(scale * d);
  }
  return total / static_cast<double>(n);
}

template <typename T>
double L1Loss<T>::forward(const Tensor<T>& pred, const Tensor<T>& target) {
  this->check_same_shape(pred, target);
  this->grad_.resize(pred.shape());
  const int64_t n = pred.size();
  const double inv = 1.0 / static_cast<double>(n);
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(pred[i]) - static_cast<double>(target[i]);
    total += std::abs(d);
    this->grad_[i] = static_cast<T>(d > 0 ? inv : (d < 0 ? -inv : 0.0));  // sign(0) = 0, as PyTorch
  }
  return total * inv;
}

template <typename T>
double LinearSquareLoss<T>::forward(const Tensor<T>& pred, const Tensor<T>& target) {
  this->check_same_shape(pred, target);
  this->grad_.resize(pred.shape());
  const int64_t n = pred.size();
  const double inv = 1.0 / static_cast<double>(n);
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(pred[i]) - static_cast<double>(target[i]);
    // Cancellation-free forms: |e| + 1/(1+|e|) - 1 = e^2 / (1+|e|), 1 - 1/(1+|e|)^2 = |e| (2+|e|) / (1+|e|)^2.
    const double a = std::abs(d), s = 1.0 / (1.0 + a);
    total += a * a * s;
    const double g = a * (2.0 + a) * s * s * inv;
    this->grad_[i] = static_cast<T>(d > 0 ? g : -g);  // g = 0 at d = 0
  }
  return total * inv;
}

template <typename T>
double BCEWithLogitsLoss<T>::forward(const Tensor<T>& pred, const Tensor<T>& target) {
  this->check_same_shape(pred, target);
  this->grad_.resize(pred.shape());
  const int64_t n = pred.size();
  const double inv = 1.0 / static_cast<double>(n);
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double x = pred[i], y = target[i];
    if (!(y >= 0.0 && y <= 1.0))
      throw std::invalid_argument("BCEWithLogits: targets must lie in [0, 1], got " + std::to_string(y));
    // max(x, 0) - x y + log(1 + exp(-|x|)): the stable form of -[y log s(x) + (1-y) log(1-s(x))].
    total += std::max(x, 0.0) - x * y + std::log1p(std::exp(-std::abs(x)));
    const double s = x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x));
    this->grad_[i] = static_cast<T>((s - y) * inv);
  }
  return total * inv;
}

template class Loss<float>;
template class Loss<double>;
template class CrossEntropyLoss<float>;
template class CrossEntropyLoss<double>;
template class MSELoss<float>;
template class MSELoss<double>;
template class L1Loss<float>;
template class L1Loss<double>;
template class LinearSquareLoss<float>;
template class LinearSquareLoss<double>;
template class BCEWithLogitsLoss<float>;
template class BCEWithLogitsLoss<double>;

}  // namespace bionn
