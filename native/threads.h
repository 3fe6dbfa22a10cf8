// Intra-op threads for the compute thread, and the BLAS library's own thread pool.
#pragma once

namespace edict {

// Sets libtorch's intra-op (OpenMP) threads for the calling thread. When the BLAS libtorch
// calls is OpenBLAS built with pthreads (Debian's libopenblas0-pthread), also makes OpenBLAS
// single-threaded: its own worker threads spin (sched_yield) between calls and fight the
// OpenMP workers for the cores. Measured on this project's 2-core machine, bundled UNet at
// batch 2: OpenMP 2 + OpenBLAS 2 threads 34 ms per call, OpenMP 2 + OpenBLAS 1: 8.2 ms.
// Returns the intra-op thread count the calling thread now runs with. `threads` <= 0 leaves it.
int ConfigureThreads(int threads);

// The name of the BLAS thread setting that was applied ("openblas" or "none found").
const char* BlasThreadControl();

}  // namespace edict
