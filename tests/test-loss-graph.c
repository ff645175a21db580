// The ranking losses as graph ops: the aLRP and AP ops give the same values as the plain-array
// API, their backward scales the stored error-driven update by the incoming gradient (these
// ops are not finite-difference checkable: the update is not a derivative), the localisation
// gradient flows through E_loc into the box deltas, and a toy model trained with
// L = cls + w_SB * loc improves both parts.
#include "alrp.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fails = 0;
#define CHECK(cond, ...) do { bool ok_ = (cond); printf("%s ", ok_ ? "ok:  " : "FAIL:"); printf(__VA_ARGS__); printf("\n"); fails += !ok_; } while (0)
static uint64_t rs = 7;
static float rnd(void) { rs = rs * 6364136223846793005ull + 1442695040888963407ull; return (float) ((rs >> 40) & 0xFFFFFF) / (float) 0x1000000; }

static double maxdiff(const float * a, const float * b, int64_t n, float scale) {
    double m = 0; for (int64_t i = 0; i < n; i++) m = fmax(m, fabs((double) a[i] - (double) scale * b[i])); return m;
}

static void test_against_plain(struct alrp_threadpool * tp) {
    const int64_t n = 4000;
    struct alrp_init_params ip = { 16 << 20, NULL, false };
    struct alrp_context * ctx = alrp_init(ip);
    struct alrp_tensor * logits = alrp_set_name(alrp_new_tensor_1d(ctx, n), "logits");
    int64_t sh[1] = { n };
    struct alrp_tensor * labels = alrp_new_tensor(ctx, ALRP_TYPE_I8, 1, sh);
    int8_t * lab = (int8_t *) labels->data;
    int64_t P = 0;
    for (int64_t i = 0; i < n; i++) {
        float u = rnd();
        lab[i] = u < 0.02f ? 1 : (u < 0.05f ? -1 : 0);
        P += lab[i] == 1;
        alrp_data_f32(logits)[i] = 4.0f * rnd() - 3.0f + (lab[i] == 1 ? 1.0f : 0.0f);
    }
    struct alrp_tensor * loc = alrp_set_name(alrp_new_tensor_1d(ctx, P), "loc_err");
    for (int64_t i = 0; i < P; i++) alrp_data_f32(loc)[i] = 2.0f * rnd();
    alrp_set_param(ctx, logits); alrp_set_param(ctx, loc);

    struct alrp_rank_loss l = alrp_alrp_loss(ctx, logits, labels, loc, 1.0f);
    struct alrp_tensor * ap = alrp_ap_loss(ctx, logits, labels, 1.0f);
    // L = 3 cls + 2 loc + 5 ap: every backward must scale its stored update by its own factor
    struct alrp_tensor * L = alrp_add(ctx, alrp_add(ctx, alrp_scale(ctx, l.cls, 3.0f), alrp_scale(ctx, l.loc, 2.0f)), alrp_scale(ctx, ap, 5.0f));
    alrp_set_loss(ctx, L);
    alrp_set_output(l.cls); alrp_set_output(l.loc); alrp_set_output(ap);
    struct alrp_graph * g = alrp_new_graph(ctx, 128);
    alrp_build_forward(g, L);
    alrp_build_backward(ctx, g);
    alrp_graph_compute(g, tp);

    float cls, locv, apv;
    float * gl = (float *) malloc(sizeof(float) * (size_t) n), * gloc = (float *) malloc(sizeof(float) * (size_t) P), * gap = (float *) malloc(sizeof(float) * (size_t) n);
    int64_t np = alrp_loss_alrp_f32(n, alrp_data_f32(logits), lab, alrp_data_f32(loc), 1.0f, &cls, &locv, gl, gloc);
    alrp_loss_ap_f32(n, alrp_data_f32(logits), lab, 1.0f, &apv, gap);
    CHECK(np == P && alrp_get_f32_1d(l.cls, 0) == cls && alrp_get_f32_1d(l.loc, 0) == locv && alrp_get_f32_1d(ap, 0) == apv,
          "graph op values equal the plain API (P = %lld, cls %.6f, loc %.6f, ap %.6f)", (long long) P, cls, locv, apv);
    float * expect = (float *) malloc(sizeof(float) * (size_t) n);
    for (int64_t i = 0; i < n; i++) expect[i] = 3.0f * gl[i] + 5.0f * gap[i];
    double d1 = maxdiff(alrp_data_f32(alrp_graph_grad(g, logits)), expect, n, 1.0f);
    double d2 = maxdiff(alrp_data_f32(alrp_graph_grad(g, loc)), gloc, P, 2.0f);
    CHECK(d1 < 1e-6, "d L / d logits = 3 * aLRP update + 5 * AP update (max diff %.2e)", d1);
    CHECK(d2 < 1e-6, "d L / d loc_err = 2 * grad_loc (max diff %.2e)", d2);
    free(gl); free(gloc); free(gap); free(expect);
    alrp_free(ctx);
}

static void test_no_positive(void) {
    struct alrp_init_params ip = { 1 << 20, NULL, false };
    struct alrp_context * ctx = alrp_init(ip);
    struct alrp_tensor * logits = alrp_new_tensor_1d(ctx, 50);
    int64_t sh[1] = { 50 };
    struct alrp_tensor * labels = alrp_new_tensor(ctx, ALRP_TYPE_I8, 1, sh);
    for (int i = 0; i < 50; i++) { alrp_data_f32(logits)[i] = rnd(); ((int8_t *) labels->data)[i] = (int8_t) (i % 3 == 0 ? -1 : 0); }
    alrp_set_param(ctx, logits);
    struct alrp_rank_loss l = alrp_alrp_loss(ctx, logits, labels, NULL, 1.0f);
    struct alrp_tensor * L = alrp_add(ctx, l.cls, l.loc);
    alrp_set_loss(ctx, L);
    struct alrp_graph * g = alrp_new_graph(ctx, 64);
    alrp_build_forward(g, L);
    alrp_build_backward(ctx, g);
    alrp_graph_compute(g, NULL);
    double s = 0; for (int i = 0; i < 50; i++) s += fabs(alrp_get_f32_1d(alrp_graph_grad(g, logits), i));
    CHECK(alrp_get_f32_1d(L, 0) == 0.0f && s == 0.0, "no positive: loss 0 and zero gradients, no error");
    alrp_free(ctx);
}

// A toy detector head: per "anchor" a feature vector f (A, D); logits = f @ Wc (A, 1); deltas
// = f @ Wr (A, 4). Positives must rank above negatives and regress their target deltas.
static void test_training(struct alrp_threadpool * tp) {
    const int A = 600, D = 16;
    struct alrp_init_params ip = { 16 << 20, NULL, false };
    struct alrp_context * pc = alrp_init(ip);
    struct alrp_tensor * f = alrp_new_tensor_2d(pc, A, D), * wc = alrp_set_name(alrp_new_tensor_2d(pc, D, 1), "wc"), * wr = alrp_set_name(alrp_new_tensor_2d(pc, D, 4), "wr");
    int64_t sh[1] = { A };
    struct alrp_tensor * labels = alrp_new_tensor(pc, ALRP_TYPE_I8, 1, sh);
    int32_t pos_idx[64]; int P = 0;
    for (int a = 0; a < A; a++) {
        bool pos = (a % 10 == 3) && P < 64;
        ((int8_t *) labels->data)[a] = pos;
        if (pos) pos_idx[P++] = a;
        for (int d = 0; d < D; d++) alrp_data_f32(f)[a * D + d] = rnd() - 0.5f + (pos && d < 4 ? 0.6f : 0.0f);
    }
    for (int i = 0; i < D; i++) { alrp_data_f32(wc)[i] = 0.01f * (rnd() - 0.5f); for (int k = 0; k < 4; k++) alrp_data_f32(wr)[i * 4 + k] = 0.01f * (rnd() - 0.5f); }
    alrp_set_param(pc, wc); alrp_set_param(pc, wr);
    struct alrp_tensor * idx = alrp_new_i32_1d(pc, P), * tgt = alrp_new_tensor_2d(pc, P, 4);
    memcpy(idx->data, pos_idx, sizeof(int32_t) * (size_t) P);
    for (int i = 0; i < P * 4; i++) alrp_data_f32(tgt)[i] = rnd() - 0.5f;
    // target deltas as a linear function of the positive's features, so that the head can fit them
    for (int i = 0; i < P; i++) for (int k = 0; k < 4; k++) alrp_data_f32(tgt)[i * 4 + k] = 2.0f * alrp_data_f32(f)[pos_idx[i] * D + 4 + k];
    struct alrp_tensor * wsb = alrp_new_tensor_1d(pc, 1);

    struct alrp_init_params cp = { 16 << 20, NULL, true };
    struct alrp_context * ctx = alrp_init(cp);
    struct alrp_tensor * logits = alrp_reshape_1d(ctx, alrp_matmul(ctx, f, wc), A);
    struct alrp_tensor * deltas = alrp_gather_rows(ctx, alrp_matmul(ctx, f, wr), idx);
    const float stds[4] = ALRP_BOX_STDS_ALRP;
    struct alrp_tensor * eloc = alrp_loc_err_giou(ctx, deltas, tgt, stds);
    struct alrp_rank_loss l = alrp_alrp_loss(ctx, logits, labels, eloc, 1.0f);
    struct alrp_tensor * L = alrp_add(ctx, l.cls, alrp_mul(ctx, wsb, l.loc));
    alrp_set_loss(ctx, L);
    alrp_set_output(l.cls); alrp_set_output(l.loc); alrp_set_output(eloc);
    struct alrp_graph * g = alrp_new_graph(ctx, 128);
    alrp_build_forward(g, L);
    alrp_build_backward(ctx, g);
    struct alrp_gallocr * ga = alrp_gallocr_new();
    alrp_gallocr_alloc_graph(ga, g);
    struct alrp_opt_params op = alrp_opt_default_params(ALRP_OPT_SGD);
    op.lr = 0.05f; op.weight_decay = 0.0f;
    struct alrp_optimizer * opt = alrp_optimizer_new(pc, g, op);
    struct alrp_sb sb; alrp_sb_init(&sb, 20);
    float c0 = 0, l0 = 0, c1 = 0, l1 = 0;
    for (int it = 0; it < 200; it++) {
        alrp_set_f32_1d(wsb, 0, alrp_sb_weight(&sb));
        alrp_graph_compute(g, tp);
        float c = alrp_get_f32_1d(l.cls, 0), lo = alrp_get_f32_1d(l.loc, 0), me = 0;
        for (int i = 0; i < P; i++) me += alrp_get_f32_1d(eloc, i) / (float) P;
        if (it == 0) { c0 = c; l0 = me; }
        c1 = c; l1 = me;
        alrp_sb_update(&sb, c, lo, P);
        alrp_optimizer_step(opt, tp);
    }
    CHECK(c1 < 0.5f * c0 && l1 < 0.8f * l0, "toy head trains with L = cls + w_SB loc: cls %.3f -> %.3f, mean E_loc %.3f -> %.3f, w_SB %.2f after %lld updates",
          c0, c1, l0, l1, alrp_sb_weight(&sb), (long long) sb.n_updates);
    alrp_gallocr_free(ga);
    alrp_free(ctx); alrp_free(pc);
}

int main(void) {
    struct alrp_threadpool * tp = alrp_threadpool_new(2);
    test_against_plain(NULL);
    test_against_plain(tp);
    test_no_positive();
    test_training(tp);
    alrp_threadpool_free(tp);
    printf("%s (%d failures)\n", fails ? "FAIL" : "all ok", fails);
    return fails ? 1 : 0;
}
