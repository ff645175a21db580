// detector/data-assign: IoU, the MaxIoU and ATSS assigners and the training targets.
//   1. hand-made cases on a 4 x 4 grid of 32 x 32 anchors: MaxIoU's ignore band, a low-quality
//      match shared by two tied anchors (and the first-only variant), a later gt taking a shared
//      anchor, a degenerate gt (dropped by the targets; the raw assigner's overlap-nothing rule);
//      ATSS: a tie in distance for the last candidate, an anchor claimed by two gts, a gt smaller
//      than every anchor, a gt with no anchor centre inside;
//   2. fast against naive (bit for bit) on random gts over several pyramids;
//   3. the PyTorch references (tests/data/detector-host.safetensors): IoU and assignments exact,
//      delta targets to 1e-4;
//   4. bad input.
#include "alrp.h"
#include "../detector/model-anchors.c"
#include "../detector/data-assign.c"
#include "detector-ref.h"

static char err[512];

// a 1-level pyramid of feat x feat cells, stride 16, one 32 x 32 anchor per cell (centred on
// (16 x, 16 y)): anchor (x, y) is [16x - 16, 16y - 16, 16x + 16, 16y + 16], index y * feat + x
static void grid32(struct anchors * a, int feat) {
    struct anchors_config c;
    memset(&c, 0, sizeof(c));
    c.n_levels = 1;
    c.strides[0] = 16;
    c.octave_base_scale = 2.0f;
    c.scales_per_octave = 1;
    c.n_ratios = 1;
    c.ratios[0] = 1.0f;
    const int f[1] = { feat };
    if (anchors_init(a, &c, f, f, err, sizeof(err))) { puts(err); exit(1); }
}

// both MaxIoU versions on a; 1 if they agree; results in gt_ind
static int maxiou_both(const struct anchors * a, int n_gt, const float * gts, const struct assign_maxiou_params * p,
                       int32_t * gt_ind) {
    int32_t * naive = (int32_t *) malloc(sizeof(int32_t) * (size_t) a->n);
    float * m1 = (float *) malloc(sizeof(float) * (size_t) a->n), * m2 = (float *) malloc(sizeof(float) * (size_t) a->n);
    int ok = assign_maxiou(a, n_gt, gts, p, gt_ind, m1, err, sizeof(err)) == 0 &&
             assign_maxiou_naive(a->n, a->boxes, n_gt, gts, p, naive, m2, err, sizeof(err)) == 0 &&
             memcmp(gt_ind, naive, sizeof(int32_t) * (size_t) a->n) == 0 && memcmp(m1, m2, sizeof(float) * (size_t) a->n) == 0;
    free(naive); free(m1); free(m2);
    return ok;
}

static int atss_both(const struct anchors * a, int n_gt, const float * gts, int topk, int32_t * gt_ind) {
    int32_t * naive = (int32_t *) malloc(sizeof(int32_t) * (size_t) a->n);
    int ok = assign_atss(a, n_gt, gts, topk, gt_ind, err, sizeof(err)) == 0 &&
             assign_atss_naive(a->n, a->boxes, a->centres, a->n_levels, a->offset, n_gt, gts, topk, naive, err, sizeof(err)) == 0 &&
             memcmp(gt_ind, naive, sizeof(int32_t) * (size_t) a->n) == 0;
    free(naive);
    return ok;
}

// the anchors assigned to gt g, as a list
static int assigned_to(const struct anchors * a, const int32_t * gt_ind, int32_t g, int64_t * list, int cap) {
    int m = 0;
    for (int64_t k = 0; k < a->n; k++) if (gt_ind[k] == g) { if (m < cap) list[m] = k; m++; }
    return m;
}

static void test_iou_hand(void) {
    const float a[4] = { 0, 0, 10, 10 }, b[4] = { 5, 0, 15, 10 }, c[4] = { 10, 0, 20, 10 }, z[4] = { 3, 3, 3, 3 };
    check("IoU of half-overlapping squares is 1/3", assign_iou1(a, b) == 50.0f / 150.0f);
    check("touching boxes: IoU 0; a point box: IoU 0", assign_iou1(a, c) == 0.0f && assign_iou1(a, z) == 0.0f);
    check("two point boxes: 0 / eps = 0, not NaN", assign_iou1(z, z) == 0.0f);
}

static void test_maxiou_hand(void) {
    struct anchors a;
    grid32(&a, 4);
    struct assign_maxiou_params p;
    assign_maxiou_params_default(&p);
    int32_t gt_ind[16];
    int64_t list[16];

    // gt [0, 0, 36, 32]: anchor (1, 1) IoU 1024 / 1152 = 0.889 (positive); anchor (2, 1)
    // [16, 0, 48, 32]: 640 / 1536 = 0.417 (ignored); the others < 0.4 (negative)
    const float g1[4] = { 0, 0, 36, 32 };
    int ok = maxiou_both(&a, 1, g1, &p, gt_ind);
    check("MaxIoU ignore band: 0.889 positive, 0.417 ignored (fast = naive)",
          ok && gt_ind[5] == 0 && gt_ind[6] == ASSIGN_IGNORE && gt_ind[0] == ASSIGN_NEG && gt_ind[9] == ASSIGN_NEG &&
          assigned_to(&a, gt_ind, ASSIGN_IGNORE, list, 16) == 1);

    // gt [16, 8, 32, 24] (16 x 16, centred on (24, 16)): anchors (1, 1) and (2, 1) both contain it,
    // IoU 256 / 1024 = 0.25 each, its maximum: both positive (low-quality match, ties included)
    const float g2[4] = { 16, 8, 32, 24 };
    ok = maxiou_both(&a, 1, g2, &p, gt_ind);
    int m = assigned_to(&a, gt_ind, 0, list, 16);
    check("MaxIoU low-quality match shared by two tied anchors (0.25 each)", ok && m == 2 && list[0] == 5 && list[1] == 6);
    p.gt_max_assign_all = 0;
    ok = maxiou_both(&a, 1, g2, &p, gt_ind);
    m = assigned_to(&a, gt_ind, 0, list, 16);
    check("  gt_max_assign_all off: only the first tied anchor", ok && m == 1 && list[0] == 5);
    p.gt_max_assign_all = 1;
    p.match_low_quality = 0;
    ok = maxiou_both(&a, 1, g2, &p, gt_ind);
    check("  low-quality matching off: both negative", ok && assigned_to(&a, gt_ind, 0, list, 16) == 0 && gt_ind[5] == ASSIGN_NEG);
    p.match_low_quality = 1;

    // the same gt twice: the later one takes the anchors (gts in order, overwriting)
    const float g3[12] = { 16, 8, 32, 24, 0, 0, 36, 32, 16, 8, 32, 24 };
    ok = maxiou_both(&a, 3, g3, &p, gt_ind);
    check("MaxIoU: a duplicated gt; the later copy takes the shared anchors",
          ok && gt_ind[5] == 2 && gt_ind[6] == 2 && assigned_to(&a, gt_ind, 0, list, 16) == 0 && assigned_to(&a, gt_ind, 1, list, 16) == 0);
    // anchor 5 is 0.889 for gt 1 (step 1), then gt 2's low-quality match overwrites it
    check("  low-quality matching overwrites a step-1 positive", gt_ind[5] == 2);

    // a zero-area gt overlaps nothing: its max IoU is 0 and the raw assigner gives it every
    // anchor (mmdet's rule); the targets drop it before
    const float g4[8] = { 0, 0, 36, 32, 40, 40, 40, 50 };
    ok = maxiou_both(&a, 2, g4, &p, gt_ind);
    check("MaxIoU, raw: a zero-area gt takes every anchor (IoU 0 = its max)", ok && assigned_to(&a, gt_ind, 1, list, 16) == 16);
    struct assign_params tp;
    assign_params_default(&tp, ASSIGN_MAXIOU);
    int8_t labels[16 * 3];
    float deltas[16 * 4];
    const int32_t cls[2] = { 2, 1 };
    struct assign_stats st;
    ok = assign_targets(&a, 2, g4, cls, 3, &tp, labels, deltas, gt_ind, &st, err, sizeof(err)) == 0;
    check("targets drop the degenerate gt: gt 0 only, 1 positive, 1 ignored, 14 negative",
          ok && st.n_gt_kept == 1 && st.n_pos == 1 && st.n_ignore == 1 && st.n_neg == 14 && gt_ind[5] == 0 &&
          assigned_to(&a, gt_ind, 1, list, 16) == 0);
    int lab_ok = ok;
    for (int k = 0; k < 16 && lab_ok; k++) {
        for (int c = 0; c < 3; c++) {
            const int want = k == 6 ? -1 : (k == 5 && c == 2) ? 1 : 0;
            lab_ok &= labels[k * 3 + c] == want;
        }
    }
    check("  labels: 1 at (positive, its class), -1 on the ignored anchor's row, 0 elsewhere", lab_ok);
    // deltas of anchor 5 ([0,0,32,32]) to [0,0,36,32]: dx = 2/32/0.1, dy 0, dw = ln(36/32)/0.2, dh 0
    check("  delta target (stds 0.1 0.1 0.2 0.2) and zeros elsewhere",
          ok && fabsf(deltas[20] - 0.625f) < 1e-6f && deltas[21] == 0.0f && fabsf(deltas[22] - (float) (log(36.0 / 32.0) / 0.2)) < 1e-6f &&
          deltas[23] == 0.0f && deltas[0] == 0.0f && deltas[24] == 0.0f);
    ok = assign_targets(&a, 0, NULL, NULL, 3, &tp, labels, deltas, gt_ind, &st, err, sizeof(err)) == 0;
    check("targets with no gt: every anchor negative", ok && st.n_neg == 16 && st.n_pos == 0 && labels[15] == 0);
    anchors_free(&a);

    // a gt of 320 x 320 on a 24 x 24 grid: the 19 x 19 anchors inside it all have IoU
    // 1024 / 102400, its maximum: more ties than the first pass remembers
    grid32(&a, 24);
    int32_t * gi = (int32_t *) malloc(sizeof(int32_t) * (size_t) a.n);
    const float g5[4] = { 0, 0, 320, 320 };
    ok = maxiou_both(&a, 1, g5, &p, gi);
    int m5 = 0;
    for (int64_t k = 0; k < a.n; k++) m5 += gi[k] == 0;
    check("MaxIoU: 361 anchors tied at a gt's maximum all become positive (fast = naive)", ok && m5 == 361);
    p.gt_max_assign_all = 0;
    ok = maxiou_both(&a, 1, g5, &p, gi);
    check("  the first only: anchor (1, 1)", ok && gi[25] == 0 && gi[24] == ASSIGN_NEG && gi[26] == ASSIGN_NEG);
    free(gi);
    anchors_free(&a);
}

static void test_atss_hand(void) {
    struct anchors a;
    grid32(&a, 4);
    int32_t gt_ind[16];
    int64_t list[16];
    struct assign__cand top[16];

    // gt centre (16, 24): anchors (1, 1) and (1, 2) at distance 8, then four anchors at
    // sqrt(320): (1, 0) (y 0? no:) the cells (0, 1), (2, 1), (0, 2), (2, 2); topk 3 takes the
    // lowest index among the four, (x 0, y 1) = 4
    int len = assign__atss_level(&a, 0, 16.0f, 24.0f, 3, top);
    check("ATSS top-k: a 4-way tie in distance for the last slot goes to the lowest index",
          len == 3 && top[0].k == 5 && top[1].k == 9 && top[2].k == 4);
    len = assign__atss_level(&a, 0, 16.0f, 24.0f, 16, top);
    int sorted = len == 16;
    for (int i = 1; i < len; i++) sorted &= assign__cand_less(&top[i - 1], &top[i]);
    check("  topk >= the level: the whole level, by (distance, index)", sorted);

    // a gt smaller than every anchor: 4 x 4 around (16, 16), the centre of anchor 5: its IoU is
    // 16 / 1024 but above mean + std of the 9 candidates, and the centre is inside: positive
    const float g1[4] = { 14, 14, 18, 18 };
    int ok = atss_both(&a, 1, g1, 9, gt_ind);
    int m = assigned_to(&a, gt_ind, 0, list, 16);
    check("ATSS: a gt smaller than every anchor gets the anchor centred in it (fast = naive)", ok && m == 1 && list[0] == 5);
    // shifted so that anchor 5's centre is inside by 0.005 only (< the 0.01 margin): no positive
    const float g2[4] = { 15.995f, 14, 20, 18 };
    ok = atss_both(&a, 1, g2, 9, gt_ind);
    check("ATSS: no anchor centre inside the gt (margin 0.01): no positive", ok && assigned_to(&a, gt_ind, 0, list, 16) == 0);

    // two gts both taking anchor 5; the one with the higher IoU wins, the lower index on a tie
    const float g3[8] = { 4, 4, 28, 28, 2, 2, 30, 30 };   // IoU 576/1024 and 784/1024
    ok = atss_both(&a, 2, g3, 9, gt_ind);
    check("ATSS: an anchor claimed by two gts goes to the higher IoU", ok && gt_ind[5] == 1);
    const float g4[8] = { 4, 4, 28, 28, 4, 4, 28, 28 };
    ok = atss_both(&a, 2, g4, 9, gt_ind);
    check("  an exact tie goes to the lower gt index", ok && gt_ind[5] == 0 && assigned_to(&a, gt_ind, 1, list, 16) == 0);
    ok = atss_both(&a, 1, g1, 1, gt_ind);
    check("ATSS with a single candidate: no threshold (torch's std of one value is NaN), no positive",
          ok && assigned_to(&a, gt_ind, 0, list, 16) == 0);
    anchors_free(&a);
}

// ---- fast against naive on random gts --------------------------------------------------------

static void random_gts(int n_gt, float img_w, float img_h, float * gts) {
    for (int g = 0; g < n_gt; g++) {
        const double kind = rng_uniform();
        double w, h, x, y;
        if (kind < 0.1) { w = 1 + rng_uniform() * 4; h = 1 + rng_uniform() * 4; }          // tiny
        else if (kind < 0.2) { w = img_w * (0.6 + 0.6 * rng_uniform()); h = img_h * (0.6 + 0.6 * rng_uniform()); }  // huge
        else { w = 4 + rng_uniform() * img_w * 0.4; h = 4 + rng_uniform() * img_h * 0.4; }
        x = -0.2 * img_w + rng_uniform() * img_w * 1.3;
        y = -0.2 * img_h + rng_uniform() * img_h * 1.3;
        if (rng_uniform() < 0.15) { x = floor(x / 8) * 8; y = floor(y / 8) * 8; w = 8 * ceil(w / 8); h = 8 * ceil(h / 8); } // grid-aligned
        gts[4 * g + 0] = (float) x;
        gts[4 * g + 1] = (float) y;
        gts[4 * g + 2] = (float) (x + w);
        gts[4 * g + 3] = (float) (y + h);
    }
}

static void test_fast_vs_naive(void) {
    const struct { int per_loc, h, w, n_gt; } cases[] = {
        { 6, 192, 160, 20 }, { 6, 96, 320, 7 }, { 9, 160, 128, 40 }, { 2, 256, 192, 30 }, { 3, 200, 136, 25 },
        { 6, 64, 64, 1 }, { 2, 64, 96, 0 }, { 6, 320, 320, 100 },
    };
    for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
        struct anchors_config c;
        struct anchors a;
        anchors_config_preset(&c, cases[ci].per_loc);
        if (anchors_init_image(&a, &c, cases[ci].h, cases[ci].w, err, sizeof(err))) { check(err, 0); continue; }
        int best_ok = 1, maxiou_ok = 1, atss_ok = 1;
        for (int rep = 0; rep < 3; rep++) {
            const int n_gt = cases[ci].n_gt;
            float * gts = (float *) malloc(sizeof(float) * 4 * (size_t) (n_gt + 1));
            random_gts(n_gt, (float) cases[ci].w, (float) cases[ci].h, gts);
            float * b1 = (float *) malloc(sizeof(float) * (size_t) a.n), * b2 = (float *) malloc(sizeof(float) * (size_t) a.n);
            int32_t * g1 = (int32_t *) malloc(sizeof(int32_t) * (size_t) a.n), * g2 = (int32_t *) malloc(sizeof(int32_t) * (size_t) a.n);
            float * gb1 = (float *) malloc(sizeof(float) * (size_t) (n_gt + 1)), * gb2 = (float *) malloc(sizeof(float) * (size_t) (n_gt + 1));
            best_ok &= assign_best_iou(&a, n_gt, gts, b1, g1, gb1, err, sizeof(err)) == 0 &&
                       assign_best_iou_naive(a.n, a.boxes, n_gt, gts, b2, g2, gb2, err, sizeof(err)) == 0 &&
                       memcmp(b1, b2, sizeof(float) * (size_t) a.n) == 0 && memcmp(g1, g2, sizeof(int32_t) * (size_t) a.n) == 0 &&
                       memcmp(gb1, gb2, sizeof(float) * (size_t) n_gt) == 0;
            struct assign_maxiou_params p;
            assign_maxiou_params_default(&p);
            maxiou_ok &= maxiou_both(&a, n_gt, gts, &p, g1);
            p.gt_max_assign_all = 0;
            maxiou_ok &= maxiou_both(&a, n_gt, gts, &p, g1);
            atss_ok &= atss_both(&a, n_gt, gts, 9, g1);
            atss_ok &= atss_both(&a, n_gt, gts, 4, g1);
            free(gts); free(b1); free(b2); free(g1); free(g2); free(gb1); free(gb2);
        }
        char what[160];
        snprintf(what, sizeof(what), "fast = naive, %d per location, %d x %d (%lld anchors), %d gts x 3: best IoU%s, MaxIoU%s, ATSS%s",
                 cases[ci].per_loc, cases[ci].h, cases[ci].w, (long long) a.n, cases[ci].n_gt,
                 best_ok ? "" : " FAILS", maxiou_ok ? "" : " FAILS", atss_ok ? "" : " FAILS");
        check(what, best_ok && maxiou_ok && atss_ok);
        anchors_free(&a);
    }
}

// ---- the PyTorch references ------------------------------------------------------------------

static void test_reference_iou(void) {
    int64_t n1, n2, n;
    float * b1 = ref_f32("iou.boxes1", &n1), * b2 = ref_f32("iou.boxes2", &n2), * want = ref_f32("iou.iou", &n);
    float * got = (float *) malloc(sizeof(float) * (size_t) n);
    assign_iou(n1 / 4, b1, n2 / 4, b2, got);
    check("IoU matrix 16 x 24 = mmdet's bbox_overlaps bit for bit", n == (n1 / 4) * (n2 / 4) && memcmp(got, want, sizeof(float) * (size_t) n) == 0);
    free(b1); free(b2); free(want); free(got);
}

static void test_reference_assign(const char * name, enum assign_method method) {
    char key[96], what[160];
    snprintf(key, sizeof(key), "%s.params", name);
    float * prm = ref_f32(key, NULL);
    const int per_loc = (int) prm[0], h = (int) prm[1], w = (int) prm[2], n_classes = (int) prm[3];
    struct anchors_config c;
    struct anchors a;
    anchors_config_preset(&c, per_loc);
    if (anchors_init_image(&a, &c, h, w, err, sizeof(err))) { check(err, 0); free(prm); return; }
    int64_t n4, ng, nd, nc;
    snprintf(key, sizeof(key), "%s.gts", name);
    float * gts = ref_f32(key, &n4);
    snprintf(key, sizeof(key), "%s.classes", name);
    int64_t * cls64 = ref_i64(key, &nc);
    snprintf(key, sizeof(key), "%s.gt_ind", name);
    float * want = ref_f32(key, &ng);
    snprintf(key, sizeof(key), "%s.pos_deltas", name);
    float * want_d = ref_f32(key, &nd);
    const int n_gt = (int) (n4 / 4);
    int32_t * cls = (int32_t *) malloc(sizeof(int32_t) * (size_t) n_gt);
    for (int g = 0; g < n_gt; g++) cls[g] = (int32_t) cls64[g];
    int8_t * labels = (int8_t *) malloc((size_t) a.n * (size_t) n_classes);
    float * deltas = (float *) malloc(sizeof(float) * 4 * (size_t) a.n);
    int32_t * gt_ind = (int32_t *) malloc(sizeof(int32_t) * (size_t) a.n);
    float * pos_d = (float *) malloc(sizeof(float) * 4 * (size_t) a.n);
    for (int naive = 0; naive <= 1; naive++) {
        struct assign_params p;
        assign_params_default(&p, method);
        for (int i = 0; i < 4; i++) p.stds[i] = prm[4 + i];
        p.naive = naive;
        struct assign_stats st;
        if (assign_targets(&a, n_gt, gts, cls, n_classes, &p, labels, deltas, gt_ind, &st, err, sizeof(err))) { check(err, 0); continue; }
        int same = ng == a.n, lab_ok = 1;
        int64_t n_pos = 0, first_bad = -1;
        for (int64_t k = 0; k < a.n && same; k++) {
            if (gt_ind[k] != (int32_t) want[k] && first_bad < 0) first_bad = k;
            const int32_t gi = gt_ind[k];
            for (int q = 0; q < n_classes; q++) {
                const int8_t l = labels[k * n_classes + q];
                lab_ok &= gi == ASSIGN_IGNORE ? l == -1 : (gi >= 0 && q == cls[gi]) ? l == 1 : l == 0;
            }
            if (gi >= 0) { memcpy(pos_d + 4 * n_pos, deltas + 4 * k, sizeof(float) * 4); n_pos++; }
        }
        same &= first_bad < 0;
        snprintf(what, sizeof(what), "%s (%s): %lld anchors, %d gts: gt index per anchor = PyTorch (%lld positives, %lld ignored)",
                 name, naive ? "naive" : "fast", (long long) a.n, n_gt, (long long) st.n_pos, (long long) st.n_ignore);
        check(what, same);
        if (first_bad >= 0) printf("     first difference at anchor %lld: %d, want %d\n", (long long) first_bad, (int) gt_ind[first_bad], (int) want[first_bad]);
        snprintf(what, sizeof(what), "%s (%s): labels (n, %d) int8 follow the gt index", name, naive ? "naive" : "fast", n_classes);
        check(what, lab_ok);
        if (same && nd == 4 * n_pos) {
            snprintf(what, sizeof(what), "%s (%s): delta targets of the %lld positives", name, naive ? "naive" : "fast", (long long) n_pos);
            check_close(what, pos_d, want_d, nd, 1e-4);
        }
    }
    if (method == ASSIGN_MAXIOU) {
        // the best IoU per anchor over the kept gts
        int32_t * keep = (int32_t *) malloc(sizeof(int32_t) * (size_t) n_gt);
        float * kept = (float *) malloc(sizeof(float) * 4 * (size_t) n_gt);
        const int m = assign_keep_gts(n_gt, gts, keep, err, sizeof(err));
        for (int i = 0; i < m; i++) memcpy(kept + 4 * i, gts + 4 * keep[i], sizeof(float) * 4);
        snprintf(key, sizeof(key), "%s.max_iou", name);
        int64_t nm;
        float * want_m = ref_f32(key, &nm);
        float * got_m = (float *) malloc(sizeof(float) * (size_t) a.n);
        struct assign_maxiou_params p;
        assign_maxiou_params_default(&p);
        const int ok = assign_maxiou(&a, m, kept, &p, gt_ind, got_m, err, sizeof(err)) == 0 && nm == a.n &&
                       memcmp(got_m, want_m, sizeof(float) * (size_t) a.n) == 0;
        snprintf(what, sizeof(what), "%s: best IoU per anchor = PyTorch bit for bit (%d of %d gts kept)", name, m, n_gt);
        check(what, ok);
        free(keep); free(kept); free(want_m); free(got_m);
    }
    free(prm); free(gts); free(cls64); free(want); free(want_d); free(cls); free(labels); free(deltas); free(gt_ind); free(pos_d);
    anchors_free(&a);
}

static void test_bad(void) {
    struct anchors a;
    grid32(&a, 4);
    int32_t gt_ind[16];
    int8_t labels[16 * 2];
    float deltas[64];
    const float nan_gt[4] = { 0, 0, NAN, 10 };
    const float ok_gt[4] = { 0, 0, 20, 20 };
    struct assign_maxiou_params p;
    assign_maxiou_params_default(&p);
    check("a NaN gt is refused with a message", assign_maxiou(&a, 1, nan_gt, &p, gt_ind, NULL, err, sizeof(err)) == -1 && strstr(err, "ground truth 0"));
    printf("     (%s)\n", err);
    check("  also by ATSS and the naive versions",
          assign_atss(&a, 1, nan_gt, 9, gt_ind, err, sizeof(err)) == -1 &&
          assign_maxiou_naive(a.n, a.boxes, 1, nan_gt, &p, gt_ind, NULL, err, sizeof(err)) == -1 &&
          assign_atss_naive(a.n, a.boxes, a.centres, 1, a.offset, 1, nan_gt, 9, gt_ind, err, sizeof(err)) == -1);
    check("negative gt count is refused", assign_maxiou(&a, -1, ok_gt, &p, gt_ind, NULL, err, sizeof(err)) == -1);
    check("ATSS topk 0 is refused", assign_atss(&a, 1, ok_gt, 0, gt_ind, err, sizeof(err)) == -1);
    struct assign_params tp;
    assign_params_default(&tp, ASSIGN_ATSS);
    const int32_t bad_cls[1] = { 2 };
    check("a class out of range is refused", assign_targets(&a, 1, ok_gt, bad_cls, 2, &tp, labels, deltas, gt_ind, NULL, err, sizeof(err)) == -1);
    printf("     (%s)\n", err);
    p.neg_iou_thr = 0.6f;
    check("neg_iou_thr > pos_iou_thr is refused", assign_maxiou(&a, 1, ok_gt, &p, gt_ind, NULL, err, sizeof(err)) == -1);
    struct anchors empty;
    memset(&empty, 0, sizeof(empty));
    empty.n = 5;
    check("uninitialised anchors are refused", assign_atss(&empty, 1, ok_gt, 9, gt_ind, err, sizeof(err)) == -1);
    anchors_free(&a);
}

int main(void) {
    ref_open();
    test_iou_hand();
    test_maxiou_hand();
    test_atss_hand();
    test_fast_vs_naive();
    test_reference_iou();
    test_reference_assign("maxiou", ASSIGN_MAXIOU);
    test_reference_assign("atss2", ASSIGN_ATSS);
    test_reference_assign("atss3", ASSIGN_ATSS);
    test_bad();
    return finish("test-assign");
}
