// detector/model-anchors: the presets, hand-computed base anchors, the order (level, row,
// column, base anchor), feature sizes, bad configs, and equality with the PyTorch re-implementation
// of mmdetection's AnchorGenerator (tests/data/detector-host.safetensors, written by
// tools/gen-ref-detector.py): all anchors of a tiny pyramid for every preset, and 128 sampled
// anchors of full-size pyramids (512 x 512, 800 x 1216).
#include "alrp.h"
#include "../detector/model-anchors.c"
#include "detector-ref.h"

static void test_presets(void) {
    struct anchors_config c;
    const int counts[4] = { 6, 2, 3, 9 };
    for (int i = 0; i < 4; i++) {
        int ok = anchors_config_preset(&c, counts[i]) == 0 && c.n_ratios * c.scales_per_octave == counts[i] &&
                 c.n_levels == 5 && c.strides[0] == 8 && c.strides[4] == 128 && c.octave_base_scale == 4.0f;
        char what[64];
        snprintf(what, sizeof(what), "preset %d anchors per location", counts[i]);
        check(what, ok);
    }
    check("preset 5 is refused", anchors_config_preset(&c, 5) == -1);
}

static void test_base(void) {
    struct anchors_config c;
    struct anchors a;
    char err[256];
    anchors_config_preset(&c, 6);
    const int fh[5] = { 2, 1, 1, 1, 1 }, fw[5] = { 3, 1, 1, 1, 1 };
    int ok = anchors_init(&a, &c, fh, fw, err, sizeof(err)) == 0;
    check("init 6 anchors on a 2 x 3 / 1 x 1 pyramid", ok);
    if (!ok) { puts(err); return; }
    check("count and offsets", a.n == (6 + 4) * 6 && a.offset[1] == 36 && a.offset[5] == 60 && a.per_loc == 6);
    // P3, ratio 0.5 (h / w), scale 4: w = 8 * sqrt(2) * 4, h = 8 / sqrt(2) * 4; ratio outer, scale inner
    const double s2 = sqrt(2.0);
    const double want[6][2] = {   // (w, h) of base anchors 0..5
        { 32 * s2, 16 * s2 }, { 32 * s2 * s2, 16 * s2 * s2 },
        { 32, 32 },           { 32 * s2, 32 * s2 },
        { 16 * s2, 32 * s2 }, { 16 * s2 * s2, 32 * s2 * s2 },
    };
    double worst = 0;
    for (int k = 0; k < 6; k++) {
        const float * b = a.base[0][k];
        worst = fmax(worst, fabs(b[0] + want[k][0] / 2)); worst = fmax(worst, fabs(b[2] - want[k][0] / 2));
        worst = fmax(worst, fabs(b[1] + want[k][1] / 2)); worst = fmax(worst, fabs(b[3] - want[k][1] / 2));
    }
    check("P3 base anchors: ratio outer, scale inner, centred on 0", worst < 1e-4);
    // the anchor of (level 0, row 1, column 2, base 3) is base 3 shifted by (16, 8)
    const float * b = a.boxes + 4 * anchors_index(&a, 0, 1, 2, 3);
    check("order: row, column, base anchor; shift = stride * cell",
          anchors_index(&a, 0, 1, 2, 3) == (1 * 3 + 2) * 6 + 3 && b[0] == a.base[0][3][0] + 16.0f &&
          b[1] == a.base[0][3][1] + 8.0f && b[2] == a.base[0][3][2] + 16.0f && b[3] == a.base[0][3][3] + 8.0f);
    const float * ct = a.centres + 2 * anchors_index(&a, 0, 1, 2, 3);
    check("centre offset 0: centres on the cell's top-left corner", fabsf(ct[0] - 16.0f) < 1e-5f && fabsf(ct[1] - 8.0f) < 1e-5f);
    // P7 has one cell at (0, 0): a 512 x 512 base anchor there (ratio 1, scale 4)
    const float * p7 = a.boxes + 4 * anchors_index(&a, 4, 0, 0, 2);
    check("P7 ratio 1 scale 4 anchor is (-256, -256, 256, 256)", p7[0] == -256.0f && p7[1] == -256.0f && p7[2] == 256.0f && p7[3] == 256.0f);
    int planes_ok = 1;
    for (int64_t i = 0; i < a.n; i++) {
        for (int q = 0; q < 4; q++) planes_ok &= a.planes[q * a.n + i] == a.boxes[4 * i + q];
        const float * o = a.boxes + 4 * i;
        planes_ok &= a.planes[4 * a.n + i] == (o[2] - o[0]) * (o[3] - o[1]);
    }
    check("planes hold the same coordinates and the areas", planes_ok);
    anchors_free(&a);
}

static void test_sizes(void) {
    check("feature sizes: 512 -> 64 32 16 8 4",
          anchors_feat_size(512, 8) == 64 && anchors_feat_size(512, 32) == 16 && anchors_feat_size(512, 128) == 4);
    check("feature sizes: 800 -> 100 50 25 13 7 (ceil)",
          anchors_feat_size(800, 8) == 100 && anchors_feat_size(800, 32) == 25 && anchors_feat_size(800, 64) == 13 &&
          anchors_feat_size(800, 128) == 7);
    struct anchors_config c;
    struct anchors a;
    char err[256];
    anchors_config_preset(&c, 9);
    int ok = anchors_init_image(&a, &c, 512, 512, err, sizeof(err)) == 0;
    check("512 x 512, 9 per location: 49104 anchors", ok && a.n == 49104);
    if (ok) anchors_free(&a);
    anchors_config_preset(&c, 2);
    ok = anchors_init_image(&a, &c, 512, 512, err, sizeof(err)) == 0;
    check("512 x 512, 2 per location: 10912 anchors", ok && a.n == 10912);
    if (ok) anchors_free(&a);
}

static void test_bad(void) {
    struct anchors_config c;
    struct anchors a;
    char err[256] = "";
    anchors_config_preset(&c, 6);
    const int fh[5] = { 2, 1, 0, 1, 1 }, fw[5] = { 3, 1, 1, 1, 1 };
    check("a 0 x 1 level is refused with a message", anchors_init(&a, &c, fh, fw, err, sizeof(err)) == -1 && strstr(err, "level 2"));
    printf("     (%s)\n", err);
    c.n_levels = 0;
    check("0 levels are refused", anchors_init_image(&a, &c, 64, 64, err, sizeof(err)) == -1);
    anchors_config_preset(&c, 6);
    c.ratios[1] = -1.0f;
    check("a negative ratio is refused", anchors_init_image(&a, &c, 64, 64, err, sizeof(err)) == -1);
    anchors_config_preset(&c, 6);
    c.strides[3] = 0;
    check("stride 0 is refused", anchors_init_image(&a, &c, 64, 64, err, sizeof(err)) == -1);
    anchors_config_preset(&c, 6);
    check("a 0 x 64 image is refused", anchors_init_image(&a, &c, 0, 64, err, sizeof(err)) == -1);
    c.scales_per_octave = 9;
    check("27 anchors per location are refused", anchors_init_image(&a, &c, 64, 64, err, sizeof(err)) == -1);
}

// max |got - want| over all values, relative to the largest |want|
static double rel_to_largest(const float * got, const float * want, int64_t n) {
    double big = 0, worst = 0;
    for (int64_t i = 0; i < n; i++) big = fmax(big, fabs((double) want[i]));
    for (int64_t i = 0; i < n; i++) worst = fmax(worst, fabs((double) got[i] - (double) want[i]));
    return worst / fmax(big, 1.0);
}

static void test_reference(void) {
    const int counts[4] = { 6, 2, 3, 9 };
    const int th[5] = { 3, 2, 1, 1, 1 }, tw[5] = { 4, 2, 2, 1, 1 };
    char name[96], what[128], err[256];
    for (int i = 0; i < 4; i++) {
        struct anchors_config c;
        struct anchors a;
        anchors_config_preset(&c, counts[i]);
        if (anchors_init(&a, &c, th, tw, err, sizeof(err))) { check(err, 0); continue; }
        snprintf(name, sizeof(name), "anchors.tiny.%d", counts[i]);
        int64_t n;
        float * want = ref_f32(name, &n);
        const int same_n = n == 4 * a.n;
        const double e = same_n ? rel_to_largest(a.boxes, want, n) : INFINITY;
        const int exact = same_n && memcmp(a.boxes, want, sizeof(float) * (size_t) n) == 0;
        snprintf(what, sizeof(what), "tiny pyramid, %d per location: %lld anchors, err %.2g of the largest%s",
                 counts[i], (long long) a.n, e, exact ? ", bit for bit" : "");
        check(what, e <= 1e-4);
        free(want);
        anchors_free(&a);
    }
    const struct { int per_loc, h, w; } big[4] = { { 6, 512, 512 }, { 2, 512, 512 }, { 9, 512, 512 }, { 3, 800, 1216 } };
    for (int i = 0; i < 4; i++) {
        struct anchors_config c;
        struct anchors a;
        anchors_config_preset(&c, big[i].per_loc);
        if (anchors_init_image(&a, &c, big[i].h, big[i].w, err, sizeof(err))) { check(err, 0); continue; }
        int64_t m, nb;
        snprintf(name, sizeof(name), "anchors.big.%d.n", big[i].per_loc);
        float * want_n = ref_f32(name, NULL);
        snprintf(name, sizeof(name), "anchors.big.%d.idx", big[i].per_loc);
        int64_t * idx = ref_i64(name, &m);
        snprintf(name, sizeof(name), "anchors.big.%d.boxes", big[i].per_loc);
        float * want = ref_f32(name, &nb);
        float * got = (float *) malloc(sizeof(float) * 4 * (size_t) m);
        int in_range = nb == 4 * m && (int64_t) want_n[0] == a.n;
        for (int64_t j = 0; in_range && j < m; j++) {
            in_range = idx[j] >= 0 && idx[j] < a.n;
            if (in_range) memcpy(got + 4 * j, a.boxes + 4 * idx[j], sizeof(float) * 4);
        }
        const double e = in_range ? rel_to_largest(got, want, 4 * m) : INFINITY;
        const int exact = in_range && memcmp(got, want, sizeof(float) * 4 * (size_t) m) == 0;
        snprintf(what, sizeof(what), "%d x %d, %d per location: %lld anchors, %lld sampled, err %.2g%s", big[i].h, big[i].w,
                 big[i].per_loc, (long long) a.n, (long long) m, e, exact ? ", bit for bit" : "");
        check(what, e <= 1e-4);
        free(want_n);
        free(idx);
        free(want);
        free(got);
        anchors_free(&a);
    }
}

int main(void) {
    ref_open();
    test_presets();
    test_base();
    test_sizes();
    test_bad();
    test_reference();
    return finish("test-anchors");
}
