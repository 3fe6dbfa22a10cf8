#include "threads.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <mutex>

namespace edict {

namespace {

using SetThreads = void (*)(int);

// OpenBLAS is not linked by the addon itself (libtorch loads it as its BLAS, if at all), so
// look it up at run time among the libraries already loaded; never load one.
SetThreads FindOpenBlasSetThreads() {
  if (void* symbol = dlsym(RTLD_DEFAULT, "openblas_set_num_threads")) {
    return reinterpret_cast<SetThreads>(symbol);
  }
  for (const char* name : {"libblas.so.3", "libopenblas.so.0", "libopenblasp.so.0", "libopenblas.so"}) {
    void* handle = dlopen(name, RTLD_LAZY | RTLD_NOLOAD);
    if (handle == nullptr) continue;
    void* symbol = dlsym(handle, "openblas_set_num_threads");
    dlclose(handle);  // drops the reference RTLD_NOLOAD added; the library stays loaded
    if (symbol != nullptr) return reinterpret_cast<SetThreads>(symbol);
  }
  return nullptr;
}

SetThreads OpenBlasSetThreads() {
  static const SetThreads set_threads = FindOpenBlasSetThreads();
  return set_threads;
}

}  // namespace

int ConfigureThreads(int threads) {
  // Every compute thread (one per JS environment) may get here first.
  static std::once_flag blas_configured;
  std::call_once(blas_configured, [] {
    if (SetThreads set = OpenBlasSetThreads()) set(1);
  });
  // With OpenMP (Debian's libtorch, PyTorch's Linux builds) the count is a per-thread setting:
  // each job applies its pipeline's. libtorch's native pool is process-wide and keeps its first
  // size (it warns); the count actually used is returned either way.
  if (threads > 0 && at::get_num_threads() != threads) at::set_num_threads(threads);
  return at::get_num_threads();
}

const char* BlasThreadControl() { return OpenBlasSetThreads() ? "openblas (1 thread)" : "none found"; }

}  // namespace edict
