// Steady-state allocation checks, shared by every test_<mechanism>.cpp: after warm-up steps, a train
// step (gather, forward, loss, backward, optimizer) must not call malloc at all — ours or Eigen's.
// malloc is interposed once for the whole test binary, in allocation.cpp (glibc exports
// __libc_malloc). Wrap allocation tests in `#ifdef BIONN_TEST_COUNTS_MALLOC`: it is undefined under
// the sanitizers (which interpose malloc themselves) and off glibc.
#pragma once
#include <cstdlib>  // glibc's <features.h>: defines __GLIBC__

#if !defined(__SANITIZE_ADDRESS__) && defined(__GLIBC__)
#define BIONN_TEST_COUNTS_MALLOC 1

#include <atomic>
#include <vector>

#include "core/losses.h"
#include "core/optim.h"
#include "core/rng.h"
#include "core/sequential.h"

namespace bionn_test {

// The counter (defined in allocation.cpp, next to the interposed malloc). Inline functions over
// atomics: seq_cst stores in the caller's translation unit keep the compiler from moving (or
// eliding) the allocations between them.
extern std::atomic<long> malloc_count;
extern std::atomic<bool> counting_mallocs;

// Resets the malloc count and starts counting (every thread's calls).
inline void start_counting_mallocs() {
  malloc_count = 0;
  counting_mallocs = true;
}
// Stops counting; returns the mallocs since start_counting_mallocs().
inline long stop_counting_mallocs() {
  counting_mallocs = false;
  return malloc_count.load();
}

// Mallocs during `steps` train steps (cross-entropy, SGD with momentum) of make_layers()'s
// float network on random inputs of x_shape, after 3 warm-up steps that size every buffer.
template <typename Make>
long mallocs_per_steps(Make make_layers, bionn::Shape x_shape, int64_t classes, int steps) {
  using namespace bionn;
  Sequential<float> model(make_layers(), 7);
  Rng rng(3);
  Tensor<float> x(x_shape), y(Shape{x_shape[0]});
  for (int64_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(rng.normal());
  for (int64_t i = 0; i < y.size(); ++i) y[i] = static_cast<float>(rng.below(static_cast<uint64_t>(classes)));
  CrossEntropyLoss<float> loss;
  ParamGroup<float> group;
  group.params = model.parameters();
  group.options.lr = 0.01;
  group.options.momentum = 0.9;
  SGD<float> opt({group});
  for (int i = 0; i < 3; ++i) model.train_step(x, y, loss, opt);  // warm-up sizes every buffer
  start_counting_mallocs();
  for (int i = 0; i < steps; ++i) model.train_step(x, y, loss, opt);
  return stop_counting_mallocs();
}

}  // namespace bionn_test

#endif
