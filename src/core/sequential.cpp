#include "core/sequential.h"

#include <cmath>
#include <cstring>
#include <numeric>
#include <stdexcept>

namespace bionn {

template <typename T>
Sequential<T>::Sequential(std::vector<LayerPtr<T>> layers, uint64_t seed) : layers_(std::move(layers)), rng_(seed) {
  if (layers_.empty()) throw std::invalid_argument("Sequential: needs at least one layer");
  for (auto& l : layers_)
    if (!l) throw std::invalid_argument("Sequential: got a null layer");
}

template <typename T>
void Sequential<T>::reset_parameters() {
  for (auto& l : layers_) l->reset_parameters(rng_);
}

template <typename T>
std::vector<Parameter<T>*> Sequential<T>::parameters() {
  std::vector<Parameter<T>*> out;
  for (auto& l : layers_)
    for (auto* p : l->parameters()) out.push_back(p);
  return out;
}

template <typename T>
const Tensor<T>& Sequential<T>::forward(const Tensor<T>& x, bool training) {
  const Tensor<T>* h = &x;
  for (auto& l : layers_) h = &l->forward(*h, training, rng_);
  return *h;
}

template <typename T>
const Tensor<T>& Sequential<T>::backward(const Tensor<T>& grad_out, bool need_input_grad) {
  const Tensor<T>* g = &grad_out;
  for (size_t i = layers_.size(); i-- > 0;) g = &layers_[i]->backward(*g, i > 0 || need_input_grad);
  return *g;
}

template <typename T>
void Sequential<T>::check_pair(DataView<T> x, DataView<T> y, const char* what) const {
  if (x.samples() == 0) throw std::invalid_argument(std::string(what) + ": X is empty");
  if (y.samples() != x.samples())
    throw std::invalid_argument(std::string(what) + ": X has " + std::to_string(x.samples()) + " samples but y has " +
                                std::to_string(y.samples()));
}

template <typename T>
void Sequential<T>::gather(DataView<T> src, const int64_t* idx, int64_t count, Tensor<T>& dst) const {
  const int64_t row = src.shape.sample_numel();
  dst.resize(src.shape.with_batch(count));
  T* out = dst.data();
  for (int64_t i = 0; i < count; ++i)
    std::memcpy(out + i * row, src.data + idx[i] * row, sizeof(T) * static_cast<size_t>(row));
}

template <typename T>
double Sequential<T>::train_step(const Tensor<T>& x, const Tensor<T>& y, Loss<T>& loss, Optimizer<T>& opt) {
  opt.zero_grad();
  const Tensor<T>& out = forward(x, true);
  const double value = loss.forward(out, y);
  backward(loss.backward(), false);
  opt.step();
  return value;
}

namespace {
template <typename T>
int64_t count_correct(const Tensor<T>& logits, const T* labels) {
  if (logits.ndim() != 2) return 0;
  const int64_t n = logits.dim(0), c = logits.dim(1);
  int64_t correct = 0;
  for (int64_t i = 0; i < n; ++i) {
    const T* row = logits.data() + i * c;
    int64_t best = 0;
    for (int64_t k = 1; k < c; ++k)
      if (row[k] > row[best]) best = k;
    correct += static_cast<int64_t>(best) == static_cast<int64_t>(labels[i]);
  }
  return correct;
}
}  // namespace

template <typename T>
std::vector<EpochRecord> Sequential<T>::fit(DataView<T> x, DataView<T> y, Loss<T>& loss, Optimizer<T>& opt,
                                            const FitOptions& o, const DataView<T>* val_x, const DataView<T>* val_y,
                                            LRScheduler<T>* scheduler, const FitHooks& hooks) {
  check_pair(x, y, "fit");
  if (o.epochs < 0) throw std::invalid_argument("fit: epochs must be >= 0");
  if (o.batch_size <= 0) throw std::invalid_argument("fit: batch_size must be positive");
  if ((val_x == nullptr) != (val_y == nullptr)) throw std::invalid_argument("fit: validation needs both X and y");
  if (val_x) check_pair(*val_x, *val_y, "fit(validation_data)");
  const int64_t n = x.samples();
  const int64_t bs = std::min(o.batch_size, n);
  const int64_t batches = o.drop_last ? n / bs : (n + bs - 1) / bs;
  order_.resize(static_cast<size_t>(n));
  std::vector<EpochRecord> history;
  history.reserve(static_cast<size_t>(o.epochs));
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    if (o.replacement) {
      for (auto& i : order_) i = static_cast<int64_t>(rng_.below(static_cast<uint64_t>(n)));
    } else {
      std::iota(order_.begin(), order_.end(), int64_t(0));
      if (o.shuffle) rng_.shuffle(order_.begin(), order_.end());
    }
    double loss_sum = 0.0;
    int64_t seen = 0, correct = 0;
    for (int64_t b = 0; b < batches; ++b) {
      const int64_t start = b * bs, count = std::min(bs, n - start);
      gather(x, order_.data() + start, count, batch_x_);
      gather(y, order_.data() + start, count, batch_y_);
      opt.zero_grad();
      const Tensor<T>& out = forward(batch_x_, true);
      const double value = loss.forward(out, batch_y_);
      if (loss.is_classification()) correct += count_correct(out, batch_y_.data());
      backward(loss.backward(), false);
      opt.step();
      loss_sum += value * static_cast<double>(count);
      seen += count;
      if (hooks.on_batch) hooks.on_batch(epoch, b, batches, value);
    }
    EpochRecord rec;
    rec["epoch"] = epoch + 1;
    rec["loss"] = seen ? loss_sum / static_cast<double>(seen) : NAN;
    if (loss.is_classification())
      rec["accuracy"] = seen ? static_cast<double>(correct) / static_cast<double>(seen) : NAN;
    rec["lr"] = opt.groups().empty() ? NAN : opt.groups()[0].options.lr;
    if (val_x) {
      const EpochRecord v = evaluate(*val_x, *val_y, loss, o.eval_batch_size);
      for (const auto& kv : v) rec["val_" + kv.first] = kv.second;
    }
    if (scheduler) scheduler->step();
    history.push_back(rec);
    if (hooks.on_epoch && hooks.on_epoch(rec)) break;
  }
  return history;
}

template <typename T>
EpochRecord Sequential<T>::evaluate(DataView<T> x, DataView<T> y, Loss<T>& loss, int64_t batch_size) {
  check_pair(x, y, "evaluate");
  if (batch_size <= 0) throw std::invalid_argument("evaluate: batch_size must be positive");
  const int64_t n = x.samples(), rowx = x.shape.sample_numel(), rowy = y.shape.sample_numel();
  double loss_sum = 0.0;
  int64_t correct = 0;
  for (int64_t start = 0; start < n; start += batch_size) {
    const int64_t count = std::min(batch_size, n - start);
    batch_x_.resize(x.shape.with_batch(count));
    std::memcpy(batch_x_.data(), x.data + start * rowx, sizeof(T) * static_cast<size_t>(count * rowx));
    batch_y_.resize(y.shape.with_batch(count));
    std::memcpy(batch_y_.data(), y.data + start * rowy, sizeof(T) * static_cast<size_t>(count * rowy));
    const Tensor<T>& out = forward(batch_x_, false);
    loss_sum += loss.forward(out, batch_y_) * static_cast<double>(count);
    if (loss.is_classification()) correct += count_correct(out, batch_y_.data());
  }
  EpochRecord rec;
  rec["loss"] = loss_sum / static_cast<double>(n);
  if (loss.is_classification()) rec["accuracy"] = static_cast<double>(correct) / static_cast<double>(n);
  return rec;
}

template <typename T>
Tensor<T> Sequential<T>::predict(DataView<T> x, int64_t batch_size) {
  if (x.samples() == 0) throw std::invalid_argument("predict: X is empty");
  if (batch_size <= 0) throw std::invalid_argument("predict: batch_size must be positive");
  const int64_t n = x.samples(), rowx = x.shape.sample_numel();
  Tensor<T> result;
  int64_t row_out = 0;
  for (int64_t start = 0; start < n; start += batch_size) {
    const int64_t count = std::min(batch_size, n - start);
    batch_x_.resize(x.shape.with_batch(count));
    std::memcpy(batch_x_.data(), x.data + start * rowx, sizeof(T) * static_cast<size_t>(count * rowx));
    const Tensor<T>& out = forward(batch_x_, false);
    if (start == 0) {
      row_out = out.shape().sample_numel();
      result.resize(out.shape().with_batch(n));
    }
    std::memcpy(result.data() + start * row_out, out.data(), sizeof(T) * static_cast<size_t>(count * row_out));
  }
  return result;
}

template <typename T>
Tensor<T> Sequential<T>::input_gradient(DataView<T> x, DataView<T> y, Loss<T>& loss, bool training) {
  check_pair(x, y, "input_gradient");
  batch_x_.resize(x.shape);
  std::memcpy(batch_x_.data(), x.data, sizeof(T) * static_cast<size_t>(x.shape.numel()));
  batch_y_.resize(y.shape);
  std::memcpy(batch_y_.data(), y.data, sizeof(T) * static_cast<size_t>(y.shape.numel()));
  const Tensor<T>& out = forward(batch_x_, training);
  loss.forward(out, batch_y_);
  // Parameter gradients accumulate as a side effect; keep them clean for the caller.
  std::vector<std::vector<T>> saved;
  auto params = parameters();
  saved.reserve(params.size());
  for (auto* p : params) saved.emplace_back(p->grad.data(), p->grad.data() + p->grad.size());
  Tensor<T> g = backward(loss.backward(), true);
  for (size_t i = 0; i < params.size(); ++i)
    std::memcpy(params[i]->grad.data(), saved[i].data(), sizeof(T) * saved[i].size());
  return g;
}

template class Sequential<float>;
template class Sequential<double>;

}  // namespace bionn
