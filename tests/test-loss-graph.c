// The ranking losses as graph ops, computed on the CPU backend: the aLRP and AP ops give the
// same values as the plain-array API, their backward scales the stored error-driven update by
// the incoming gradient (these ops are not finite-difference checkable: the update is not a
// derivative), loc_err holds one E_loc per anchor (or per entry) and only the positives' values
// are read, bad input makes the compute return ALRP_STATUS_FAILED instead of aborting, and a
// toy head trained with L = cls + w_SB * loc (optimizer and w_SB in the graph) improves both
// parts. Inputs, outputs and gradients go through the backend (alrp_backend_tensor_set/get).
#include "alrp.h"
#include "capture-stderr.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fails = 0;
#define CHECK(cond, ...) do { bool ok_ = (cond); printf("%s ", ok_ ? "ok:  " : "FAIL:"); printf(__VA_ARGS__); printf("\n"); fails += !ok_; } while (0)
static struct alrp_rng rng = { 7 };
static float rnd(void) { return (float) alrp_rng_uniform(&rng); }   // [0, 1)

static double maxdiff(const float * a, const float * b, int64_t n) {
    double m = 0; for (int64_t i = 0; i < n; i++) m = fmax(m, fabs((double) a[i] - (double) b[i])); return m;
}
static bool all_zero(const float * a, int64_t n) { for (int64_t i = 0; i < n; i++) if (a[i] != 0.0f) return false; return true; }


// A anchors x C classes (C = 1: one E_loc per entry). poison: E_loc of every anchor without a
// positive is NaN, +inf or -inf, which must change nothing.
static void test_against_plain(struct alrp_backend * be, int64_t A, int64_t C, bool poison) {
    const int64_t n = A * C;
    struct alrp_init_params ip = { 16 << 20, NULL, true };
    struct alrp_context * ctx = alrp_init(ip);
    struct alrp_tensor * logits = alrp_set_name(alrp_new_tensor_2d(ctx, A, C), "logits");
    int64_t sh[2] = { A, C };
    struct alrp_tensor * labels = alrp_set_name(alrp_new_tensor(ctx, ALRP_TYPE_I8, 2, sh), "labels");
    struct alrp_tensor * loc = alrp_set_name(alrp_new_tensor_1d(ctx, A), "loc_err");
    alrp_set_param(ctx, logits); alrp_set_param(ctx, loc); alrp_set_input(labels);

    struct alrp_rank_loss l = alrp_alrp_loss(ctx, logits, labels, loc, 1.0f);
    struct alrp_rank_loss ap = alrp_ap_loss(ctx, logits, labels, 1.0f);
    // L = 3 cls + 2 loc + 5 ap: every backward must scale its stored update by its own factor
    struct alrp_tensor * L = alrp_add(ctx, alrp_add(ctx, alrp_scale(ctx, l.cls, 3.0f), alrp_scale(ctx, l.loc, 2.0f)), alrp_scale(ctx, ap.cls, 5.0f));
    alrp_set_loss(ctx, L);
    alrp_set_output(l.cls); alrp_set_output(l.loc); alrp_set_output(l.n_pos); alrp_set_output(ap.cls); alrp_set_output(ap.n_pos);
    struct alrp_graph * g = alrp_new_graph(ctx, 128);
    alrp_build_forward(g, L);
    alrp_build_backward(ctx, g);
    struct alrp_gallocr * ga = alrp_gallocr_new(be);
    bool placed = alrp_gallocr_alloc_graph(ga, g);

    // the batch, on the host
    float * lg = (float *) malloc(sizeof(float) * (size_t) n), * le = (float *) malloc(sizeof(float) * (size_t) A);
    int8_t * lab = (int8_t *) malloc((size_t) n);
    int64_t P = 0;
    for (int64_t i = 0; i < n; i++) {
        float u = rnd();
        lab[i] = u < 0.02f ? 1 : (u < 0.05f ? -1 : 0);
        lg[i] = 4.0f * rnd() - 3.0f + (lab[i] == 1 ? 1.0f : 0.0f);
    }
    if (C > 1) { lab[5 * C] = 1; lab[5 * C + C - 1] = 1; }   // an anchor with two positives shares one E_loc
    bool * has_pos = (bool *) calloc((size_t) A, 1);
    for (int64_t i = 0; i < n; i++) if (lab[i] == 1) { P++; has_pos[i / C] = true; }
    const float poisons[3] = { NAN, INFINITY, -INFINITY };
    int64_t n_poisoned = 0;
    for (int64_t a = 0; a < A; a++) le[a] = (poison && !has_pos[a]) ? poisons[n_poisoned++ % 3] : 2.0f * rnd();
    alrp_backend_set_f32(be, logits, lg);
    alrp_backend_set_f32(be, loc, le);
    alrp_backend_tensor_set(be, labels, lab, 0, (size_t) n);
    enum alrp_status st = placed ? alrp_backend_graph_compute(be, g) : ALRP_STATUS_ALLOC_FAILED;

    // the plain-array reference: loc_err gathered at the positives in index order, grad_loc
    // scattered back to the anchors
    float * ep = (float *) malloc(sizeof(float) * (size_t) (P + 1)), * gp = (float *) malloc(sizeof(float) * (size_t) (P + 1));
    for (int64_t i = 0, k = 0; i < n; i++) if (lab[i] == 1) ep[k++] = le[i / C];
    float cls, locv, apv;
    float * gl = (float *) malloc(sizeof(float) * (size_t) n), * gap = (float *) malloc(sizeof(float) * (size_t) n);
    int64_t np = alrp_loss_alrp_f32(n, lg, lab, ep, 1.0f, &cls, &locv, gl, gp);
    int64_t np_ap = alrp_loss_ap_f32(n, lg, lab, 1.0f, &apv, gap);
    float * expect = (float *) malloc(sizeof(float) * (size_t) n), * expect_loc = (float *) calloc((size_t) A, sizeof(float));
    for (int64_t i = 0; i < n; i++) expect[i] = 3.0f * gl[i] + 5.0f * gap[i];
    for (int64_t i = 0, k = 0; i < n; i++) if (lab[i] == 1) expect_loc[i / C] += gp[k++];
    for (int64_t a = 0; a < A; a++) expect_loc[a] *= 2.0f;

    float * dlg = (float *) malloc(sizeof(float) * (size_t) n), * dloc = (float *) malloc(sizeof(float) * (size_t) A);
    alrp_backend_get_f32(be, alrp_graph_grad(g, logits), dlg);
    alrp_backend_get_f32(be, alrp_graph_grad(g, loc), dloc);
    float cls_g = alrp_backend_get_f32_1(be, l.cls, 0), loc_g = alrp_backend_get_f32_1(be, l.loc, 0), ap_g = alrp_backend_get_f32_1(be, ap.cls, 0);
    float np_g = alrp_backend_get_f32_1(be, l.n_pos, 0), np_ap_g = alrp_backend_get_f32_1(be, ap.n_pos, 0);
    const char * what = poison ? "non-positive E_loc NaN/inf" : C == 1 ? "E_loc per entry" : "E_loc per anchor";
    printf("   %s, %lld x %lld, %d thread(s): P = %lld, cls %.6f, loc %.6f, ap %.6f\n", what, (long long) A, (long long) C,
           alrp_threadpool_n_threads(alrp_backend_cpu_pool(be)), (long long) P, cls, locv, apv);
    CHECK(st == ALRP_STATUS_SUCCESS && np == P && np_ap == P && cls_g == cls && loc_g == locv && ap_g == apv,
          "%s: graph op values equal the plain API exactly", what);
    CHECK(np_g == (float) P && np_ap_g == (float) P, "%s: .n_pos reads back P = %lld (aLRP %g, AP %g)", what, (long long) P, np_g, np_ap_g);
    double d1 = maxdiff(dlg, expect, n), d2 = maxdiff(dloc, expect_loc, A);
    CHECK(d1 == 0.0, "%s: d L / d logits = 3 * aLRP update + 5 * AP update, exact (max diff %.2e)", what, d1);
    CHECK(d2 == 0.0, "%s: d L / d loc_err = 2 * grad_loc scattered per anchor, exact (max diff %.2e)", what, d2);
    if (poison) {
        bool zero_off = true;
        for (int64_t a = 0; a < A; a++) if (!has_pos[a]) zero_off = zero_off && dloc[a] == 0.0f;
        CHECK(n_poisoned > 0 && zero_off, "%s: %lld poisoned anchors are not read; their gradient is 0", what, (long long) n_poisoned);
    }
    free(lg); free(le); free(lab); free(has_pos); free(ep); free(gp); free(gl); free(gap); free(expect); free(expect_loc); free(dlg); free(dloc);
    alrp_gallocr_free(ga);
    alrp_free(ctx);
}

// no positive: zeros everywhere, with or without loc_err
static void test_no_positive(struct alrp_backend * be) {
    for (int with_loc = 0; with_loc < 2; with_loc++) {
        struct alrp_init_params ip = { 1 << 20, NULL, true };
        struct alrp_context * ctx = alrp_init(ip);
        struct alrp_tensor * logits = alrp_new_tensor_2d(ctx, 10, 5);
        int64_t sh[2] = { 10, 5 };
        struct alrp_tensor * labels = alrp_new_tensor(ctx, ALRP_TYPE_I8, 2, sh);
        struct alrp_tensor * loc = with_loc ? alrp_new_tensor_1d(ctx, 10) : NULL;
        alrp_set_param(ctx, logits); alrp_set_input(labels);
        if (loc) alrp_set_param(ctx, loc);
        struct alrp_rank_loss l = alrp_alrp_loss(ctx, logits, labels, loc, 1.0f);
        struct alrp_tensor * L = alrp_add(ctx, l.cls, l.loc);
        alrp_set_loss(ctx, L);
        alrp_set_output(l.n_pos);
        struct alrp_graph * g = alrp_new_graph(ctx, 64);
        alrp_build_forward(g, L);
        alrp_build_backward(ctx, g);
        struct alrp_gallocr * ga = alrp_gallocr_new(be);
        bool placed = alrp_gallocr_alloc_graph(ga, g);
        float lg[50], le[10], dlg[50], dloc[10];
        int8_t lab[50];
        for (int i = 0; i < 50; i++) { lg[i] = rnd(); lab[i] = (int8_t) (i % 3 == 0 ? -1 : 0); }
        for (int a = 0; a < 10; a++) le[a] = rnd();
        alrp_backend_set_f32(be, logits, lg);
        alrp_backend_tensor_set(be, labels, lab, 0, sizeof lab);
        if (loc) alrp_backend_set_f32(be, loc, le);
        enum alrp_status st = placed ? alrp_backend_graph_compute(be, g) : ALRP_STATUS_ALLOC_FAILED;
        alrp_backend_get_f32(be, alrp_graph_grad(g, logits), dlg);
        bool loc_zero = true;
        if (loc) { alrp_backend_get_f32(be, alrp_graph_grad(g, loc), dloc); loc_zero = all_zero(dloc, 10); }
        CHECK(st == ALRP_STATUS_SUCCESS && alrp_backend_get_f32_1(be, L, 0) == 0.0f && alrp_backend_get_f32_1(be, l.n_pos, 0) == 0.0f &&
              all_zero(dlg, 50) && loc_zero,
              "no positive (%s): loss 0, P 0 and zero gradients, no error", loc ? "loc_err per anchor" : "no loc_err");
        alrp_gallocr_free(ga);
        alrp_free(ctx);
    }
}

// bad input at a positive: the compute fails with a message and a status, nothing aborts, and
// the same graph computes again once the input is fixed. A NaN logit on an ignored entry is fine.
static void test_bad_input(struct alrp_backend * be) {
    const int A = 20, C = 3, n = A * C;
    struct alrp_init_params ip = { 1 << 20, NULL, true };
    struct alrp_context * ctx = alrp_init(ip);
    struct alrp_tensor * logits = alrp_set_name(alrp_new_tensor_2d(ctx, A, C), "logits");
    int64_t sh[2] = { A, C };
    struct alrp_tensor * labels = alrp_new_tensor(ctx, ALRP_TYPE_I8, 2, sh);
    struct alrp_tensor * loc = alrp_new_tensor_1d(ctx, A);
    alrp_set_param(ctx, logits); alrp_set_param(ctx, loc); alrp_set_input(labels);
    struct alrp_rank_loss l = alrp_alrp_loss(ctx, logits, labels, loc, 1.0f);
    alrp_set_name(l.cls, "loss_cls");
    struct alrp_tensor * L = alrp_add(ctx, l.cls, l.loc);
    alrp_set_loss(ctx, L);
    struct alrp_graph * g = alrp_new_graph(ctx, 64);
    alrp_build_forward(g, L);
    alrp_build_backward(ctx, g);
    struct alrp_gallocr * ga = alrp_gallocr_new(be);
    bool placed = alrp_gallocr_alloc_graph(ga, g);
    float lg[60], le[20];
    int8_t lab[60];
    for (int i = 0; i < n; i++) { lg[i] = 2.0f * rnd() - 1.0f; lab[i] = (int8_t) (i % 7 == 0 ? 1 : (i % 11 == 0 ? -1 : 0)); }
    for (int a = 0; a < A; a++) le[a] = rnd();
    alrp_backend_set_f32(be, logits, lg);
    alrp_backend_set_f32(be, loc, le);
    alrp_backend_tensor_set(be, labels, lab, 0, sizeof lab);
    enum alrp_status st0 = placed ? alrp_backend_graph_compute(be, g) : ALRP_STATUS_ALLOC_FAILED;
    CHECK(st0 == ALRP_STATUS_SUCCESS, "bad input: the clean batch computes");

    const float nan = NAN;
    char msg[1024];
    struct capture c;
    alrp_backend_tensor_set(be, logits, &nan, 14 * sizeof(float), sizeof(float));   // entry 14: a positive
    capture_begin(&c);
    enum alrp_status st = alrp_backend_graph_compute(be, g);
    capture_end(&c, msg, sizeof msg);
    printf("   stderr: %s\n", msg);
    CHECK(st == ALRP_STATUS_FAILED && strstr(msg, "non-finite"), "NaN logit of a positive: compute returns %s (\"%s\") with a message, no abort",
          st == ALRP_STATUS_FAILED ? "ALRP_STATUS_FAILED" : "another status", alrp_status_name(st));

    alrp_backend_tensor_set(be, logits, &lg[14], 14 * sizeof(float), sizeof(float));
    alrp_backend_tensor_set(be, loc, &nan, 7 * sizeof(float), sizeof(float));         // anchor 7 holds entry 21, a positive
    capture_begin(&c);
    st = alrp_backend_graph_compute(be, g);
    capture_end(&c, msg, sizeof msg);
    CHECK(st == ALRP_STATUS_FAILED && strstr(msg, "non-finite"), "NaN E_loc of a positive's anchor: compute returns ALRP_STATUS_FAILED");

    alrp_backend_tensor_set(be, loc, &le[7], 7 * sizeof(float), sizeof(float));
    alrp_backend_tensor_set(be, logits, &nan, 22 * sizeof(float), sizeof(float));    // entry 22: ignored
    st = alrp_backend_graph_compute(be, g);
    float v = alrp_backend_get_f32_1(be, L, 0);
    CHECK(st == ALRP_STATUS_SUCCESS && isfinite(v), "after the fix the graph computes again; a NaN logit on an ignored entry is not read (L = %.6f)", v);
    alrp_gallocr_free(ga);
    alrp_free(ctx);
}

// A toy detector head: per anchor a feature vector f (A, D); logits = f @ Wc (A, 1); deltas =
// f @ Wr (A, 4) and E_loc for every anchor (the labels pick the positives). Positives must rank
// above negatives and regress their target deltas. One graph holds forward, backward and the
// SGD update; w_SB is an input updated from alrp_sb each step.
static void test_training(struct alrp_backend * be) {
    const int A = 600, D = 16, STEPS = 200;
    struct alrp_init_params wp = { 1 << 20, NULL, true }, cp = { 16 << 20, NULL, true };
    struct alrp_context * cw = alrp_init(wp), * ctx = alrp_init(cp);
    struct alrp_tensor * wc = alrp_set_name(alrp_new_tensor_2d(cw, D, 1), "wc"), * wr = alrp_set_name(alrp_new_tensor_2d(cw, D, 4), "wr");
    alrp_set_param(cw, wc); alrp_set_param(cw, wr);
    struct alrp_tensor * f = alrp_set_name(alrp_new_tensor_2d(ctx, A, D), "features");
    int64_t sh[1] = { A };
    struct alrp_tensor * labels = alrp_set_name(alrp_new_tensor(ctx, ALRP_TYPE_I8, 1, sh), "labels");
    struct alrp_tensor * tgt = alrp_set_name(alrp_new_tensor_2d(ctx, A, 4), "target_deltas");
    struct alrp_tensor * wsb = alrp_set_name(alrp_new_tensor_1d(ctx, 1), "w_sb");
    alrp_set_input(f); alrp_set_input(labels); alrp_set_input(tgt); alrp_set_input(wsb);

    struct alrp_tensor * logits = alrp_reshape_1d(ctx, alrp_matmul(ctx, f, wc), A);
    struct alrp_tensor * deltas = alrp_matmul(ctx, f, wr);
    const float stds[4] = ALRP_BOX_STDS_ALRP;
    struct alrp_tensor * eloc = alrp_set_name(alrp_loc_err_giou(ctx, deltas, tgt, stds), "eloc");   // (A)
    struct alrp_rank_loss l = alrp_alrp_loss(ctx, logits, labels, eloc, 1.0f);
    struct alrp_tensor * L = alrp_add(ctx, l.cls, alrp_mul(ctx, wsb, l.loc));
    alrp_set_loss(ctx, L);
    alrp_set_output(l.cls); alrp_set_output(l.loc); alrp_set_output(l.n_pos); alrp_set_output(eloc);
    struct alrp_graph * g = alrp_new_graph(ctx, 128);
    alrp_build_forward(g, L);
    alrp_build_backward(ctx, g);
    struct alrp_opt_params op = alrp_opt_default_params(ALRP_OPT_SGD);
    op.lr = 0.05f; op.weight_decay = 0.0f;
    struct alrp_optimizer * opt = alrp_optimizer_new(cw, g, op);
    struct alrp_buffer * bw = alrp_backend_alloc_ctx_tensors(cw, be);
    alrp_optimizer_reset(opt, be);
    alrp_optimizer_build(opt, ctx, g, 0.0f);
    struct alrp_gallocr * ga = alrp_gallocr_new(be);
    bool placed = alrp_gallocr_alloc_graph(ga, g);
    const int n_nodes = alrp_graph_n_nodes(g);

    // the data: every tenth anchor is positive, its features shifted; target deltas a linear
    // function of the positive's features (so that the head can fit them), 0 elsewhere
    float * fh = (float *) malloc(sizeof(float) * (size_t) (A * D)), * th = (float *) calloc((size_t) (A * 4), sizeof(float));
    float * eh = (float *) malloc(sizeof(float) * (size_t) A);
    int8_t * lab = (int8_t *) malloc((size_t) A);
    float wch[16], wrh[64];
    int P = 0;
    for (int a = 0; a < A; a++) {
        bool pos = (a % 10 == 3) && P < 64;
        lab[a] = pos;
        P += pos;
        for (int d = 0; d < D; d++) fh[a * D + d] = rnd() - 0.5f + (pos && d < 4 ? 0.6f : 0.0f);
        if (pos) for (int k = 0; k < 4; k++) th[a * 4 + k] = 2.0f * fh[a * D + 4 + k];
    }
    for (int i = 0; i < D; i++) { wch[i] = 0.01f * (rnd() - 0.5f); for (int k = 0; k < 4; k++) wrh[i * 4 + k] = 0.01f * (rnd() - 0.5f); }
    alrp_backend_set_f32(be, wc, wch); alrp_backend_set_f32(be, wr, wrh);
    alrp_backend_set_f32(be, f, fh); alrp_backend_set_f32(be, tgt, th);
    alrp_backend_tensor_set(be, labels, lab, 0, (size_t) A);

    struct alrp_sb sb; alrp_sb_init(&sb, 20);
    float c0 = 0, l0 = 0, c1 = 0, l1 = 0;
    bool ok = placed, p_ok = true;
    for (int it = 0; it < STEPS && ok; it++) {
        float w = alrp_sb_weight(&sb);
        alrp_backend_set_f32(be, wsb, &w);
        alrp_optimizer_prepare(opt, be);
        ok = alrp_backend_graph_compute(be, g) == ALRP_STATUS_SUCCESS;
        float c = alrp_backend_get_f32_1(be, l.cls, 0), lo = alrp_backend_get_f32_1(be, l.loc, 0);
        int64_t np = (int64_t) alrp_backend_get_f32_1(be, l.n_pos, 0);
        p_ok = p_ok && np == P;
        alrp_backend_get_f32(be, eloc, eh);
        float me = 0;
        for (int a = 0; a < A; a++) if (lab[a] == 1) me += eh[a] / (float) P;
        if (it == 0) { c0 = c; l0 = me; }
        c1 = c; l1 = me;
        alrp_sb_update(&sb, c, lo, np);
    }
    CHECK(ok && p_ok && alrp_graph_n_nodes(g) == n_nodes && alrp_optimizer_n_steps(opt) == STEPS,
          "toy head: %d steps of one graph (%d nodes, forward + backward + SGD), P = %d read back each step", STEPS, n_nodes, P);
    CHECK(c1 < 0.5f * c0 && l1 < 0.8f * l0, "toy head trains with L = cls + w_SB loc: cls %.3f -> %.3f, mean E_loc %.3f -> %.3f, w_SB %.2f after %lld updates",
          c0, c1, l0, l1, alrp_sb_weight(&sb), (long long) sb.n_updates);
    free(fh); free(th); free(eh); free(lab);
    alrp_gallocr_free(ga);
    alrp_buffer_free(bw);
    alrp_free(ctx); alrp_free(cw);
}

int main(void) {
    struct alrp_backend * be1 = alrp_backend_cpu_init(1), * be2 = alrp_backend_cpu_init(2);
    printf("backend: %s\n", alrp_backend_name(be2));
    test_against_plain(be1, 1000, 4, false);
    test_against_plain(be2, 1000, 4, false);
    test_against_plain(be2, 4000, 1, false);
    test_against_plain(be2, 1000, 4, true);
    test_no_positive(be2);
    test_bad_input(be2);
    test_training(be2);
    alrp_backend_free(be1); alrp_backend_free(be2);
    printf("%s (%d failures)\n", fails ? "FAIL" : "all ok", fails);
    return fails ? 1 : 0;
}
