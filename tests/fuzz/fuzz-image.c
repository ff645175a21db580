// libFuzzer harness for detector/data-image (stb_image decoding and the test-time input rule).
// Not part of make test.
//
//     clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I. \
//           tests/fuzz/fuzz-image.c -o /tmp/fuzz-image -lm -lpthread
//     mkdir -p /tmp/fuzz-image-corpus
//     /tmp/fuzz-image -max_len=20000 -rss_limit_mb=2048 -max_total_time=600 -jobs=1 \
//           /tmp/fuzz-image-corpus tests/fuzz/seeds-image
//
// The input is a file: image_decode must either fail with one NUL-terminated line naming the
// file (no newline) and leave an empty image, or give a w x h RGB image (w, h >= 1, at most
// IMAGE_MAX_PIXELS). A decoded image then goes through image_test_geom (short side 24, long
// side <= 40, pad 8) and image_to_input, whose output must be finite, zero in the padding,
// and within the normalised range of 0..255.
//
// Runs so far (clang 14, -jobs=1, from the seeds of tests/fuzz/seeds-image, one shared corpus;
// each of the first five ended on a finding in stb_image 2.27, now guarded in data-image.c):
// Huffman table > 256 codes (twice: via stbi_info, and via FF fill bytes before D8), a
// non-printable failure reason, an int overflow in a PNM header, a 16-bit PNM read past its
// buffer, a NULL + 0 on an empty PNG IDAT (the fifth run: 131,800 runs, cov 1039, ft 2797).
// The last run, with every guard: "Done 42288 runs in 724 second(s)", cov 1063, ft 2917, corpus
// 609 / 169 KB, no finding; the process was stopped from outside for part of that time, so it
// ran about 150 s. Then a 10-minute run: 55,454 runs (cov 1101, ft 3024) until a 119-byte PNG
// whose IDAT claims 4 GB made stb grow its buffer to 2 GB (libFuzzer's out-of-memory; the seed
// png-chunk-too-long.png); refused up front now. On that code: 241 s, 76,887 runs, cov 1120,
// ft 3110, no finding. The final 10-minute run on that code (2026-12-02, one core to itself):
// "Done 210611 runs in 661 second(s)", cov 1129, ft 3262, corpus 725 / 184 KB, no finding.
#define IMAGE_MAX_PIXELS (1 << 20)   // 1 M pixels: keeps runs fast (the checks are the same)
#include "../../detector/data-image.c"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_ASSERT(c) do { if (!(c)) { fprintf(stderr, "assertion failed: %s (line %d)\n", #c, __LINE__); abort(); } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    struct image im;
    char err[256];
    memset(err, 'x', sizeof(err));
    int rc = image_decode(data, size, "fuzz.img", &im, err, sizeof(err));
    FUZZ_ASSERT(rc == 0 || rc == -1);
    if (rc != 0) {
        const char * z = memchr(err, '\0', sizeof(err));
        FUZZ_ASSERT(z != NULL);
        FUZZ_ASSERT(strchr(err, '\n') == NULL);
        FUZZ_ASSERT(strncmp(err, "fuzz.img: ", 10) == 0);
        FUZZ_ASSERT(im.rgb == NULL && im.w == 0 && im.h == 0);
        return 0;
    }
    FUZZ_ASSERT(im.rgb != NULL && im.w >= 1 && im.h >= 1 && (int64_t) im.w * im.h <= IMAGE_MAX_PIXELS);
    volatile unsigned sum = 0;   // touch every byte (ASan checks the buffer's size)
    for (size_t i = 0; i < (size_t) im.w * im.h * 3; i++) sum += im.rgb[i];
    struct test_geom g;
    image_test_geom(im.w, im.h, 24, 40, 8, &g);
    FUZZ_ASSERT(g.rw >= 1 && g.rh >= 1 && g.rw <= 40 && g.rh <= 40 && g.pw % 8 == 0 && g.ph % 8 == 0);
    FUZZ_ASSERT(g.pw >= g.rw && g.ph >= g.rh && g.pw < g.rw + 8 && g.ph < g.rh + 8);
    struct image_norm nm;
    image_norm_default(&nm);
    float * x = (float *) malloc(sizeof(float) * 3 * (size_t) g.pw * g.ph);
    FUZZ_ASSERT(x != NULL);
    FUZZ_ASSERT(image_to_input(&im, &g, &nm, x) == 0);
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < g.ph; y++)
            for (int xx = 0; xx < g.pw; xx++) {
                float v = x[((size_t) c * g.ph + y) * g.pw + xx];
                FUZZ_ASSERT(isfinite(v));
                if (y >= g.rh || xx >= g.rw) FUZZ_ASSERT(v == 0.0f);
                else FUZZ_ASSERT(v >= (0.0f - nm.mean[c]) / nm.std[c] - 1e-3f && v <= (255.0f - nm.mean[c]) / nm.std[c] + 1e-3f);
            }
    free(x);
    image_free(&im);
    return 0;
}
