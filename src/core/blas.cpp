#include "core/blas.h"

#include <cmath>
#include <deque>
#include <mutex>
#include <stdexcept>

#if defined(__unix__) || defined(__APPLE__)
#include <dlfcn.h>
#define BIONN_HAVE_DLOPEN 1
#endif

namespace bionn::blas {

std::atomic<const Library*> current{nullptr};
std::atomic<uint64_t> calls{0};

namespace {

std::mutex mutex;
std::deque<Library> libraries;  // every library loaded so far; never freed (see `current`)
std::string path_in_use;

}  // namespace

std::string load(const std::string& path) {
#ifndef BIONN_HAVE_DLOPEN
  throw std::runtime_error("set_blas: loading a BLAS at run time is not supported on this platform");
#else
  std::lock_guard<std::mutex> lock(mutex);
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    throw std::runtime_error("set_blas: cannot open '" + path + "': " + (why ? why : "unknown error"));
  }
  for (const char* prefix : {"", "scipy_"}) {
    const std::string p(prefix);
    void* s = dlsym(handle, (p + "cblas_sgemm").c_str());
    void* d = dlsym(handle, (p + "cblas_dgemm").c_str());
    if (s == nullptr || d == nullptr) continue;
    Library lib;
    lib.sgemm = reinterpret_cast<sgemm_t>(s);
    lib.dgemm = reinterpret_cast<dgemm_t>(d);
    // Each call runs on the thread that makes it: gemm() partitions the work over OpenMP threads.
    if (void* f = dlsym(handle, (p + "openblas_set_num_threads").c_str())) reinterpret_cast<void (*)(int)>(f)(1);
    if (void* f = dlsym(handle, "bli_thread_set_num_threads")) reinterpret_cast<void (*)(long)>(f)(1);
    // A 2 x 3 x 2 product checks the calling convention (LP64, CBLAS enums) before anything uses it.
    const float a[4] = {1, 2, 3, 4}, b[6] = {1, 0, 2, 1, 3, 0};
    float c[6] = {-1, -1, -1, -1, -1, -1};
    lib.sgemm(kRowMajor, kNoTrans, kNoTrans, 2, 3, 2, 1.0f, a, 2, b, 3, 0.0f, c, 3);
    const double a2[4] = {1, 2, 3, 4}, b2[6] = {1, 0, 2, 1, 3, 0};
    double c2[6] = {-1, -1, -1, -1, -1, -1};
    lib.dgemm(kColMajor, kTrans, kTrans, 2, 3, 2, 1.0, a2, 2, b2, 3, 0.0, c2, 2);
    // Row-major: [[1,2],[3,4]] [[1,0,2],[1,3,0]] = [[3,6,2],[7,12,6]].
    const float want[6] = {3, 6, 2, 7, 12, 6};
    // a2 read column-major is [[1,3],[2,4]], transposed [[1,2],[3,4]]; b2 read column-major (ld 3)
    // is [[1,1],[0,3],[2,0]], transposed [[1,0,2],[1,3,0]]: the same product, stored column-major.
    const double want2[6] = {3, 7, 6, 12, 2, 6};
    for (int i = 0; i < 6; ++i)
      if (c[i] != want[i] || c2[i] != want2[i]) {
        dlclose(handle);
        throw std::runtime_error("set_blas: '" + path + "' exports " + p +
                                 "cblas_sgemm/dgemm but a test product came out wrong (an ILP64 build? bionn needs "
                                 "32-bit integers)");
      }
    libraries.push_back(lib);
    current.store(&libraries.back(), std::memory_order_release);
    path_in_use = path;
    return p;
  }
  dlclose(handle);
  throw std::runtime_error("set_blas: '" + path +
                           "' exports neither cblas_sgemm/cblas_dgemm nor scipy_cblas_sgemm/dgemm");
#endif
}

void unload() {
  std::lock_guard<std::mutex> lock(mutex);
  current.store(nullptr, std::memory_order_release);
  path_in_use.clear();
}

std::string loaded_path() {
  std::lock_guard<std::mutex> lock(mutex);
  return path_in_use;
}

}  // namespace bionn::blas
