#include "core/init.h"

#include <cmath>
#include <stdexcept>

namespace bionn {

Rng& global_rng() {
  static Rng rng(0x5eed);
  return rng;
}

Init parse_init(const std::string& name) {
  if (name == "torch" || name == "default") return Init::Torch;
  if (name == "glorot_uniform" || name == "xavier_uniform") return Init::GlorotUniform;
  if (name == "glorot_normal" || name == "xavier_normal") return Init::GlorotNormal;
  if (name == "he_uniform" || name == "kaiming_uniform") return Init::HeUniform;
  if (name == "he_normal" || name == "kaiming_normal") return Init::HeNormal;
  if (name == "zeros") return Init::Zeros;
  throw std::invalid_argument("init: unknown initialiser '" + name +
                              "', expected one of torch, glorot_uniform, glorot_normal, he_uniform, "
                              "he_normal, zeros");
}

std::string init_name(Init init) {
  switch (init) {
    case Init::Torch:
      return "torch";
    case Init::GlorotUniform:
      return "glorot_uniform";
    case Init::GlorotNormal:
      return "glorot_normal";
    case Init::HeUniform:
      return "he_uniform";
    case Init::HeNormal:
      return "he_normal";
    case Init::Zeros:
      return "zeros";
  }
  return "torch";
}

template <typename T>
void init_weight(Tensor<T>& w, int64_t fan_in, int64_t fan_out, Init init, Rng& rng) {
  const double fi = static_cast<double>(fan_in), fo = static_cast<double>(fan_out);
  auto fill_uniform = [&](double bound) {
    for (int64_t i = 0; i < w.size(); ++i) w[i] = static_cast<T>(rng.uniform(-bound, bound));
  };
  auto fill_normal = [&](double std) {
    for (int64_t i = 0; i < w.size(); ++i) w[i] = static_cast<T>(rng.normal(0.0, std));
  };
  switch (init) {
    case Init::Torch:
      fill_uniform(1.0 / std::sqrt(fi));
      break;
    case Init::GlorotUniform:
      fill_uniform(std::sqrt(6.0 / (fi + fo)));
      break;
    case Init::GlorotNormal:
      fill_normal(std::sqrt(2.0 / (fi + fo)));
      break;
    case Init::HeUniform:
      fill_uniform(std::sqrt(6.0 / fi));
      break;
    case Init::HeNormal:
      fill_normal(std::sqrt(2.0 / fi));
      break;
    case Init::Zeros:
      w.zero();
      break;
  }
}

template <typename T>
void init_bias(Tensor<T>& b, int64_t fan_in, Init init, Rng& rng) {
  if (init == Init::Torch) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    for (int64_t i = 0; i < b.size(); ++i) b[i] = static_cast<T>(rng.uniform(-bound, bound));
  } else {
    b.zero();
  }
}

template void init_weight<float>(Tensor<float>&, int64_t, int64_t, Init, Rng&);
template void init_weight<double>(Tensor<double>&, int64_t, int64_t, Init, Rng&);
template void init_bias<float>(Tensor<float>&, int64_t, Init, Rng&);
template void init_bias<double>(Tensor<double>&, int64_t, Init, Rng&);

}  // namespace bionn
