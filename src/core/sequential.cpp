#include "core/sequential.h"

#include <cmath>
#include <cstring>
#include <numeric>
#include <stdexcept>

#include "core/interrupt.h"

namespace bionn {

template <typename T>
Sequential<T>::Sequential(std::vector<LayerPtr<T>> layers, uint64_t seed) : layers_(std::move(layers)), rng_(seed) {
  if (layers_.empty()) throw std::invalid_argument("Sequential: needs at least one layer");
  for (auto& l : layers_)
    if (!l) throw std::invalid_argument("Sequential: got a null layer");
  for (auto& l : layers_) {
    for (auto& b : l->buffers()) {
      buffers_.push_back(b.second);
      buffer_backup_.push_back(*b.second);
    }
    // A layer without clone() (e.g. a test's own layer) makes inference exclusive, not concurrent.
    if (copyable_ && !l->clone()) copyable_ = false;
  }
}

template <typename T>
Sequential<T>::Sequential(std::vector<LayerPtr<T>> layers, const Rng& rng, bool copyable)
    : layers_(std::move(layers)), rng_(rng), copyable_(copyable) {}

template <typename T>
std::unique_ptr<Sequential<T>> Sequential<T>::acquire_replica() {
  std::unique_ptr<Sequential> replica;
  {
    std::lock_guard<std::mutex> lock(pool_mutex_);
    if (!pool_.empty()) {
      replica = std::move(pool_.back());
      pool_.pop_back();
    }
    if (replica) replica->rng_ = rng_;
  }
  if (replica) {
    // The layers only read themselves here (no writer runs while a lease is held).
    for (size_t i = 0; i < layers_.size(); ++i) replica->layers_[i]->copy_from(*layers_[i]);
  } else {
    std::vector<LayerPtr<T>> copies;
    copies.reserve(layers_.size());
    for (auto& l : layers_) copies.push_back(l->clone());
    std::lock_guard<std::mutex> lock(pool_mutex_);
    replica.reset(new Sequential(std::move(copies), rng_, false));
  }
  return replica;
}

template <typename T>
void Sequential<T>::release_replica(std::unique_ptr<Sequential> replica) {
  std::lock_guard<std::mutex> lock(pool_mutex_);
  rng_ = replica->rng_;  // serial calls continue one random stream, as if run on the model itself
  pool_.push_back(std::move(replica));
}

template <typename T>
void Sequential<T>::reset_parameters() {
  auto use = usage_.write("reset_parameters");
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
  auto use = usage_.write("forward");
  return forward_layers(x, training);
}

template <typename T>
const Tensor<T>& Sequential<T>::backward(const Tensor<T>& grad_out, bool need_input_grad) {
  auto use = usage_.write("backward");
  return backward_layers(grad_out, need_input_grad);
}

template <typename T>
const Tensor<T>& Sequential<T>::forward_layers(const Tensor<T>& x, bool training) {
  const Tensor<T>* h = &x;
  for (auto& l : layers_) {
    poll_interrupt();  // between layers: a large batch stops within one layer's time
    h = &l->forward(*h, training, rng_);
  }
  return *h;
}

template <typename T>
const Tensor<T>& Sequential<T>::backward_layers(const Tensor<T>& grad_out, bool need_input_grad) {
  const Tensor<T>* g = &grad_out;
  for (size_t i = layers_.size(); i-- > 0;) {
    poll_interrupt();
    g = &layers_[i]->backward(*g, i > 0 || need_input_grad);
  }
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
  auto use = usage_.write("train_step");
  return step(x, y, loss, opt, nullptr);
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

// dst = src, in place when the shapes agree (no allocation; NumPy views of dst stay valid).
template <typename T>
void copy_values(Tensor<T>& dst, const Tensor<T>& src) {
  if (dst.shape() == src.shape())
    std::memcpy(dst.data(), src.data(), sizeof(T) * static_cast<size_t>(src.size()));
  else
    dst = src;
}
}  // namespace

// One optimisation step. Interrupted (Ctrl-C) before the update, it restores the buffers the
// forward pass changed (running statistics) and zeroes the gradients, so the model is exactly as
// after the previous step; the update itself (opt.step) is never interrupted.
template <typename T>
double Sequential<T>::step(const Tensor<T>& x, const Tensor<T>& y, Loss<T>& loss, Optimizer<T>& opt, int64_t* correct) {
  for (size_t i = 0; i < buffers_.size(); ++i) copy_values(buffer_backup_[i], *buffers_[i]);
  opt.zero_grad();
  double value;
  try {
    const Tensor<T>& out = forward_layers(x, true);
    value = loss.forward(out, y);
    if (correct && loss.is_classification()) *correct += count_correct(out, y.data());
    backward_layers(loss.backward(), false);
  } catch (...) {
    for (size_t i = 0; i < buffers_.size(); ++i) copy_values(*buffers_[i], buffer_backup_[i]);
    opt.zero_grad();
    throw;
  }
  opt.step();
  return value;
}

template <typename T>
std::vector<EpochRecord> Sequential<T>::fit(DataView<T> x, DataView<T> y, Loss<T>& loss, Optimizer<T>& opt,
                                            const FitOptions& o, const DataView<T>* val_x, const DataView<T>* val_y,
                                            LRScheduler<T>* scheduler, const FitHooks& hooks) {
  auto use = usage_.write("fit");
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
      const double value = step(batch_x_, batch_y_, loss, opt, &correct);
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
      const EpochRecord v = evaluate_impl(*val_x, *val_y, loss, o.eval_batch_size);
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
  return infer("evaluate", &loss, [&](Sequential& m, Loss<T>* l) { return m.evaluate_impl(x, y, *l, batch_size); });
}

template <typename T>
Tensor<T> Sequential<T>::predict(DataView<T> x, int64_t batch_size) {
  return infer("predict", nullptr, [&](Sequential& m, Loss<T>*) { return m.predict_impl(x, batch_size); });
}

template <typename T>
Tensor<T> Sequential<T>::input_gradient(DataView<T> x, DataView<T> y, Loss<T>& loss, bool training) {
  if (training) {  // training mode changes the model (running statistics): a writer
    auto use = usage_.write("input_gradient(training=True)");
    return input_gradient_impl(x, y, loss, true);
  }
  return infer("input_gradient", &loss,
               [&](Sequential& m, Loss<T>* l) { return m.input_gradient_impl(x, y, *l, false); });
}

template <typename T>
EpochRecord Sequential<T>::evaluate_impl(DataView<T> x, DataView<T> y, Loss<T>& loss, int64_t batch_size) {
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
    const Tensor<T>& out = forward_layers(batch_x_, false);
    loss_sum += loss.forward(out, batch_y_) * static_cast<double>(count);
    if (loss.is_classification()) correct += count_correct(out, batch_y_.data());
  }
  EpochRecord rec;
  rec["loss"] = loss_sum / static_cast<double>(n);
  if (loss.is_classification()) rec["accuracy"] = static_cast<double>(correct) / static_cast<double>(n);
  return rec;
}

template <typename T>
Tensor<T> Sequential<T>::predict_impl(DataView<T> x, int64_t batch_size) {
  if (x.samples() == 0) throw std::invalid_argument("predict: X is empty");
  if (batch_size <= 0) throw std::invalid_argument("predict: batch_size must be positive");
  const int64_t n = x.samples(), rowx = x.shape.sample_numel();
  Tensor<T> result;
  int64_t row_out = 0;
  for (int64_t start = 0; start < n; start += batch_size) {
    const int64_t count = std::min(batch_size, n - start);
    batch_x_.resize(x.shape.with_batch(count));
    std::memcpy(batch_x_.data(), x.data + start * rowx, sizeof(T) * static_cast<size_t>(count * rowx));
    const Tensor<T>& out = forward_layers(batch_x_, false);
    if (start == 0) {
      row_out = out.shape().sample_numel();
      result.resize(out.shape().with_batch(n));
    }
    std::memcpy(result.data() + start * row_out, out.data(), sizeof(T) * static_cast<size_t>(count * row_out));
  }
  return result;
}

template <typename T>
Tensor<T> Sequential<T>::input_gradient_impl(DataView<T> x, DataView<T> y, Loss<T>& loss, bool training) {
  check_pair(x, y, "input_gradient");
  batch_x_.resize(x.shape);
  std::memcpy(batch_x_.data(), x.data, sizeof(T) * static_cast<size_t>(x.shape.numel()));
  batch_y_.resize(y.shape);
  std::memcpy(batch_y_.data(), y.data, sizeof(T) * static_cast<size_t>(y.shape.numel()));
  const Tensor<T>& out = forward_layers(batch_x_, training);
  loss.forward(out, batch_y_);
  // Parameter gradients accumulate as a side effect; keep them clean for the caller.
  std::vector<std::vector<T>> saved;
  auto params = parameters();
  saved.reserve(params.size());
  for (auto* p : params) saved.emplace_back(p->grad.data(), p->grad.data() + p->grad.size());
  Tensor<T> g = backward_layers(loss.backward(), true);
  for (size_t i = 0; i < params.size(); ++i)
    std::memcpy(params[i]->grad.data(), saved[i].data(), sizeof(T) * saved[i].size());
  return g;
}

template class Sequential<float>;
template class Sequential<double>;

}  // namespace bionn
