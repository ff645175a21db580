// detector/model-boxes and model-post: clipping, rescaling, NMS and RetinaNet's post-processing.
//   1. hand-made NMS cases: IoU exactly at the threshold is kept (> suppresses), score ties in
//      index order, zero-area boxes, classes that do not suppress each other;
//   2. the class-by-class batched NMS against the all-pairs offset trick on random boxes;
//   3. the PyTorch references (tests/data/detector-host.safetensors): torchvision.ops.nms
//      indices at three thresholds, mmcv's batched_nms (and with negative coordinates), and
//      mmdetection's get_bboxes on a 128 x 96 image (classes exact, scores and boxes to 1e-4);
//   4. post-processing edge cases and bad input.
#include "alrp.h"
#include "../detector/model-anchors.c"
#include "../detector/model-boxes.c"
#include "../detector/model-post.c"
#include "detector-ref.h"

static char err[512];

static int same_keep(const int64_t * got, int64_t n_got, const int64_t * want, int64_t n_want) {
    return n_got == n_want && (n_got <= 0 || memcmp(got, want, sizeof(int64_t) * (size_t) n_got) == 0);
}

static void test_boxes_hand(void) {
    float b[8] = { -5, 3, 140, 90, 10, -2, 20, 200 };
    boxes_clip(2, b, 128, 96);
    check("clip: x to [0, w], y to [0, h]", b[0] == 0 && b[1] == 3 && b[2] == 128 && b[3] == 90 && b[5] == 0 && b[7] == 96);
    boxes_rescale(2, b, 0.5f, 0.25f);
    check("rescale: x / scale_w, y / scale_h", b[2] == 256 && b[3] == 360 && b[4] == 20 && b[7] == 384);
    const float anchor[4] = { 0, 0, 32, 16 }, big[4] = { 0, 0, 0, 25.0f };   // dh = 25 * 0.2, beyond the clamp
    const float stds[4] = { 0.1f, 0.1f, 0.2f, 0.2f };
    float o[4];
    boxes_decode(1, anchor, big, stds, o);
    const float h = (float) (16.0 * exp(4.135166556742356));
    check("decode clamps dh at ln(1000 / 16)", fabsf((o[3] - o[1]) - h) < 1e-2f && fabsf(o[0] - 0.0f) < 1e-5f);
}

static void test_nms_hand(void) {
    // IoU of boxes 0 and 1 is exactly 0.5: kept at 0.5, suppressed at 0.49
    const float b[16] = { 0, 0, 10, 10,   0, 0, 10, 5,   20, 20, 30, 30,   20, 20, 30, 30 };
    const float s[4] = { 0.9f, 0.8f, 0.5f, 0.5f };
    int64_t keep[4];
    int64_t n = boxes_nms(4, b, s, 0.5, keep, err, sizeof(err));
    const int64_t w1[3] = { 0, 1, 2 };
    check("NMS: IoU exactly 0.5 is not suppressed at 0.5; identical boxes with tied scores: the lower index", same_keep(keep, n, w1, 3));
    n = boxes_nms(4, b, s, 0.49, keep, err, sizeof(err));
    const int64_t w2[2] = { 0, 2 };
    check("  suppressed at 0.49", same_keep(keep, n, w2, 2));
    const float z[8] = { 5, 5, 5, 9,   5, 5, 5, 9 };
    const float zs[2] = { 0.3f, 0.7f };
    n = boxes_nms(2, z, zs, 0.5, keep, err, sizeof(err));
    const int64_t w3[2] = { 1, 0 };
    check("NMS: two zero-area boxes (0 / 0) do not suppress each other; score order", same_keep(keep, n, w3, 2));
    const int32_t cls[4] = { 0, 1, 2, 2 };
    n = boxes_nms_batched(4, b, s, cls, 0.3, keep, err, sizeof(err));
    const int64_t w4[3] = { 0, 1, 2 };
    check("batched NMS: overlapping boxes of different classes are both kept", same_keep(keep, n, w4, 3));
    check("NMS of nothing: 0", boxes_nms(0, NULL, NULL, 0.5, NULL, err, sizeof(err)) == 0);
}

static void test_batched_random(void) {
    int all_ok = 1, n_cases = 0;
    for (int rep = 0; rep < 40; rep++) {
        const int n = 1 + (int) (rng_uniform() * 400);
        const int n_cls = 1 + (int) (rng_uniform() * 12);
        const double shift = rep % 4 == 3 ? -50.0 : 0.0;       // every 4th case: negative coordinates
        float * b = (float *) malloc(sizeof(float) * 4 * (size_t) n), * s = (float *) malloc(sizeof(float) * (size_t) n);
        int32_t * c = (int32_t *) malloc(sizeof(int32_t) * (size_t) n);
        int64_t * k1 = (int64_t *) malloc(sizeof(int64_t) * (size_t) n), * k2 = (int64_t *) malloc(sizeof(int64_t) * (size_t) n);
        for (int i = 0; i < n; i++) {
            const double x = shift + rng_uniform() * 100, y = shift + rng_uniform() * 100;
            const double w = 2 + rng_uniform() * 40, h = 2 + rng_uniform() * 40;
            b[4 * i + 0] = (float) x; b[4 * i + 1] = (float) y; b[4 * i + 2] = (float) (x + w); b[4 * i + 3] = (float) (y + h);
            s[i] = (float) (floor(rng_uniform() * 30) / 30);      // ties
            c[i] = (int32_t) (rng_uniform() * n_cls);
        }
        const double thr = 0.3 + 0.4 * rng_uniform();
        const int64_t m1 = boxes_nms_batched(n, b, s, c, thr, k1, err, sizeof(err));
        const int64_t m2 = boxes_nms_batched_naive(n, b, s, c, thr, k2, err, sizeof(err));
        all_ok &= m1 >= 0 && same_keep(k1, m1, k2, m2);
        // the early-stopping form gives the first max_keep of the same list
        const int64_t max_keep = 1 + (int64_t) (rng_uniform() * (double) (m1 + 2));
        const int64_t m3 = boxes_nms_batched_top(n, b, s, c, thr, max_keep, k2, err, sizeof(err));
        all_ok &= m3 == (m1 < max_keep ? m1 : max_keep) && same_keep(k1, m3, k2, m3);
        n_cases++;
        free(b); free(s); free(c); free(k1); free(k2);
    }
    char what[128];
    snprintf(what, sizeof(what), "batched NMS class by class = all-pairs offset trick, %d random cases", n_cases);
    check(what, all_ok);
}

static void test_reference_nms(void) {
    int64_t nb, ns, nc, m;
    float * b = ref_f32("nms.boxes", &nb), * s = ref_f32("nms.scores", &ns), * neg = ref_f32("nms.neg_boxes", NULL);
    int64_t * cls64 = ref_i64("nms.classes", &nc);
    const int64_t n = nb / 4;
    int64_t * keep = (int64_t *) malloc(sizeof(int64_t) * (size_t) n);
    int32_t * cls = (int32_t *) malloc(sizeof(int32_t) * (size_t) n);
    for (int64_t i = 0; i < n; i++) cls[i] = (int32_t) cls64[i];
    const double thrs[3] = { 0.5, 0.3, 0.7 };
    char key[64], what[128];
    for (int t = 0; t < 3; t++) {
        snprintf(key, sizeof(key), "nms.keep.%g", thrs[t]);
        int64_t * want = ref_i64(key, &m);
        const int64_t got = boxes_nms(n, b, s, thrs[t], keep, err, sizeof(err));
        snprintf(what, sizeof(what), "NMS at %g = torchvision.ops.nms indices (%lld of %lld kept, tied scores)", thrs[t], (long long) m, (long long) n);
        check(what, same_keep(keep, got, want, m));
        free(want);
    }
    int64_t * want = ref_i64("nms.batched.keep", &m);
    int64_t got = boxes_nms_batched(n, b, s, cls, 0.5, keep, err, sizeof(err));
    snprintf(what, sizeof(what), "batched NMS at 0.5 = mmcv's batched_nms (%lld kept)", (long long) m);
    check(what, same_keep(keep, got, want, m));
    free(want);
    want = ref_i64("nms.batched_neg.keep", &m);
    got = boxes_nms_batched(n, neg, s, cls, 0.5, keep, err, sizeof(err));
    snprintf(what, sizeof(what), "  with negative coordinates (classes may overlap; %lld kept)", (long long) m);
    check(what, same_keep(keep, got, want, m));
    free(want);
    free(b); free(s); free(neg); free(cls64); free(keep); free(cls);
}

static void test_reference_post(void) {
    struct anchors_config c;
    struct anchors a;
    anchors_config_preset(&c, 6);
    if (anchors_init_image(&a, &c, 96, 128, err, sizeof(err))) { check(err, 0); return; }
    int64_t nl, nd;
    float * logits = ref_f32("post.logits", &nl), * deltas = ref_f32("post.deltas", &nd);
    const int C = (int) (nl / a.n);
    check("post: reference logits are (anchors, classes)", nl == a.n * C && nd == 4 * a.n);
    const char * cases[2] = { "a", "b" };
    for (int ci = 0; ci < 2; ci++) {
        char key[64], what[160];
        snprintf(key, sizeof(key), "post.%s.params", cases[ci]);
        float * prm = ref_f32(key, NULL);
        struct post_params p;
        post_params_default(&p);
        p.nms_pre = (int) prm[0];
        p.score_thr = prm[1];
        p.nms_iou = (double) prm[2];
        p.max_per_img = (int) prm[3];
        int64_t m, ms, mb;
        snprintf(key, sizeof(key), "post.%s.classes", cases[ci]);
        int64_t * want_c = ref_i64(key, &m);
        snprintf(key, sizeof(key), "post.%s.scores", cases[ci]);
        float * want_s = ref_f32(key, &ms);
        snprintf(key, sizeof(key), "post.%s.boxes", cases[ci]);
        float * want_b = ref_f32(key, &mb);
        struct det_detection * out = (struct det_detection *) malloc(sizeof(struct det_detection) * (size_t) p.max_per_img);
        const int n = post_detect(&a, C, logits, deltas, prm[4], prm[5], prm[6], prm[7], &p, out, err, sizeof(err));
        if (n < 0) { check(err, 0); continue; }
        int cls_ok = n == m;
        float * got_s = (float *) malloc(sizeof(float) * (size_t) (n + 1)), * got_b = (float *) malloc(sizeof(float) * 4 * (size_t) (n + 1));
        for (int i = 0; i < n && cls_ok; i++) {
            cls_ok &= out[i].cls == (int32_t) want_c[i];
            got_s[i] = out[i].score;
            memcpy(got_b + 4 * i, out[i].box, sizeof(float) * 4);
        }
        snprintf(what, sizeof(what), "post %s (nms_pre %d, score > %g, NMS %g, max %d): %d detections, classes = mmdet's get_bboxes",
                 cases[ci], p.nms_pre, (double) p.score_thr, p.nms_iou, p.max_per_img, n);
        check(what, cls_ok);
        if (cls_ok) {
            snprintf(what, sizeof(what), "post %s: scores", cases[ci]);
            check_close(what, got_s, want_s, n, 1e-4);
            snprintf(what, sizeof(what), "post %s: boxes in the original image", cases[ci]);
            check_close(what, got_b, want_b, 4 * (int64_t) n, 1e-4);
        }
        int sorted = 1;
        for (int i = 1; i < n; i++) sorted &= out[i - 1].score >= out[i].score;
        snprintf(what, sizeof(what), "post %s: detections in descending score order", cases[ci]);
        check(what, sorted);
        free(prm); free(want_c); free(want_s); free(want_b); free(out); free(got_s); free(got_b);
    }

    // all scores below the threshold: no detection; a NaN logit: an error
    float * low = (float *) malloc(sizeof(float) * (size_t) nl);
    for (int64_t i = 0; i < nl; i++) low[i] = -10.0f;
    struct post_params p;
    post_params_default(&p);
    struct det_detection out[100];
    check("post: every score below 0.05 gives no detection", post_detect(&a, C, low, deltas, 128, 96, 1, 1, &p, out, err, sizeof(err)) == 0);
    low[77] = NAN;
    check("post: a NaN logit is refused with a message", post_detect(&a, C, low, deltas, 128, 96, 1, 1, &p, out, err, sizeof(err)) == -1 && strstr(err, "NaN"));
    printf("     (%s)\n", err);
    check("post: a zero scale factor is refused", post_detect(&a, C, logits, deltas, 128, 96, 0, 1, &p, out, err, sizeof(err)) == -1);
    // one strong anchor: one detection, its box decoded, clipped and rescaled
    for (int64_t i = 0; i < nl; i++) low[i] = -10.0f;
    const int64_t k = anchors_index(&a, 0, 5, 7, 2);   // P3, (56, 40), 32 x 32
    low[k * C + 3] = 2.0f;
    float * zero = (float *) calloc((size_t) nd, sizeof(float));
    const int n1 = post_detect(&a, C, low, zero, 128, 96, 0.5f, 0.5f, &p, out, err, sizeof(err));
    check("post: one anchor above the threshold: its anchor box (deltas 0), class 3, rescaled by 1 / 0.5",
          n1 == 1 && out[0].cls == 3 && fabsf(out[0].score - 1.0f / (1.0f + expf(-2.0f))) < 1e-6f &&
          fabsf(out[0].box[0] - 80) < 1e-4f && fabsf(out[0].box[1] - 48) < 1e-4f && fabsf(out[0].box[2] - 144) < 1e-4f &&
          fabsf(out[0].box[3] - 112) < 1e-4f);
    free(low); free(zero); free(logits); free(deltas);
    anchors_free(&a);
}

static void test_bad(void) {
    const float b[4] = { 0, 0, NAN, 1 }, s[1] = { 0.5f };
    int64_t keep[1];
    check("NMS: a NaN coordinate is refused with a message", boxes_nms(1, b, s, 0.5, keep, err, sizeof(err)) == -1 && strstr(err, "box 0"));
    printf("     (%s)\n", err);
    const float b2[4] = { 0, 0, 1, 1 };
    const int32_t c[1] = { -1 };
    check("batched NMS: a negative class is refused", boxes_nms_batched(1, b2, s, c, 0.5, keep, err, sizeof(err)) == -1);
    check("NMS: a negative count is refused", boxes_nms(-2, b2, s, 0.5, keep, err, sizeof(err)) == -1);
}

int main(void) {
    ref_open();
    test_boxes_hand();
    test_nms_hand();
    test_batched_random();
    test_reference_nms();
    test_reference_post();
    test_bad();
    return finish("test-nms");
}
