// test-loss-rank with the scalar fallback (ALRP_NO_SIMD): the AVX-512 scan/compaction paths and
// the portable ones must give the same answers.
#define ALRP_NO_SIMD
#include "test-loss-rank.c"
