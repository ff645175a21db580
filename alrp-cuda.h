// alrp-cuda.h - the CUDA backend of alrp.h (implemented in alrp-cuda.cu; docs/cuda.md).
//
//     char err[256];
//     struct alrp_backend * be = alrp_backend_cuda_init(0, err, sizeof err);
//     if (!be) { fprintf(stderr, "%s\n", err); be = alrp_backend_cpu_init(0); }   // no driver / no GPU
//     ... the same placement, gallocr and graph compute as with the CPU backend (docs/backend.md) ...
//
// Programs that call these link $(BUILD)/alrp-cuda.o (nvcc) and cudart + cuBLAS: the Makefile's
// CUDA_PROGRAMS list does that and defines ALRP_CUDA for them. Without nvcc nothing here is
// compiled, and code should guard its calls with #ifdef ALRP_CUDA.
//
// alrp_backend_cuda_host_init is the test double: the same dispatch and kernel bodies, run over
// an emulated launch grid on the CPU, with host memory as "device" memory. It is compiled by the
// host compiler (alrp-cuda.cu with -DALRP_CUDA_HOST_ONLY, no nvcc needed) into
// $(BUILD)/alrp-cuda-host.o, for tests/test-backend-ops and tests/test-cuda-step.
#ifndef ALRP_CUDA_H
#define ALRP_CUDA_H

#include "alrp.h"

#ifdef __cplusplus
extern "C" {
#endif

// A backend on CUDA device `device` (0 for the first). NULL when there is no driver, no such
// device or not enough memory, with one line saying why in err (err may be NULL). Never aborts.
struct alrp_backend * alrp_backend_cuda_init(int device, char * err, size_t err_size);
// true for a backend made by alrp_backend_cuda_init (or the host test double)
bool alrp_backend_is_cuda(const struct alrp_backend * be);
// TF32 tensor-core math in the GEMMs and convolutions (off by default: full f32). With it on,
// results differ from the CPU by about 1e-3 relative (10-bit mantissa products).
void alrp_backend_cuda_set_tf32(struct alrp_backend * be, bool on);
// Capture each graph's compute as a CUDA graph on its first compute and replay it afterwards
// (off by default). A graph is captured again when its nodes' addresses or shapes change (a new
// gallocr placement). Kernel launches of a step then cost one cudaGraphLaunch.
void alrp_backend_cuda_set_graphs(struct alrp_backend * be, bool on);
// bytes of device memory the backend holds: buffers, kernel scratch, and cached free blocks
size_t alrp_backend_cuda_mem_used(const struct alrp_backend * be);

// the test double (see the top); always succeeds
struct alrp_backend * alrp_backend_cuda_host_init(void);

#ifdef __cplusplus
}
#endif
#endif // ALRP_CUDA_H
