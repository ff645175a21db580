// One training step of the detector (detector/model-loss.c) against PyTorch, from
// tests/data/step.safetensors (written by tools/gen-ref-step.py, whose losses are the naive
// O(P N) loops of the ranking losses): the small backbone at base width 4 (frozen BN,
// frozen_stages 1), FPN and head 16 channels x 2 convs, 3 anchors, 3 classes, 2 images of
// 128 x 128, the stored weights and targets. For each case the step graph is built, placed and
// run once on the CPU backend:
//   alrp_g2, alrp_g1   aLRP with rank_group 2 and 1 (w_SB = 13.5 given)
//   ap, focal          AP Loss + smooth L1, focal + L1
//   alrp_nopos, ap_nopos   no positive: losses 0, every gradient exactly 0, the step runs
// Checks: loss parts to 1e-4 relative, P exactly, the gradient norm to 1e-3, every parameter's
// gradient to 1e-3 of that tensor's largest reference value, and the SGD update applied in the
// graph (p1 = p0 - lr (g + wd p0) at step 1) to 1e-3 of the update plus the f32 rounding of p.
// Also: NaN targets make step_run return an error naming the step, not abort. Exits non-zero
// on any mismatch.
//     build/tests/test-step [tests/data/step.safetensors]
#include "../detector/model-nn.c"
#include "../detector/model-resnet.c"
#include "../detector/model-fpn.c"
#include "../detector/model-head.c"
#include "../detector/model.c"
#include "../detector/model-loss.c"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref-file.h"

static const char * path = "tests/data/step.safetensors";
static struct alrp_backend * be;
static int fails = 0;

#define CHECK(c, ...) do { if (!(c)) { printf("FAIL "); printf(__VA_ARGS__); printf("\n"); fails++; } } while (0)

static float ref_scalar(const char * c, const char * what) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", c, what);
    float * v = ref_f32(key, NULL), r = v[0];
    free(v);
    return r;
}

// max |got - want| relative to max |want| (an absolute floor of 1e-30: zero references need zeros)
static bool compare_vals(const char * what, const float * got, const float * want, int64_t n, double tol, bool print) {
    double m = 0.0, s = 1e-30;
    for (int64_t i = 0; i < n; i++) { m = fmax(m, fabs((double) got[i] - want[i])); s = fmax(s, fabs((double) want[i])); }
    if (!isfinite(m)) m = INFINITY;
    bool ok = m <= tol * s;
    if (print || !ok) printf("%s %-52s max err %.2e, max |ref| %.2e, rel %.2e\n", ok ? "OK  " : "FAIL", what, m, s, m / s);
    fails += !ok;
    return ok;
}

static void model_opts(struct model_options * o) {
    model_options_for(o, "small", 3, 3);
    o->backbone.base_width = 4;
    o->backbone.bn = ALRP_BN_FROZEN;
    o->backbone.frozen_stages = 1;
    o->fpn_channels = 16;
    o->head_channels = 16;
    o->head_convs = 2;
}

// the test's model (tensors made, not placed) in a new weights context *cw
static struct model * new_model(struct alrp_context ** cw) {
    struct model_options o;
    model_opts(&o);
    struct alrp_init_params ipw = { model_weights_mem_size(&o), NULL, true };
    *cw = alrp_init(ipw);
    struct model * m = (struct model *) malloc(sizeof(*m));
    char err[512];
    CHECK(model_init(m, *cw, &o, err, sizeof err) == 0, "model_init: %s", err);
    return m;
}

// every parameter's values now (host copies, one array each)
static float ** snapshot_params(const struct alrp_graph * g) {
    const int np = alrp_graph_n_params(g);
    float ** p0 = (float **) calloc((size_t) np, sizeof(float *));
    for (int i = 0; i < np; i++) {
        struct alrp_tensor * p = alrp_graph_param(g, i);
        p0[i] = (float *) malloc(alrp_nbytes(p));
        alrp_backend_get_f32(be, p, p0[i]);
    }
    return p0;
}

// the stored batch: images, targets and the labels of that name (as f32 and as int8)
static int8_t * ref_batch(const char * labels, float ** img, int64_t * n_img, float ** tgt, int64_t * n_tgt, float ** labf, int64_t * n_lab) {
    *img = ref_f32("images", n_img);
    *tgt = ref_f32("targets", n_tgt);
    *labf = ref_f32(labels, n_lab);
    int8_t * lab = (int8_t *) malloc((size_t) *n_lab);
    for (int64_t i = 0; i < *n_lab; i++) lab[i] = (int8_t) (*labf)[i];
    return lab;
}

static void run_case(const char * c, enum loss_kind kind, int rank_group, bool nopos, bool nan_check) {
    const float lr = 0.01f, wd = 1e-4f;
    struct alrp_context * cw;
    char err[512];
    struct model * m = new_model(&cw);
    struct loss_options lo;
    loss_options_default(&lo, kind);
    lo.rank_group = rank_group;
    struct alrp_opt_params op = alrp_opt_default_params(ALRP_OPT_SGD);
    CHECK(op.momentum == 0.9f && op.weight_decay == wd, "the recipe's SGD defaults");
    struct step * s = (struct step *) malloc(sizeof(*s));
    if (step_init(s, m, cw, be, 2, 128, 128, &lo, op, err, sizeof err) != 0) { printf("FAIL %s: step_init: %s\n", c, err); fails++; return; }
    struct alrp_buffer * bw = alrp_backend_alloc_ctx_tensors(cw, be);
    CHECK(bw && alrp_ctx_n_unplaced(cw) == 0, "weights and optimizer state placed");
    int got = alrp_load_tensors(be, path, model_n_tensors(m), model_tensors(m), false, err, sizeof err);
    CHECK(got == model_n_tensors(m), "loaded %d of %d tensors: %s", got, model_n_tensors(m), got < 0 ? err : "");
    CHECK(step_place(s, err, sizeof err) == 0, "step_place: %s", err);
    CHECK(s->A == 1023, "A_total %lld", (long long) s->A);
    if (kind == LOSS_ALRP) s->sb.weight = 13.5f;   // the reference's given constant

    int64_t n_img, n_lab, n_tgt;
    float * img, * tgt, * labf;
    int8_t * lab = ref_batch(nopos ? "labels_nopos" : "labels", &img, &n_img, &tgt, &n_tgt, &labf, &n_lab);
    // the parameters before the step
    const int np = alrp_graph_n_params(s->g);
    float ** p0 = snapshot_params(s->g);
    struct step_out out;
    int rc = step_run(s, img, lab, tgt, lr, &out, err, sizeof err);
    CHECK(rc == 0, "%s: step_run: %s", c, err);
    printf("%s: total %.6f (cls %.6f, loc %.6f, w_SB %.1f), P %lld, |g| %.4e, step %lld, %d parameters\n", c, out.total, out.cls,
           out.loc, out.w_sb, (long long) out.n_pos, out.grad_norm, (long long) out.step, np);
    char what[160];
    const char * parts[4] = { "total", "cls", "loc", "grad_norm" };
    const float vals[4] = { out.total, out.cls, out.loc, out.grad_norm };
    for (int k = 0; k < 4; k++) {
        float want = ref_scalar(c, parts[k]);
        snprintf(what, sizeof what, "%s.%s", c, parts[k]);
        compare_vals(what, &vals[k], &want, 1, k == 3 ? 1e-3 : 1e-4, true);
    }
    CHECK(out.n_pos == (int64_t) ref_scalar(c, "n_pos"), "%s: P %lld, reference %g", c, (long long) out.n_pos, (double) ref_scalar(c, "n_pos"));
    if (kind == LOSS_ALRP)   // the self-balance state counted this step (steps with P = 0 are not)
        CHECK(s->sb.count == (nopos ? 0 : 1) && (nopos || s->sb.sum_cls == (double) out.cls), "%s: self-balance update after the step", c);
    if (nopos) CHECK(out.total == 0.0f && out.cls == 0.0f && out.loc == 0.0f, "%s: no positive gives zero losses", c);

    double worst = 0.0;
    int bad = 0;
    for (int i = 0; i < np; i++) {
        struct alrp_tensor * p = alrp_graph_param(s->g, i);
        struct alrp_tensor * gt = alrp_graph_grad(s->g, p);
        int64_t n = alrp_nelements(p);
        float * gv = (float *) malloc(sizeof(float) * (size_t) n), * pv = (float *) malloc(sizeof(float) * (size_t) n);
        float * want = NULL;
        if (nopos) want = (float *) calloc((size_t) n, sizeof(float));
        else { snprintf(what, sizeof what, "%s.grad.%s", c, p->name); want = ref_f32(what, NULL); }
        alrp_backend_get_f32(be, gt, gv);
        double m = 0.0, sc = 1e-30;
        for (int64_t k = 0; k < n; k++) { m = fmax(m, fabs((double) gv[k] - want[k])); sc = fmax(sc, fabs((double) want[k])); }
        worst = fmax(worst, m / sc);
        snprintf(what, sizeof what, "%s grad %s", c, p->name);
        bad += !compare_vals(what, gv, want, n, 1e-3, false);
        // the update in the graph: p1 - p0 = -lr (g_ref + wd p0) at step 1 (momentum buffer = d)
        // compared on the parameters themselves: p1 in f32 carries rounding of |p0| 2^-24
        alrp_backend_get_f32(be, p, pv);
        double mu = 0.0, md = 1e-30, mp = 0.0;
        for (int64_t k = 0; k < n; k++) {
            double d = -(double) lr * ((double) want[k] + (double) wd * p0[i][k]);
            mu = fmax(mu, fabs((double) pv[k] - ((double) p0[i][k] + d)));
            md = fmax(md, fabs(d)); mp = fmax(mp, fabs((double) p0[i][k]));
        }
        if (!(mu <= 1e-3 * md + 2.0 * mp * 0x1p-24)) {
            printf("FAIL %s update %-40s max err %.2e, max |update| %.2e, max |p| %.2e\n", c, p->name, mu, md, mp);
            fails++; bad++;
        }
        free(gv); free(pv); free(want);
    }
    printf("%s %s: %d parameter gradients and updates, worst gradient rel err %.2e\n", bad ? "FAIL" : "OK  ", c, np, worst);

    if (nan_check) {   // NaN delta targets (NaN images die in the first ReLU): an error naming the step, no abort
        for (int64_t k = 0; k < n_tgt; k++) tgt[k] = NAN;
        rc = step_run(s, img, lab, tgt, lr, &out, err, sizeof err);
        CHECK(rc != 0 && strstr(err, "step 2") != NULL, "%s: NaN targets must fail step 2 with a message (rc %d, '%s')", c, rc, rc ? err : "");
        printf("%s NaN targets: step_run returned %d: %s\n", rc != 0 ? "OK  " : "FAIL", rc, rc ? err : "");
    }
    for (int i = 0; i < np; i++) free(p0[i]);
    free(p0); free(img); free(tgt); free(labf); free(lab);
    step_free(s); free(s);
    alrp_buffer_free(bw);
    model_free(m); free(m);
    alrp_free(cw);
}

// aLRP with rank_group 1 over 2 images = accum 2 of 1-image micro-batches: the first call leaves
// every parameter as it was, the second applies p0 - lr (g + wd p0) with g the mean of the two
// images' gradients, the reference of alrp_g1.
static void run_accum_case(void) {
    const char * c = "alrp_accum2";
    const float lr = 0.01f, wd = 1e-4f;
    struct alrp_context * cw;
    char err[512];
    struct model * m = new_model(&cw);
    struct loss_options lo;
    loss_options_default(&lo, LOSS_ALRP);
    lo.rank_group = 1;
    lo.accum = 2;
    struct step * s = (struct step *) malloc(sizeof(*s));
    if (step_init(s, m, cw, be, 1, 128, 128, &lo, alrp_opt_default_params(ALRP_OPT_SGD), err, sizeof err) != 0) {
        printf("FAIL %s: step_init: %s\n", c, err); fails++; return;
    }
    struct alrp_buffer * bw = alrp_backend_alloc_ctx_tensors(cw, be);
    CHECK(bw != NULL, "placed");
    CHECK(alrp_load_tensors(be, path, model_n_tensors(m), model_tensors(m), false, err, sizeof err) == model_n_tensors(m), "%s", err);
    CHECK(step_place(s, err, sizeof err) == 0, "step_place: %s", err);
    s->sb.weight = 13.5f;
    int64_t n_img, n_lab, n_tgt;
    float * img, * tgt, * labf;
    int8_t * lab = ref_batch("labels", &img, &n_img, &tgt, &n_tgt, &labf, &n_lab);
    const int np = alrp_graph_n_params(s->g);
    float ** p0 = snapshot_params(s->g);
    struct step_out out;
    int rc = step_run(s, img, lab, tgt, lr, &out, err, sizeof err);
    CHECK(rc == 0 && !out.applied && out.step == 0, "%s: micro-batch 1 accumulates only (rc %d, applied %d, step %lld)", c, rc, out.applied, (long long) out.step);
    int same = 1;
    for (int i = 0; i < np && same; i++) {
        struct alrp_tensor * p = alrp_graph_param(s->g, i);
        float * pv = (float *) malloc(alrp_nbytes(p));
        alrp_backend_get_f32(be, p, pv);
        same = memcmp(pv, p0[i], alrp_nbytes(p)) == 0;
        free(pv);
    }
    CHECK(same, "%s: the parameters are unchanged after the first micro-batch", c);
    rc = step_run(s, img + n_img / 2, lab + n_lab / 2, tgt + n_tgt / 2, lr, &out, err, sizeof err);
    CHECK(rc == 0 && out.applied && out.step == 1, "%s: micro-batch 2 applies the update (rc %d, applied %d)", c, rc, out.applied);
    int bad = 0;
    double worst = 0.0;
    char what[200];
    for (int i = 0; i < np; i++) {
        struct alrp_tensor * p = alrp_graph_param(s->g, i);
        const int64_t n = alrp_nelements(p);
        float * pv = (float *) malloc(alrp_nbytes(p));
        snprintf(what, sizeof what, "alrp_g1.grad.%s", p->name);
        float * want = ref_f32(what, NULL);
        alrp_backend_get_f32(be, p, pv);
        double mu = 0.0, md = 1e-30, mp = 0.0;
        for (int64_t k = 0; k < n; k++) {
            const double d = -(double) lr * ((double) want[k] + (double) wd * p0[i][k]);
            mu = fmax(mu, fabs((double) pv[k] - ((double) p0[i][k] + d)));
            md = fmax(md, fabs(d)); mp = fmax(mp, fabs((double) p0[i][k]));
        }
        worst = fmax(worst, mu / md);
        if (!(mu <= 1e-3 * md + 2.0 * mp * 0x1p-24)) { printf("FAIL %s update %-40s max err %.2e of %.2e\n", c, p->name, mu, md); fails++; bad++; }
        free(pv); free(want);
    }
    printf("%s %s: %d parameters updated with the mean of 2 micro-batches' gradients, worst rel err %.2e\n", bad ? "FAIL" : "OK  ", c, np, worst);
    for (int i = 0; i < np; i++) free(p0[i]);
    free(p0); free(img); free(tgt); free(labf); free(lab);
    step_free(s);
    model_free(m);
    free(s); free(m);
    alrp_buffer_free(bw);
    alrp_free(cw);
}

int main(int argc, char ** argv) {
    if (argc > 1) path = argv[1];
    ref_open_file(path, "gen-ref-step.py");
    be = alrp_backend_cpu_init(2);
    run_case("alrp_g2", LOSS_ALRP, 2, false, true);
    run_case("alrp_g1", LOSS_ALRP, 1, false, false);
    run_case("ap", LOSS_AP, 2, false, false);
    run_case("focal", LOSS_FOCAL, 2, false, true);
    run_case("alrp_nopos", LOSS_ALRP, 1, true, false);
    run_case("ap_nopos", LOSS_AP, 2, true, false);
    run_accum_case();
    alrp_backend_free(be);
    alrp_st_close(ref_file);
    printf("%s\n", fails ? "test-step: FAILED" : "test-step: all OK");
    return fails ? 1 : 0;
}
