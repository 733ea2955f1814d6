#include "layers/dense.h"

#include "core/eigen.h"
#include "core/gemm.h"
#include "core/limits.h"

namespace bionn {

template <typename T>
Dense<T>::Dense(int64_t in_features, int64_t out_features, bool bias, const std::string& init, Rng& rng)
    : in_((checked_elements("Dense", {{"in_features", in_features}, {"out_features", out_features}}, sizeof(T), 2),
           in_features)),
      out_(out_features),
      has_bias_(bias),
      init_(parse_init(init)),
      weight_("weight", "weight", Shape{out_features > 0 ? out_features : 0, in_features > 0 ? in_features : 0}),
      bias_("bias", "bias", Shape{bias && out_features > 0 ? out_features : 0}) {
  if (in_features <= 0)
    throw std::invalid_argument("Dense: in_features must be positive, got " + std::to_string(in_features));
  if (out_features <= 0)
    throw std::invalid_argument("Dense: out_features must be positive, got " + std::to_string(out_features));
  limit_gemm_blocking();
  reset_parameters(rng);
}

template <typename T>
void Dense<T>::reset_parameters(Rng& rng) {
  init_weight(weight_.value, in_, out_, init_, rng);
  if (has_bias_) init_bias(bias_.value, in_, init_, rng);
}

template <typename T>
std::vector<Parameter<T>*> Dense<T>::parameters() {
  if (has_bias_) return {&weight_, &bias_};
  return {&weight_};
}

template <typename T>
const Tensor<T>& Dense<T>::forward(const Tensor<T>& x, bool, Rng&) {
  this->require_ndim(x, 2, "(batch, features)");
  if (x.dim(1) != in_)
    throw std::invalid_argument("Dense: input has " + std::to_string(x.dim(1)) + " features, expected " +
                                std::to_string(in_));
  const int64_t n = x.batch();
  this->input_ = &x;
  this->output_.resize(Shape{n, out_});
  CMapR<T> X(x.data(), n, in_);
  CMapR<T> W(weight_.value.data(), out_, in_);
  MapR<T> Y(this->output_.data(), n, out_);
  gemm(Y, X, W.transpose(), false);
  if (has_bias_) Y.rowwise() += CRowVecMap<T>(bias_.value.data(), out_);
  return this->output_;
}

template <typename T>
const Tensor<T>& Dense<T>::backward(const Tensor<T>& grad_out, bool need_input_grad) {
  this->require_forward(grad_out, this->output_);
  const Tensor<T>& x = *this->input_;
  const int64_t n = x.batch();
  CMapR<T> G(grad_out.data(), n, out_);
  CMapR<T> X(x.data(), n, in_);
  MapR<T> dW(weight_.grad.data(), out_, in_);
  gemm(dW, G.transpose(), X, true);
  if (has_bias_) RowVecMap<T>(bias_.grad.data(), out_) += G.colwise().sum();
  if (need_input_grad) {
    this->grad_input_.resize(x.shape());
    MapR<T> dX(this->grad_input_.data(), n, in_);
    gemm(dX, G, CMapR<T>(weight_.value.data(), out_, in_), false);
  }
  return this->grad_input_;
}

template class Dense<float>;
template class Dense<double>;

}  // namespace bionn
