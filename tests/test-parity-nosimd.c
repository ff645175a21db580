// test-parity with the scalar fallback of the SIMD layer: the same checks, linked with the
// implementation compiled with -DALRP_NO_SIMD (the Makefile does that for every tests/*-nosimd.c).
#include "test-parity.c"
