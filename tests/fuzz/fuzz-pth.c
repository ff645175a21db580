// libFuzzer harness for the .pth reader (detector/weights-pth.c) and the name maps
// (detector/weights-map.c). Not part of make test.
//
//     clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I. tests/fuzz/fuzz-pth.c -o /tmp/fuzz-pth -lm -lpthread
//     mkdir -p /tmp/fuzz-pth-corpus
//     /tmp/fuzz-pth -dict=tests/fuzz/pth.dict -max_len=8192 -max_total_time=600 /tmp/fuzz-pth-corpus tests/fuzz/corpus-pth
//
// The input is a whole file, loaded with pth_load_buffer. A failure must leave a one-line
// message that starts with the label (also with a short err buffer). When it loads: every
// tensor has numel = the product of its shape, nbytes = numel x its dtype's size, a name of
// 1..127 bytes with no NUL, and is found by pth_get; its data is read in full (alrp_st_to_f32,
// or a byte sum for BOOL), so AddressSanitizer sees any read outside the input; the name maps
// and the source guess run on the names.
// Seeds (tests/fuzz/corpus-pth, written by tools/gen-ref-pth.py --seeds): a zip and a legacy
// state dict (F32, F16, I64, a 0-d and a transposed tensor), the 'module.' prefix, mmdetection's
// wrapper with numpy objects in its meta, a numpy array as a value, a short storage.
#define ALRP_IMPLEMENTATION
#include "alrp.h"
#include "../../detector/weights-pth.c"
#include "../../detector/weights-map.c"
#include "../one-line.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_ASSERT(c) do { if (!(c)) { fprintf(stderr, "assertion failed: %s (line %d)\n", #c, __LINE__); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    char err[512], small[24];
    struct pth_file * f = pth_load_buffer(data, size, "in.pth", err, sizeof err);
    struct pth_file * g = pth_load_buffer(data, size, "in.pth", small, sizeof small);
    FUZZ_ASSERT((f == NULL) == (g == NULL));
    pth_close(g);
    if (!f) {
        FUZZ_ASSERT(err[0] && one_line(err) && strncmp(err, "in.pth: ", 8) == 0);
        FUZZ_ASSERT(strlen(small) < sizeof small && strncmp(err, small, strlen(small)) == 0);
        return 0;
    }
    const int n = pth_count(f);
    FUZZ_ASSERT(n > 0);
    const char ** names = (const char **) malloc(sizeof(char *) * (size_t) n);
    FUZZ_ASSERT(names);
    for (int i = 0; i < n; i++) {
        const struct alrp_st_tensor * t = pth_at(f, i);
        size_t len = strlen(t->name);
        FUZZ_ASSERT(len > 0 && len < ALRP_ST_MAX_NAME);
        FUZZ_ASSERT(pth_get(f, t->name) == t);
        int64_t numel = 1;
        for (int d = 0; d < t->n_dims; d++) { FUZZ_ASSERT(t->shape[d] >= 0); numel *= t->shape[d]; }
        FUZZ_ASSERT(numel == t->numel && (int64_t) t->nbytes == numel * alrp_st_dtype_size(t->dtype));
        if (numel > 0 && numel <= (1 << 22)) {
            if (strcmp(t->dtype, "BOOL") == 0) {
                unsigned s = 0;
                for (size_t k = 0; k < t->nbytes; k++) s += ((const uint8_t *) t->data)[k];
                (void) s;
            } else {
                float * v = (float *) malloc(sizeof(float) * (size_t) numel);
                FUZZ_ASSERT(v && alrp_st_to_f32(t, v) == 0);
                free(v);
            }
        }
        names[i] = t->name;
        char ours[ALRP_ST_MAX_NAME];
        for (int s = 0; s < 4; s++) (void) wmap_name((enum wmap_source) s, t->name, ours, sizeof ours);
    }
    (void) wmap_guess(n, names);
    if (wmap_check_arch(n, names, "in.pth", err, sizeof err)) FUZZ_ASSERT(one_line(err));
    struct pth_info in;
    pth_get_info(f, &in);
    free(names);
    pth_close(f);
    return 0;
}
