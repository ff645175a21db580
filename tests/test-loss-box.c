// Sigmoid focal, smooth L1 / L1, GIoU losses and the box delta coder of alrp.h:
//   1. PyTorch parity: values and input gradients against tests/data/losses.safetensors, written
//      by tools/gen-ref-losses.py (torchvision.ops.sigmoid_focal_loss / generalized_box_iou_loss,
//      torch smooth_l1_loss / l1_loss, autograd; the delta coder and E_loc in torch from the doc);
//   2. finite differences: central, in double on the per-element kernels, and in float through
//      the public functions (checks the reductions, the accumulation and the decode backward);
//   3. that backward kernels accumulate into their output, and bad arguments.
#define ALRP_INTERNAL   // the per-element kernels in double
#include "alrp.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct alrp_st_file * g_ref;
static int n_checks, n_fail;

// the reference tensor name with numel elements (copied into an aligned array), or exit
static float * ref(const char * name, int64_t numel) {
    const struct alrp_st_tensor * t = alrp_st_get(g_ref, name);
    if (t) {
        if (t->numel != numel) {
            fprintf(stderr, "losses.safetensors: %s has %lld values, expected %lld: regenerate with tools/gen-ref-losses.py\n",
                    name, (long long) t->numel, (long long) numel);
            exit(1);
        }
        float * a = (float *) malloc(sizeof(float) * (size_t) numel);
        alrp_st_to_f32(t, a);
        return a;
    }
    fprintf(stderr, "losses.safetensors: no tensor %s: regenerate with /usr/bin/python3 tools/gen-ref-losses.py\n", name);
    exit(1);
}

// |got - want| <= atol + rtol |want| elementwise; prints one line
static void check(const char * what, const float * got, const float * want, int64_t n, double rtol, double atol) {
    double worst = 0.0;
    int64_t at = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double) got[i] - (double) want[i]) / (atol + rtol * fabs((double) want[i]));
        if (!(e <= worst)) { worst = e == e ? e : INFINITY; at = i; }
        if (got[i] != got[i]) { worst = INFINITY; at = i; }
    }
    n_checks++;
    int ok = worst <= 1.0;
    if (!ok) n_fail++;
    printf("%-4s %-48s max err/tol %.3g", ok ? "OK" : "FAIL", what, worst);
    if (!ok) printf("  (at %lld: got %.9g want %.9g)", (long long) at, (double) got[at], (double) want[at]);
    printf("\n");
}

static void check_true(const char * what, int ok) {
    n_checks++;
    if (!ok) n_fail++;
    printf("%-4s %s\n", ok ? "OK" : "FAIL", what);
}

#define RT 2e-5     // float32 outputs of double computations vs float64 PyTorch
#define AT 1e-6

// ---------------------------------------------------------------------------------------------
// 1. PyTorch parity
// ---------------------------------------------------------------------------------------------

static void parity_focal(void) {
    const int64_t n = 32;
    float * x = ref("focal.logits", n), * t = ref("focal.targets", n), * go = ref("focal.go", n);
    float * prm = ref("focal.params", 8);
    float out[32], g[32];
    char name[96];
    for (int c = 0; c < 4; c++) {
        float alpha = prm[2 * c], gamma = prm[2 * c + 1];
        snprintf(name, sizeof(name), "focal.c%d.none", c);
        float * want = ref(name, n);
        alrp_loss_sigmoid_focal_f32(n, x, t, alpha, gamma, ALRP_LOSS_REDUCTION_NONE, out);
        snprintf(name, sizeof(name), "focal a=%g g=%g none: value", (double) alpha, (double) gamma);
        check(name, out, want, n, RT, AT);
        free(want);
        snprintf(name, sizeof(name), "focal.c%d.none.grad", c);
        want = ref(name, n);
        memset(g, 0, sizeof(g));
        alrp_loss_sigmoid_focal_backward_f32(n, x, t, alpha, gamma, ALRP_LOSS_REDUCTION_NONE, go, g);
        snprintf(name, sizeof(name), "focal a=%g g=%g none: dL/dlogits", (double) alpha, (double) gamma);
        check(name, g, want, n, RT, AT);
        free(want);
    }
    const char * reds[2] = { "sum", "mean" };
    const float ups[2] = { 1.75f, 0.875f };
    for (int r = 0; r < 2; r++) {
        enum alrp_loss_reduction red = r == 0 ? ALRP_LOSS_REDUCTION_SUM : ALRP_LOSS_REDUCTION_MEAN;
        snprintf(name, sizeof(name), "focal.c0.%s", reds[r]);
        float * want = ref(name, 1);
        // threaded version: the same result on 2 threads
        struct alrp_threadpool * tp = alrp_threadpool_new(2);
        float o2;
        alrp_loss_sigmoid_focal_f32(n, x, t, 0.25f, 2.0f, red, out);
        alrp_loss_sigmoid_focal_f32_tp(tp, n, x, t, 0.25f, 2.0f, red, &o2);
        snprintf(name, sizeof(name), "focal %s: value", reds[r]);
        check(name, out, want, 1, RT, AT);
        check_true("focal: pool of 2 threads gives the same value", o2 == out[0]);
        free(want);
        snprintf(name, sizeof(name), "focal.c0.%s.grad", reds[r]);
        want = ref(name, n);
        memset(g, 0, sizeof(g));
        alrp_loss_sigmoid_focal_backward_f32_tp(tp, n, x, t, 0.25f, 2.0f, red, &ups[r], g);
        snprintf(name, sizeof(name), "focal %s: dL/dlogits (2 threads)", reds[r]);
        check(name, g, want, n, RT, AT);
        free(want);
        alrp_threadpool_free(tp);
    }
    free(x); free(t); free(go); free(prm);
}

static void parity_smooth_l1(void) {
    const int64_t n = 24;
    float * p = ref("sl1.pred", n), * t = ref("sl1.target", n), * go = ref("sl1.go", n);
    float out[24], g[24];
    const char * names[3] = { "beta1", "beta011", "l1" };
    const float betas[3] = { 1.0f, 0.11f, 0.0f };
    char name[96];
    for (int c = 0; c < 3; c++) {
        snprintf(name, sizeof(name), "sl1.%s", names[c]);
        float * want = ref(name, n);
        if (c < 2) alrp_loss_smooth_l1_f32(n, p, t, betas[c], ALRP_LOSS_REDUCTION_NONE, out);
        else       alrp_loss_l1_f32(n, p, t, ALRP_LOSS_REDUCTION_NONE, out);
        snprintf(name, sizeof(name), "%s %s: value", c < 2 ? "smooth L1" : "L1", names[c]);
        check(name, out, want, n, RT, AT);
        free(want);
        snprintf(name, sizeof(name), "sl1.%s.grad", names[c]);
        want = ref(name, n);
        memset(g, 0, sizeof(g));
        if (c < 2) alrp_loss_smooth_l1_backward_f32(n, p, t, betas[c], ALRP_LOSS_REDUCTION_NONE, go, g);
        else       alrp_loss_l1_backward_f32(n, p, t, ALRP_LOSS_REDUCTION_NONE, go, g);
        snprintf(name, sizeof(name), "%s %s: dL/dpred", c < 2 ? "smooth L1" : "L1", names[c]);
        check(name, g, want, n, RT, AT);
        free(want);
    }
    float * want = ref("sl1.beta011.mean", 1), * wantg = ref("sl1.beta011.mean.grad", n);
    float one = 1.0f;
    alrp_loss_smooth_l1_f32(n, p, t, 0.11f, ALRP_LOSS_REDUCTION_MEAN, out);
    check("smooth L1 beta 0.11 mean: value", out, want, 1, RT, AT);
    memset(g, 0, sizeof(g));
    alrp_loss_smooth_l1_backward_f32(n, p, t, 0.11f, ALRP_LOSS_REDUCTION_MEAN, &one, g);
    check("smooth L1 beta 0.11 mean: dL/dpred", g, wantg, n, RT, AT);
    free(want); free(wantg); free(p); free(t); free(go);
}

static void parity_giou(void) {
    const int64_t n = 24;
    float * bp = ref("giou.pred", 4 * n), * bt = ref("giou.target", 4 * n), * go = ref("giou.go", n);
    float out[24], gp[96], gt[96];
    float * want = ref("giou.none", n);
    alrp_loss_giou_f32(n, bp, bt, ALRP_GIOU_EPS, ALRP_LOSS_REDUCTION_NONE, out);
    check("GIoU none: value", out, want, n, RT, AT);
    free(want);
    memset(gp, 0, sizeof(gp)); memset(gt, 0, sizeof(gt));
    alrp_loss_giou_backward_f32(n, bp, bt, ALRP_GIOU_EPS, ALRP_LOSS_REDUCTION_NONE, go, gp, gt);
    want = ref("giou.none.grad_pred", 4 * n);
    check("GIoU none: dL/dpred (ties, disjoint, touching)", gp, want, 4 * n, RT, AT);
    free(want);
    want = ref("giou.none.grad_target", 4 * n);
    check("GIoU none: dL/dtarget", gt, want, 4 * n, RT, AT);
    free(want);
    float one = 1.0f;
    want = ref("giou.mean", 1);
    alrp_loss_giou_f32(n, bp, bt, ALRP_GIOU_EPS, ALRP_LOSS_REDUCTION_MEAN, out);
    check("GIoU mean: value", out, want, 1, RT, AT);
    free(want);
    memset(gp, 0, sizeof(gp));
    alrp_loss_giou_backward_f32(n, bp, bt, ALRP_GIOU_EPS, ALRP_LOSS_REDUCTION_MEAN, &one, gp, NULL);
    want = ref("giou.mean.grad_pred", 4 * n);
    check("GIoU mean: dL/dpred", gp, want, 4 * n, RT, AT);
    free(want); free(bp); free(bt); free(go);
}

static void parity_box(void) {
    const int64_t n = 12;
    float * an = ref("box.anchors", 4 * n), * bx = ref("box.boxes", 4 * n), * mu = ref("box.means", 4), * sd = ref("box.stds", 4);
    float * dl = ref("box.deltas", 4 * n), * go = ref("box.go", 4 * n);
    float out[48], g[48];
    float * want = ref("box.encoded", 4 * n);
    alrp_box_encode_f32(n, an, bx, mu, sd, out);
    check("box encode (means, stds)", out, want, 4 * n, RT, AT);
    free(want);
    // decode(encode(b)) = b
    alrp_box_decode_f32(n, an, out, mu, sd, ALRP_BOX_MAX_RATIO, g);
    check("box decode(encode(b)) = b", g, bx, 4 * n, 1e-5, 1e-5);
    want = ref("box.decoded", 4 * n);
    alrp_box_decode_f32(n, an, dl, mu, sd, ALRP_BOX_MAX_RATIO, out);
    check("box decode (clamped rows included)", out, want, 4 * n, RT, AT);
    free(want);
    want = ref("box.decoded.grad", 4 * n);
    memset(g, 0, sizeof(g));
    alrp_box_decode_backward_f32(n, an, dl, mu, sd, ALRP_BOX_MAX_RATIO, go, g);
    check("box decode backward: dL/ddeltas", g, want, 4 * n, RT, AT);
    free(want);
    float * pd = ref("eloc.pred", 4 * n), * td = ref("eloc.target", 4 * n), * gl = ref("eloc.go", n);
    float stds[4] = ALRP_BOX_STDS_ALRP;
    want = ref("eloc.loc_err", n);
    alrp_loc_err_giou_f32(n, pd, td, stds, out);
    check("E_loc = 1 - GIoU on the unit anchor", out, want, n, RT, AT);
    free(want);
    want = ref("eloc.grad", 4 * n);
    memset(g, 0, sizeof(g));
    alrp_loc_err_giou_backward_f32(n, pd, td, stds, gl, g);
    check("E_loc backward: dL/dpred_deltas", g, want, 4 * n, RT, AT);
    free(want);
    free(an); free(bx); free(mu); free(sd); free(dl); free(go); free(pd); free(td); free(gl);
}

// ---------------------------------------------------------------------------------------------
// 2. finite differences
// ---------------------------------------------------------------------------------------------

static struct alrp_rng rng = { 7 }; // fixed seed
static double rng_range(double a, double b) { return a + (b - a) * alrp_rng_uniform(&rng); }

static double fd_worst;
static void fd_cmp(double analytic, double numeric, double rtol, double atol) {
    double e = fabs(analytic - numeric) / (atol + rtol * fabs(numeric));
    if (!(e <= fd_worst)) fd_worst = e == e ? e : INFINITY;
}
static void fd_report(const char * what) {
    n_checks++;
    int ok = fd_worst <= 1.0;
    if (!ok) n_fail++;
    printf("%-4s %-48s max err/tol %.3g\n", ok ? "OK" : "FAIL", what, fd_worst);
    fd_worst = 0.0;
}

// in double on the per-element kernels, h = 1e-6
static void fd_double(void) {
    const double h = 1e-6, rt = 1e-6, at = 1e-9;
    const double params[5][2] = { { 0.25, 2.0 }, { 0.4, 1.5 }, { -1.0, 0.0 }, { 0.25, 0.5 }, { 0.75, 3.0 } };
    for (int c = 0; c < 5; c++) {
        for (int k = 0; k < 200; k++) {
            double x = rng_range(-12.0, 12.0), t = k % 3 == 0 ? alrp_rng_uniform(&rng) : (double) (k % 2);
            double d;
            alrp__focal_one(x, t, params[c][0], params[c][1], &d);
            double num = (alrp__focal_one(x + h, t, params[c][0], params[c][1], NULL) -
                          alrp__focal_one(x - h, t, params[c][0], params[c][1], NULL)) / (2 * h);
            fd_cmp(d, num, rt, at);
        }
    }
    fd_report("FD double: focal (5 alpha/gamma, soft targets)");
    for (int k = 0; k < 400; k++) {
        double beta = k % 4 == 0 ? 0.0 : rng_range(0.05, 2.0), dd = rng_range(-3.0, 3.0), g, gp, gm;
        if (fabs(fabs(dd) - beta) < 1e-3 || fabs(dd) < 1e-3) continue;   // kinks
        alrp__smooth_l1_one(dd, beta, &g);
        double num = (alrp__smooth_l1_one(dd + h, beta, &gp) - alrp__smooth_l1_one(dd - h, beta, &gm)) / (2 * h);
        fd_cmp(g, num, rt, at);
    }
    fd_report("FD double: smooth L1 / L1");
    int n_giou = 0;
    for (int k = 0; k < 400; k++) {
        float b[4], t[4];
        double x = rng_range(0, 5), y = rng_range(0, 5);
        b[0] = (float) x; b[1] = (float) y; b[2] = (float) (x + rng_range(0.2, 4)); b[3] = (float) (y + rng_range(0.2, 4));
        double u = x + rng_range(-3, 3), v = y + rng_range(-3, 3);
        t[0] = (float) u; t[1] = (float) v; t[2] = (float) (u + rng_range(0.2, 4)); t[3] = (float) (v + rng_range(0.2, 4));
        // stay away from the kinks: coordinates of the two boxes that (nearly) coincide
        int kink = 0;
        for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) if ((i & 1) == (j & 1) && fabs((double) b[i] - (double) t[j]) < 1e-3) kink = 1;
        if (kink) continue;
        double gb[4] = { 0, 0, 0, 0 }, gt[4] = { 0, 0, 0, 0 };
        const double go = 1.3;
        alrp__giou_one(b, t, 1e-7, go, gb, gt);
        // perturb in double: evaluate through a double copy of the kernel's inputs
        for (int c = 0; c < 8; c++) {
            float bp[4], tp[4], bm[4], tm[4];
            memcpy(bp, b, sizeof(b)); memcpy(tp, t, sizeof(t)); memcpy(bm, b, sizeof(b)); memcpy(tm, t, sizeof(t));
            // the kernel reads floats: use h relative to the float grid (exact shifts)
            float * P = c < 4 ? bp : tp, * M = c < 4 ? bm : tm;
            int i = c & 3;
            double hh = 1.0 / 1024.0;
            P[i] = (float) ((double) P[i] + hh); M[i] = (float) ((double) M[i] - hh);
            double lp = alrp__giou_one(bp, tp, 1e-7, 0, NULL, NULL), lm = alrp__giou_one(bm, tm, 1e-7, 0, NULL, NULL);
            double num = go * (lp - lm) / ((double) P[i] - (double) M[i]);
            // piecewise rational in the coordinates: the second-order error of hh = 2^-10
            fd_cmp(c < 4 ? gb[i] : gt[i], num, 2e-3, 1e-5);
        }
        n_giou++;
    }
    fd_report("FD double: GIoU, both boxes (h = 2^-10)");
    (void) n_giou;
}

// in float through the public functions; reduction NONE so each input touches one output
static void fd_float(void) {
    enum { N = 64 };
    float x[N], t[N], go[N], g[N], lp[N], lm[N];
    for (int i = 0; i < N; i++) { x[i] = (float) rng_range(-6, 6); t[i] = (float) (i % 3 == 0); go[i] = (float) rng_range(-1, 1); }
    const float hf = 1e-2f;
    memset(g, 0, sizeof(g));
    alrp_loss_sigmoid_focal_backward_f32(N, x, t, 0.25f, 2.0f, ALRP_LOSS_REDUCTION_NONE, go, g);
    for (int i = 0; i < N; i++) {
        float xp[N], xm[N];
        memcpy(xp, x, sizeof(x)); memcpy(xm, x, sizeof(x));
        xp[i] += hf; xm[i] -= hf;
        alrp_loss_sigmoid_focal_f32(N, xp, t, 0.25f, 2.0f, ALRP_LOSS_REDUCTION_NONE, lp);
        alrp_loss_sigmoid_focal_f32(N, xm, t, 0.25f, 2.0f, ALRP_LOSS_REDUCTION_NONE, lm);
        fd_cmp(g[i], go[i] * ((double) lp[i] - (double) lm[i]) / ((double) xp[i] - (double) xm[i]), 2e-3, 2e-5);
    }
    fd_report("FD float: focal via the public API");
    // mean reduction of smooth L1: dL/dpred_i = g(d_i) / n
    float p[N], tg[N], one = 1.0f, l0p, l0m;
    for (int i = 0; i < N; i++) { p[i] = (float) rng_range(-2, 2); tg[i] = (float) rng_range(-2, 2); }
    memset(g, 0, sizeof(g));
    alrp_loss_smooth_l1_backward_f32(N, p, tg, 0.5f, ALRP_LOSS_REDUCTION_MEAN, &one, g);
    for (int i = 0; i < N; i++) {
        double dd = (double) p[i] - (double) tg[i];
        if (fabs(fabs(dd) - 0.5) < 0.02 || fabs(dd) < 0.02) continue;
        float pp[N], pm[N];
        memcpy(pp, p, sizeof(p)); memcpy(pm, p, sizeof(p));
        pp[i] += hf; pm[i] -= hf;
        alrp_loss_smooth_l1_f32(N, pp, tg, 0.5f, ALRP_LOSS_REDUCTION_MEAN, &l0p);
        alrp_loss_smooth_l1_f32(N, pm, tg, 0.5f, ALRP_LOSS_REDUCTION_MEAN, &l0m);
        fd_cmp(g[i], ((double) l0p - (double) l0m) / ((double) pp[i] - (double) pm[i]), 5e-3, 5e-5);
    }
    fd_report("FD float: smooth L1 mean via the public API");
    // E_loc through decode + GIoU: d(sum go_k E_k)/d(pred deltas)
    enum { K = 16 };
    float pd[4 * K], td[4 * K], gk[K], gd[4 * K], ep[K], em[K];
    float stds[4] = ALRP_BOX_STDS_ALRP;
    for (int i = 0; i < 4 * K; i++) { pd[i] = (float) rng_range(-2, 2); td[i] = (float) rng_range(-2, 2); }
    pd[2] = 25.0f;    // clamped: no gradient through dw of row 0
    for (int k = 0; k < K; k++) gk[k] = (float) rng_range(0.2, 2);
    memset(gd, 0, sizeof(gd));
    alrp_loc_err_giou_backward_f32(K, pd, td, stds, gk, gd);
    int n_used = 0;
    for (int i = 0; i < 4 * K; i++) {
        float pp[4 * K], pm[4 * K];
        memcpy(pp, pd, sizeof(pd)); memcpy(pm, pd, sizeof(pd));
        pp[i] += hf; pm[i] -= hf;
        alrp_loc_err_giou_f32(K, pp, td, stds, ep);
        alrp_loc_err_giou_f32(K, pm, td, stds, em);
        int k = i / 4;
        // skip kinks (edges that nearly coincide): the one-sided slopes differ there
        float bp[4], bt[4];
        alrp_box_decode_f32(1, NULL, pd + 4 * k, NULL, stds, ALRP_BOX_MAX_RATIO, bp);
        alrp_box_decode_f32(1, NULL, td + 4 * k, NULL, stds, ALRP_BOX_MAX_RATIO, bt);
        int kink = 0;
        for (int a = 0; a < 4; a++) for (int b = 0; b < 4; b++) if ((a & 1) == (b & 1) && fabs((double) bp[a] - (double) bt[b]) < 0.05) kink = 1;
        if (kink) continue;
        double num = (double) gk[k] * ((double) ep[k] - (double) em[k]) / ((double) pp[i] - (double) pm[i]);
        fd_cmp(gd[i], num, 5e-3, 2e-4);
        n_used++;
    }
    check_true("E_loc FD used enough coordinates", n_used >= 32);
    fd_report("FD float: E_loc (decode + GIoU) backward");
    check_true("E_loc: no gradient through a clamped dw", gd[2] == 0.0f);
}

// ---------------------------------------------------------------------------------------------
// 3. accumulation, bad arguments
// ---------------------------------------------------------------------------------------------

static void accumulate_and_args(void) {
    float x[3] = { 0.5f, -1.0f, 2.0f }, t[3] = { 1, 0, 1 }, go[3] = { 1, 1, 1 }, g0[3] = { 0, 0, 0 }, g1[3] = { 10, 10, 10 };
    alrp_loss_sigmoid_focal_backward_f32(3, x, t, 0.25f, 2.0f, ALRP_LOSS_REDUCTION_NONE, go, g0);
    alrp_loss_sigmoid_focal_backward_f32(3, x, t, 0.25f, 2.0f, ALRP_LOSS_REDUCTION_NONE, go, g1);
    int ok = 1;
    for (int i = 0; i < 3; i++) ok &= fabsf(g1[i] - 10.0f - g0[i]) < 1e-5f;
    float b[8] = { 0, 0, 1, 1, 0.5f, 0.5f, 2, 2 }, gb0[8] = { 0 }, gb1[8] = { 1, 1, 1, 1, 1, 1, 1, 1 }, one = 1.0f;
    alrp_loss_giou_backward_f32(1, b, b + 4, ALRP_GIOU_EPS, ALRP_LOSS_REDUCTION_SUM, &one, gb0, NULL);
    alrp_loss_giou_backward_f32(1, b, b + 4, ALRP_GIOU_EPS, ALRP_LOSS_REDUCTION_SUM, &one, gb1, NULL);
    for (int i = 0; i < 4; i++) ok &= fabsf(gb1[i] - 1.0f - gb0[i]) < 1e-6f;
    check_true("backward kernels accumulate (+=) into dL/dinput", ok);
    float out[3];
    printf("(the next lines on stderr are expected error messages)\n");
    int bad = 1;
    bad &= alrp_loss_sigmoid_focal_f32(-1, x, t, 0.25f, 2.0f, ALRP_LOSS_REDUCTION_NONE, out) == -1;
    bad &= alrp_loss_sigmoid_focal_f32(3, x, t, 0.25f, -1.0f, ALRP_LOSS_REDUCTION_NONE, out) == -1;
    bad &= alrp_loss_sigmoid_focal_f32(3, NULL, t, 0.25f, 2.0f, ALRP_LOSS_REDUCTION_NONE, out) == -1;
    bad &= alrp_loss_smooth_l1_f32(3, x, t, -0.5f, ALRP_LOSS_REDUCTION_SUM, out) == -1;
    bad &= alrp_loss_giou_f32(1, b, b + 4, ALRP_GIOU_EPS, (enum alrp_loss_reduction) 7, out) == -1;
    bad &= alrp_loss_giou_f32(0, NULL, NULL, ALRP_GIOU_EPS, ALRP_LOSS_REDUCTION_MEAN, out) == 0 && out[0] == 0.0f;
    check_true("bad arguments return -1; n = 0 mean is 0", bad);
}

int main(void) {
    char err[512];
    g_ref = alrp_st_load("tests/data/losses.safetensors", err, sizeof err);
    if (!g_ref) { fprintf(stderr, "%s (run from the repository root; regenerate with /usr/bin/python3 tools/gen-ref-losses.py)\n", err); return 1; }
    parity_focal();
    parity_smooth_l1();
    parity_giou();
    parity_box();
    fd_double();
    fd_float();
    accumulate_and_args();
    alrp_st_close(g_ref);
    printf("%d checks, %d failed\n", n_checks, n_fail);
    return n_fail ? 1 : 0;
}
