// bionn._cpu: which x86-64 micro-architecture level the running CPU supports and which levels the
// core was compiled for, so that python/bionn/_isa.py can load the best build of bionn._core before
// any of it runs. Compiled for the compiler's default target (no -march): it must run on any CPU.
// Plain Python C API, no pybind11: it is tiny and builds in a second.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <array>

#ifndef BIONN_LEVELS
#define BIONN_LEVELS "generic"
#endif

namespace {

#if (defined(__x86_64__) || defined(__amd64__)) && (defined(__GNUC__) || defined(__clang__))
#define BIONN_X86_64 1

struct Feature {
  const char* name;
  bool supported;
};

// __builtin_cpu_supports takes literals only. GCC's and Clang's runtimes also check (XGETBV) that
// the OS saves the AVX / AVX-512 registers before reporting avx* as supported.
#define BIONN_FEATURE(name) Feature{name, __builtin_cpu_supports(name) != 0}

// The features the x86-64-v2, -v3 and -v4 levels add (x86-64 psABI), in that order.
std::array<Feature, 15> detect() {
  __builtin_cpu_init();
  return {BIONN_FEATURE("sse3"),     BIONN_FEATURE("ssse3"),    BIONN_FEATURE("sse4.1"),  BIONN_FEATURE("sse4.2"),
          BIONN_FEATURE("popcnt"),   BIONN_FEATURE("avx"),      BIONN_FEATURE("avx2"),    BIONN_FEATURE("bmi"),
          BIONN_FEATURE("bmi2"),     BIONN_FEATURE("fma"),      BIONN_FEATURE("avx512f"), BIONN_FEATURE("avx512bw"),
          BIONN_FEATURE("avx512cd"), BIONN_FEATURE("avx512dq"), BIONN_FEATURE("avx512vl")};
}

[[maybe_unused]] bool all_supported(const std::array<Feature, 15>& f, size_t begin, size_t end) {
  for (size_t i = begin; i < end; ++i)
    if (!f[i].supported) return false;
  return true;
}

// The highest x86-64 level this CPU supports. GCC >= 12 knows the levels themselves (which add the
// minor features f16c, lzcnt, movbe, xsave); other compilers check the features above.
const char* cpu_level() {
  __builtin_cpu_init();
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
  if (__builtin_cpu_supports("x86-64-v4")) return "x86-64-v4";
  if (__builtin_cpu_supports("x86-64-v3")) return "x86-64-v3";
  if (__builtin_cpu_supports("x86-64-v2")) return "x86-64-v2";
#else
  const auto f = detect();
  if (all_supported(f, 0, 15)) return "x86-64-v4";
  if (all_supported(f, 0, 10)) return "x86-64-v3";
  if (all_supported(f, 0, 5)) return "x86-64-v2";
#endif
  return "x86-64";
}
#endif

PyObject* level(PyObject*, PyObject*) {
#ifdef BIONN_X86_64
  return PyUnicode_FromString(cpu_level());
#else
  return PyUnicode_FromString("");
#endif
}

PyObject* features(PyObject*, PyObject*) {
  PyObject* out = PyDict_New();
#ifdef BIONN_X86_64
  for (const Feature& f : detect()) {
    if (out && PyDict_SetItemString(out, f.name, f.supported ? Py_True : Py_False) != 0) Py_CLEAR(out);
  }
#endif
  return out;
}

PyObject* built_levels(PyObject*, PyObject*) { return PyUnicode_FromString(BIONN_LEVELS); }

PyMethodDef methods[] = {
    {"level", level, METH_NOARGS,
     "level() -> str\n\nThe highest x86-64 level the CPU supports ('x86-64', 'x86-64-v2', 'x86-64-v3' or "
     "'x86-64-v4'); '' on other architectures."},
    {"features", features, METH_NOARGS,
     "features() -> dict[str, bool]\n\nThe SIMD features the x86-64 levels add and whether the CPU (and OS) "
     "supports each; empty on other architectures."},
    {"built_levels", built_levels, METH_NOARGS,
     "built_levels() -> str\n\nThe levels the core was compiled for, comma-separated, the baseline (the "
     "_core module) first: x86-64 levels, 'native' (BIONN_NATIVE) or 'generic' (the compiler's default)."},
    {nullptr, nullptr, 0, nullptr}};

PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_cpu", "What the CPU supports, for choosing a build of bionn._core.",
                          -1, methods};

}  // namespace

PyMODINIT_FUNC PyInit__cpu() { return PyModule_Create(&module_def); }
