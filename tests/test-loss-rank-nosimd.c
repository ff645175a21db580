// test-loss-rank with the scalar fallback: the AVX-512 scan/compaction paths and the portable
// ones must give the same answers. Linked with the implementation compiled with -DALRP_NO_SIMD
// (the Makefile does that for every tests/*-nosimd.c).
#include "test-loss-rank.c"
