// Losses, mean-reduced over the batch as in PyTorch. forward() returns the loss and caches what
// backward() needs; backward() returns dLoss/dPrediction in a buffer the loss owns.
#pragma once
#include <memory>
#include <string>

#include "core/tensor.h"

namespace bionn {

template <typename T>
class Loss {
 public:
  virtual ~Loss() = default;
  virtual std::string kind() const = 0;
  // target: class indices stored as T with shape (N,) for classification losses; otherwise the
  // prediction's shape.
  virtual double forward(const Tensor<T>& pred, const Tensor<T>& target) = 0;
  virtual const Tensor<T>& backward() = 0;
  virtual bool is_classification() const { return false; }
  // A copy with its own buffers, for concurrent calls sharing one loss (nullptr: not copyable).
  virtual std::unique_ptr<Loss<T>> clone() const { return nullptr; }

 protected:
  Tensor<T> grad_;
  void check_same_shape(const Tensor<T>& pred, const Tensor<T>& target) const;
};

// Fused log-softmax + negative log-likelihood on logits (N, C) and integer labels (N,).
template <typename T>
class CrossEntropyLoss : public Loss<T> {
 public:
  std::unique_ptr<Loss<T>> clone() const override { return std::make_unique<CrossEntropyLoss>(*this); }
  explicit CrossEntropyLoss(double label_smoothing = 0.0);
  std::string kind() const override { return "CrossEntropy"; }
  double forward(const Tensor<T>& pred, const Tensor<T>& target) override;
  const Tensor<T>& backward() override { return this->grad_; }
  bool is_classification() const override { return true; }

 private:
  double smoothing_;
};

template <typename T>
class MSELoss : public Loss<T> {
 public:
  std::unique_ptr<Loss<T>> clone() const override { return std::make_unique<MSELoss>(*this); }
  std::string kind() const override { return "MSE"; }
  double forward(const Tensor<T>& pred, const Tensor<T>& target) override;
  const Tensor<T>& backward() override { return this->grad_; }
};

template <typename T>
class L1Loss : public Loss<T> {
 public:
  std::unique_ptr<Loss<T>> clone() const override { return std::make_unique<L1Loss>(*this); }
  std::string kind() const override { return "L1"; }
  double forward(const Tensor<T>& pred, const Tensor<T>& target) override;
  const Tensor<T>& backward() override { return this->grad_; }
};

// rho(e) = |e| + 1 / (1 + |e|) - 1 per element, e = pred - target, mean-reduced: quadratic near 0
// (rho = e^2 - |e|^3 + ...) and linear for large errors (rho ~ |e| - 1), so outliers pull with a
// bounded gradient, rho'(e) = sign(e) (1 - 1 / (1 + |e|)^2) in (-1, 1). The amplifying-neuron
// authors' default cost ("linear-square", their i_cost = 2).
template <typename T>
class LinearSquareLoss : public Loss<T> {
 public:
  std::unique_ptr<Loss<T>> clone() const override { return std::make_unique<LinearSquareLoss>(*this); }
  std::string kind() const override { return "LinearSquare"; }
  double forward(const Tensor<T>& pred, const Tensor<T>& target) override;
  const Tensor<T>& backward() override { return this->grad_; }
};

// Sigmoid + binary cross-entropy on logits, stable for large |x|; targets in [0, 1].
template <typename T>
class BCEWithLogitsLoss : public Loss<T> {
 public:
  std::unique_ptr<Loss<T>> clone() const override { return std::make_unique<BCEWithLogitsLoss>(*this); }
  std::string kind() const override { return "BCEWithLogits"; }
  double forward(const Tensor<T>& pred, const Tensor<T>& target) override;
  const Tensor<T>& backward() override { return this->grad_; }
};

}  // namespace bionn
