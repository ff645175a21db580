// test-parity with the scalar fallback of the SIMD layer (ALRP_NO_SIMD): the same checks.
#define ALRP_NO_SIMD
#include "test-parity.c"
