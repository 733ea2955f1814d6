// Weight initialisers: Glorot (Xavier) and He (Kaiming) uniform/normal, and PyTorch's defaults
// for Linear/Conv (kaiming_uniform with a = sqrt(5), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
// and the same bound for the bias).
#pragma once
#include <string>

#include "core/rng.h"
#include "core/tensor.h"

namespace bionn {

enum class Init { Torch, GlorotUniform, GlorotNormal, HeUniform, HeNormal, Zeros };

Init parse_init(const std::string& name);
std::string init_name(Init init);

template <typename T>
void init_weight(Tensor<T>& w, int64_t fan_in, int64_t fan_out, Init init, Rng& rng);
// PyTorch initialises biases from U(-1/sqrt(fan_in), 1/sqrt(fan_in)); the other schemes use zeros.
template <typename T>
void init_bias(Tensor<T>& b, int64_t fan_in, Init init, Rng& rng);

}  // namespace bionn
