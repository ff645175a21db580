// SGD (momentum) and AdamW: 3 steps against torch.optim (tests/data/optim.safetensors, written
// by tools/gen-ref-optim.py), both with the raw kernels and as graph ops (alrp_optimizer on the
// CPU backend, the reference gradients fed through loss = sum(p * G)); gradient clipping
// (max_grad_norm, PyTorch's clip_grad_norm_) against the kernels on gradients clipped by hand;
// alrp_sum_sq and alrp_global_norm values; and the SIMD kernels against their naive references
// on many sizes (every SIMD remainder) and hyper-parameters.
//     usage: test-optim [tests/data]
#define ALRP_INTERNAL   // the naive optimizer steps, the kernel info
#include "alrp.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOL_TORCH 1e-6f   // max abs error against PyTorch (the issue asks for 1e-4)

static int n_fail = 0, n_ok = 0;

static float max_abs_diff(const float * a, const float * b, int64_t n) {
    float m = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]);
        if (!(d <= m)) m = d;   // NaN propagates
    }
    return m;
}

// kind: "abs" (|a - b|) or "rel" (|a - b| / (1 + |b|))
static void report(const char * what, const char * kind, float err, float tol) {
    int ok = err <= tol;
    if (ok) n_ok++; else n_fail++;
    printf("%s %-46s max %s err %.3g (tol %.1g)\n", ok ? "OK  " : "FAIL", what, kind, (double) err, (double) tol);
}

static const float * get_f32(const struct alrp_st_file * f, const char * name, int64_t numel) {
    const struct alrp_st_tensor * t = alrp_st_get(f, name);
    if (!t || strcmp(t->dtype, "F32") != 0 || t->numel != numel) {
        fprintf(stderr, "optim.safetensors: tensor '%s' missing or not F32 of %lld values; regenerate with "
                "/usr/bin/python3 tools/gen-ref-optim.py\n", name, (long long) numel);
        exit(1);
    }
    return (const float *) t->data;
}

// the raw kernels, one parameter at a time
static void test_torch(const struct alrp_st_file * f) {
    char name[128], what[96];
    const float * sp = get_f32(f, "sgd.params", 3);
    const float * ap = get_f32(f, "adamw.params", 5);
    int n_params = atoi(alrp_st_metadata(f, "n_params") ? alrp_st_metadata(f, "n_params") : "0");
    if (n_params < 1) { fprintf(stderr, "optim.safetensors: metadata n_params missing\n"); n_fail++; return; }
    for (int k = 0; k < n_params; k++) {
        snprintf(name, sizeof(name), "p%d.init", k);
        const struct alrp_st_tensor * ti = alrp_st_get(f, name);
        if (!ti) { fprintf(stderr, "optim.safetensors: '%s' missing\n", name); n_fail++; continue; }
        int64_t n = ti->numel;
        float * p_sgd = (float *) calloc((size_t) n + 1, sizeof(float)), * buf = (float *) calloc((size_t) n + 1, sizeof(float));
        float * p_adw = (float *) calloc((size_t) n + 1, sizeof(float));
        float * m = (float *) calloc((size_t) n + 1, sizeof(float)), * v = (float *) calloc((size_t) n + 1, sizeof(float));
        memcpy(p_sgd, ti->data, (size_t) n * 4);
        memcpy(p_adw, ti->data, (size_t) n * 4);
        float e_sgd = 0.0f, e_adw = 0.0f;
        for (int s = 1; s <= 3; s++) {
            snprintf(name, sizeof(name), "p%d.grad%d", k, s);
            const float * g = get_f32(f, name, n);
            alrp_sgd_step_f32(n, p_sgd, g, buf, sp[0], sp[1], sp[2], s);
            alrp_adamw_step_f32(n, p_adw, g, m, v, ap[0], ap[1], ap[2], ap[3], ap[4], s);
            snprintf(name, sizeof(name), "sgd.p%d.step%d", k, s);
            e_sgd = fmaxf(e_sgd, max_abs_diff(p_sgd, get_f32(f, name, n), n));
            snprintf(name, sizeof(name), "adamw.p%d.step%d", k, s);
            e_adw = fmaxf(e_adw, max_abs_diff(p_adw, get_f32(f, name, n), n));
        }
        snprintf(name, sizeof(name), "sgd.p%d.buf3", k);
        float e_buf = max_abs_diff(buf, get_f32(f, name, n), n);
        snprintf(name, sizeof(name), "adamw.p%d.m3", k);
        float e_m = max_abs_diff(m, get_f32(f, name, n), n);
        snprintf(name, sizeof(name), "adamw.p%d.v3", k);
        float e_v = max_abs_diff(v, get_f32(f, name, n), n);
        snprintf(what, sizeof(what), "torch SGD   p%d (n=%lld) 3 steps", k, (long long) n);
        report(what, "abs", e_sgd, TOL_TORCH);
        snprintf(what, sizeof(what), "torch SGD   p%d momentum buffer", k);
        report(what, "abs", e_buf, TOL_TORCH);
        snprintf(what, sizeof(what), "torch AdamW p%d (n=%lld) 3 steps", k, (long long) n);
        report(what, "abs", e_adw, TOL_TORCH);
        snprintf(what, sizeof(what), "torch AdamW p%d m, v", k);
        report(what, "abs", fmaxf(e_m, e_v), TOL_TORCH);
        free(p_sgd); free(buf); free(p_adw); free(m); free(v);
    }
}

// ---- the optimizer as graph ops --------------------------------------------------------------
// One graph over every reference parameter p_k: loss = sum_k sum(p_k * G_k) with G_k an input
// holding the step's reference gradient, so grad(p_k) = G_k exactly; alrp_optimizer_build
// appends the global norm and the updates, and each step is prepare + one backend compute.

#define MAXP 8
struct refs { int n_params; int64_t n[MAXP]; const float * init[MAXP], * grad[MAXP][3]; const float * sp, * ap; };

struct ograph {
    struct alrp_context * cw, * cc;
    struct alrp_tensor * p[MAXP], * G[MAXP];
    struct alrp_graph * g;
    struct alrp_optimizer * opt;
    struct alrp_buffer * bw;
    struct alrp_gallocr * ga;
};

static void ograph_build(struct ograph * o, struct alrp_backend * be, const struct refs * R, struct alrp_opt_params op, float max_norm) {
    struct alrp_init_params ipw = { 1 << 20, NULL, true }, ipc = { 4 << 20, NULL, true };
    o->cw = alrp_init(ipw); o->cc = alrp_init(ipc);
    struct alrp_tensor * loss = NULL;
    for (int k = 0; k < R->n_params; k++) {
        o->p[k] = alrp_format_name(alrp_new_tensor_1d(o->cw, R->n[k]), "p%d", k);
        alrp_set_param(o->cw, o->p[k]);
        o->G[k] = alrp_format_name(alrp_new_tensor_1d(o->cc, R->n[k]), "G%d", k);
        alrp_set_input(o->G[k]);
        struct alrp_tensor * l = alrp_sum(o->cc, alrp_mul(o->cc, o->p[k], o->G[k]));
        loss = loss ? alrp_add(o->cc, loss, l) : l;
    }
    alrp_set_loss(o->cc, loss);
    o->g = alrp_new_graph(o->cc, 256);
    alrp_build_forward(o->g, loss);
    alrp_build_backward(o->cc, o->g);
    o->opt = alrp_optimizer_new(o->cw, o->g, op);
    o->bw = alrp_backend_alloc_ctx_tensors(o->cw, be);   // parameters, state, hyper-parameters
    if (!o->bw || alrp_ctx_n_unplaced(o->cw) != 0) { fprintf(stderr, "test-optim: parameters not placed\n"); exit(1); }
    for (int k = 0; k < R->n_params; k++) alrp_backend_set_f32(be, o->p[k], R->init[k]);
    alrp_optimizer_reset(o->opt, be);
    alrp_optimizer_build(o->opt, o->cc, o->g, max_norm);
    o->ga = alrp_gallocr_new(be);
    if (!alrp_gallocr_reserve(o->ga, o->g) || !alrp_gallocr_alloc_graph(o->ga, o->g)) { fprintf(stderr, "test-optim: graph not placed\n"); exit(1); }
}
static void ograph_free(struct ograph * o) {
    alrp_gallocr_free(o->ga);
    alrp_buffer_free(o->bw);
    alrp_free(o->cc); alrp_free(o->cw);
}
// one step with the reference gradients of step s (1..3); false if the compute failed
static bool ograph_step(struct ograph * o, struct alrp_backend * be, const struct refs * R, int s) {
    for (int k = 0; k < R->n_params; k++) alrp_backend_set_f32(be, o->G[k], R->grad[k][s - 1]);
    alrp_optimizer_prepare(o->opt, be);
    enum alrp_status st = alrp_backend_graph_compute(be, o->g);
    if (st != ALRP_STATUS_SUCCESS) { printf("FAIL graph compute: %s\n", alrp_status_name(st)); n_fail++; return false; }
    return true;
}
// the optimizer's state tensor "p<k>.<what>" (PyTorch's state names)
static struct alrp_tensor * ostate(const struct ograph * o, int k, const char * what) {
    struct alrp_tensor ** st;
    int n = alrp_optimizer_state(o->opt, &st);
    char name[64];
    snprintf(name, sizeof(name), "p%d.%s", k, what);
    for (int i = 0; i < n; i++) if (strcmp(st[i]->name, name) == 0) return st[i];
    printf("FAIL optimizer state '%s' not found\n", name); n_fail++;
    return NULL;
}
static float * bget(struct alrp_backend * be, const struct alrp_tensor * t) {   // a host copy (free it)
    float * v = (float *) calloc((size_t) alrp_nelements(t) + 1, sizeof(float));
    alrp_backend_get_f32(be, t, v);
    return v;
}
static float state_err(struct alrp_backend * be, const struct ograph * o, int k, const char * what, const float * ref) {
    struct alrp_tensor * t = ostate(o, k, what);
    if (!t) return INFINITY;
    float * v = bget(be, t);
    float e = max_abs_diff(v, ref, alrp_nelements(t));
    free(v);
    return e;
}
// the global gradient norm of step s, by hand in double
static double norm_by_hand(const struct refs * R, int s) {
    double ss = 0.0;
    for (int k = 0; k < R->n_params; k++) for (int64_t i = 0; i < R->n[k]; i++) ss += (double) R->grad[k][s - 1][i] * R->grad[k][s - 1][i];
    return sqrt(ss);
}

static struct alrp_opt_params opt_params(const struct refs * R, enum alrp_opt_type type) {
    struct alrp_opt_params op = alrp_opt_default_params(type);
    if (type == ALRP_OPT_SGD) { op.lr = R->sp[0]; op.momentum = R->sp[1]; op.weight_decay = R->sp[2]; }
    else { op.lr = R->ap[0]; op.beta1 = R->ap[1]; op.beta2 = R->ap[2]; op.eps = R->ap[3]; op.weight_decay = R->ap[4]; }
    return op;
}

// the graph path against torch.optim, no clipping
static void test_torch_graph(const struct alrp_st_file * f, const struct refs * R, struct alrp_backend * be) {
    char name[128], what[96];
    for (int t = 0; t < 2; t++) {
        const enum alrp_opt_type type = t ? ALRP_OPT_ADAMW : ALRP_OPT_SGD;
        const char * on = t ? "adamw" : "sgd", * ON = t ? "AdamW" : "SGD  ";
        struct ograph o;
        ograph_build(&o, be, R, opt_params(R, type), 0.0f);
        float e_p[MAXP] = { 0 }, e_g = 0.0f;
        double e_norm = 0.0;
        for (int s = 1; s <= 3; s++) {
            if (!ograph_step(&o, be, R, s)) break;
            for (int k = 0; k < R->n_params; k++) {
                float * gr = bget(be, alrp_graph_grad(o.g, o.p[k])), * pv = bget(be, o.p[k]);
                e_g = fmaxf(e_g, max_abs_diff(gr, R->grad[k][s - 1], R->n[k]));
                snprintf(name, sizeof(name), "%s.p%d.step%d", on, k, s);
                e_p[k] = fmaxf(e_p[k], max_abs_diff(pv, get_f32(f, name, R->n[k]), R->n[k]));
                free(gr); free(pv);
            }
            double nh = norm_by_hand(R, s), ng = alrp_backend_get_f32_1(be, alrp_optimizer_grad_norm(o.opt), 0);
            e_norm = fmax(e_norm, fabs(ng - nh) / nh);
        }
        snprintf(what, sizeof(what), "graph %s grad(p) == G (3 steps)", ON);
        report(what, "abs", e_g, 0.0f);
        snprintf(what, sizeof(what), "graph %s grad norm vs by hand", ON);
        report(what, "rel", (float) e_norm, 1e-6f);
        for (int k = 0; k < R->n_params; k++) {
            snprintf(what, sizeof(what), "graph torch %s p%d (n=%lld) 3 steps", ON, k, (long long) R->n[k]);
            report(what, "abs", e_p[k], TOL_TORCH);
            if (type == ALRP_OPT_SGD) {
                snprintf(name, sizeof(name), "sgd.p%d.buf3", k);
                snprintf(what, sizeof(what), "graph torch SGD   p%d momentum buffer", k);
                report(what, "abs", state_err(be, &o, k, "momentum_buffer", get_f32(f, name, R->n[k])), TOL_TORCH);
            } else {
                snprintf(name, sizeof(name), "adamw.p%d.m3", k);
                float e = state_err(be, &o, k, "exp_avg", get_f32(f, name, R->n[k]));
                snprintf(name, sizeof(name), "adamw.p%d.v3", k);
                e = fmaxf(e, state_err(be, &o, k, "exp_avg_sq", get_f32(f, name, R->n[k])));
                snprintf(what, sizeof(what), "graph torch AdamW p%d m, v", k);
                report(what, "abs", e, TOL_TORCH);
            }
        }
        char lw[96];
        snprintf(lw, sizeof(lw), "graph %s step count after 3 steps", ON);
        report(lw, "abs", (float) llabs(alrp_optimizer_n_steps(o.opt) - 3), 0.0f);
        ograph_free(&o);
    }
}

// Gradient clipping: max_grad_norm between the smallest and the middle step norm, so one step is
// not clipped and two are. Reference: the raw kernels on the gradients scaled by PyTorch's
// clip_grad_norm_ coefficient min(1, max_norm / (norm + 1e-6)), computed here in double.
static void test_clip_graph(const struct refs * R, struct alrp_backend * be) {
    double nrm[3];
    for (int s = 1; s <= 3; s++) nrm[s - 1] = norm_by_hand(R, s);
    double srt[3] = { nrm[0], nrm[1], nrm[2] };
    for (int i = 0; i < 3; i++) for (int j = i + 1; j < 3; j++) if (srt[j] < srt[i]) { double tmp = srt[i]; srt[i] = srt[j]; srt[j] = tmp; }
    const float max_norm = (float) (0.5 * (srt[0] + srt[1]));
    double coef[3];
    int n_clipped = 0;
    for (int s = 0; s < 3; s++) { coef[s] = fmin(1.0, (double) max_norm / (nrm[s] + 1e-6)); n_clipped += coef[s] < 1.0; }
    printf("     clipping: max_norm %.6f, step norms %.6f %.6f %.6f, coefficients %.6f %.6f %.6f\n", (double) max_norm,
           nrm[0], nrm[1], nrm[2], coef[0], coef[1], coef[2]);
    report("clip: 2 of 3 steps clipped", "abs", (float) abs(n_clipped - 2), 0.0f);
    char what[96];
    for (int t = 0; t < 2; t++) {
        const enum alrp_opt_type type = t ? ALRP_OPT_ADAMW : ALRP_OPT_SGD;
        const char * ON = t ? "AdamW" : "SGD  ";
        struct alrp_opt_params op = opt_params(R, type);
        struct ograph o;
        ograph_build(&o, be, R, op, max_norm);
        float * p[MAXP], * s0[MAXP], * s1[MAXP], * gs[MAXP];
        for (int k = 0; k < R->n_params; k++) {
            size_t n = (size_t) R->n[k] + 1;
            p[k] = (float *) malloc(n * sizeof(float)); memcpy(p[k], R->init[k], (size_t) R->n[k] * sizeof(float));
            s0[k] = (float *) calloc(n, sizeof(float)); s1[k] = (float *) calloc(n, sizeof(float)); gs[k] = (float *) calloc(n, sizeof(float));
        }
        float e_p = 0.0f;
        double e_norm = 0.0;
        for (int s = 1; s <= 3; s++) {
            if (!ograph_step(&o, be, R, s)) break;
            const float c = (float) coef[s - 1];
            for (int k = 0; k < R->n_params; k++) {
                for (int64_t i = 0; i < R->n[k]; i++) gs[k][i] = R->grad[k][s - 1][i] * c;
                if (type == ALRP_OPT_SGD) alrp_sgd_step_f32(R->n[k], p[k], gs[k], s0[k], op.lr, op.momentum, op.weight_decay, s);
                else alrp_adamw_step_f32(R->n[k], p[k], gs[k], s0[k], s1[k], op.lr, op.beta1, op.beta2, op.eps, op.weight_decay, s);
                float * pv = bget(be, o.p[k]);
                e_p = fmaxf(e_p, max_abs_diff(pv, p[k], R->n[k]));
                free(pv);
            }
            double ng = alrp_backend_get_f32_1(be, alrp_optimizer_grad_norm(o.opt), 0);   // before clipping
            e_norm = fmax(e_norm, fabs(ng - nrm[s - 1]) / nrm[s - 1]);
        }
        float e_s = 0.0f;
        for (int k = 0; k < R->n_params; k++) {
            if (type == ALRP_OPT_SGD) e_s = fmaxf(e_s, state_err(be, &o, k, "momentum_buffer", s0[k]));
            else e_s = fmaxf(e_s, fmaxf(state_err(be, &o, k, "exp_avg", s0[k]), state_err(be, &o, k, "exp_avg_sq", s1[k])));
            free(p[k]); free(s0[k]); free(s1[k]); free(gs[k]);
        }
        snprintf(what, sizeof(what), "clip %s: grad norm (unclipped) by hand", ON);
        report(what, "rel", (float) e_norm, 1e-6f);
        snprintf(what, sizeof(what), "clip %s: all params, 3 steps vs kernels", ON);
        report(what, "abs", e_p, TOL_TORCH);
        snprintf(what, sizeof(what), "clip %s: state vs kernels", ON);
        report(what, "abs", e_s, TOL_TORCH);
        ograph_free(&o);
    }
}

// alrp_sum_sq and alrp_global_norm on the backend against sums in double; some exact values
static void test_norm_values(struct alrp_backend * be) {
    const int64_t sizes[] = { 1, 2, 7, 16, 33, 1000, 100003 };
    const int n_sizes = (int) (sizeof(sizes) / sizeof(sizes[0]));
    struct alrp_init_params ip = { 1 << 20, NULL, true };
    struct alrp_context * ctx = alrp_init(ip);
    struct alrp_tensor * a[8], * ss[8];
    for (int i = 0; i < n_sizes; i++) {
        a[i] = alrp_format_name(alrp_new_tensor_1d(ctx, sizes[i]), "a%d", i);
        alrp_set_input(a[i]);
        ss[i] = alrp_sum_sq(ctx, a[i]);
        alrp_set_output(ss[i]);
    }
    // a strided view: a (4, 6) tensor transposed
    struct alrp_tensor * m = alrp_set_name(alrp_new_tensor_2d(ctx, 4, 6), "m");
    alrp_set_input(m);
    const int ax[2] = { 1, 0 };
    struct alrp_tensor * ssm = alrp_sum_sq(ctx, alrp_permute(ctx, m, ax));
    alrp_set_output(ssm);
    struct alrp_tensor * gn = alrp_global_norm(ctx, n_sizes, a);
    alrp_set_output(gn);
    struct alrp_tensor * e1 = alrp_set_name(alrp_new_tensor_1d(ctx, 1), "three"), * e2 = alrp_set_name(alrp_new_tensor_1d(ctx, 2), "four");
    alrp_set_input(e1); alrp_set_input(e2);
    struct alrp_tensor * e12[2] = { e1, e2 };
    struct alrp_tensor * gn34 = alrp_global_norm(ctx, 2, e12), * ss34 = alrp_sum_sq(ctx, e2);
    alrp_set_output(gn34); alrp_set_output(ss34);
    struct alrp_graph * g = alrp_new_graph(ctx, 64);
    for (int i = 0; i < n_sizes; i++) alrp_build_forward(g, ss[i]);
    alrp_build_forward(g, ssm); alrp_build_forward(g, gn); alrp_build_forward(g, gn34); alrp_build_forward(g, ss34);
    struct alrp_gallocr * ga = alrp_gallocr_new(be);
    if (!alrp_gallocr_alloc_graph(ga, g)) { fprintf(stderr, "test-optim: norm graph not placed\n"); exit(1); }
    double want[8], tot = 0.0, wm = 0.0;
    struct alrp_rng r = { 99 };
    for (int i = 0; i < n_sizes; i++) {
        float * v = (float *) malloc(sizeof(float) * (size_t) sizes[i]);
        want[i] = 0.0;
        for (int64_t k = 0; k < sizes[i]; k++) { v[k] = (float) (3.0 * alrp_rng_normal(&r)); want[i] += (double) v[k] * v[k]; }
        tot += want[i];
        alrp_backend_set_f32(be, a[i], v);
        free(v);
    }
    float mv[24];
    for (int k = 0; k < 24; k++) { mv[k] = (float) (k - 11) * 0.37f; wm += (double) mv[k] * mv[k]; }
    alrp_backend_set_f32(be, m, mv);
    const float three = -3.0f, four[2] = { 4.0f, 0.0f };
    alrp_backend_set_f32(be, e1, &three);
    alrp_backend_set_f32(be, e2, four);
    enum alrp_status st = alrp_backend_graph_compute(be, g);
    if (st != ALRP_STATUS_SUCCESS) { printf("FAIL norm graph compute: %s\n", alrp_status_name(st)); n_fail++; }
    double e = 0.0;
    for (int i = 0; i < n_sizes; i++) e = fmax(e, fabs(alrp_backend_get_f32_1(be, ss[i], 0) - want[i]) / want[i]);
    report("sum_sq, 7 sizes to 100003, vs double", "rel", (float) e, 1e-6f);
    report("sum_sq of a transposed view", "rel", (float) (fabs(alrp_backend_get_f32_1(be, ssm, 0) - wm) / wm), 1e-6f);
    report("global_norm of the 7 vs double", "rel", (float) (fabs(alrp_backend_get_f32_1(be, gn, 0) - sqrt(tot)) / sqrt(tot)), 1e-6f);
    report("global_norm([-3], [4, 0]) == 5", "abs", fabsf(alrp_backend_get_f32_1(be, gn34, 0) - 5.0f), 0.0f);
    report("sum_sq([4, 0]) == 16", "abs", fabsf(alrp_backend_get_f32_1(be, ss34, 0) - 16.0f), 0.0f);
    alrp_gallocr_free(ga);
    alrp_free(ctx);
}

static struct alrp_rng rng = { 42 };
static float rng_normal(void) { return (float) alrp_rng_normal(&rng); }

// max of |a - b| / (1 + |b|): the fast kernels fuse multiply-adds, the naive ones do not
static float max_rel_diff(const float * a, const float * b, int64_t n) {
    float m = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]) / (1.0f + fabsf(b[i]));
        if (!(d <= m)) m = d;
    }
    return m;
}

static void test_fast_vs_naive(void) {
    struct { float lr, mom, wd; } sgd_cfg[] = { { 0.1f, 0.9f, 1e-4f }, { 0.01f, 0.0f, 0.0f }, { 0.5f, 0.5f, 0.1f }, { 1e-3f, 0.99f, 0.0f } };
    struct { float lr, b1, b2, eps, wd; } adw_cfg[] = {
        { 1e-2f, 0.9f, 0.999f, 1e-8f, 1e-2f }, { 1e-3f, 0.8f, 0.99f, 1e-6f, 0.0f }, { 0.1f, 0.0f, 0.5f, 1e-3f, 0.5f },
    };
    const int64_t sizes[] = { 0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 64, 100, 1000, 4099 };
    const int n_sizes = (int) (sizeof(sizes) / sizeof(sizes[0]));
    const int64_t nmax = 4099;
    float * p0 = malloc(sizeof(float) * nmax), * p1 = malloc(sizeof(float) * nmax), * g = malloc(sizeof(float) * nmax);
    float * b0 = malloc(sizeof(float) * nmax), * b1 = malloc(sizeof(float) * nmax);
    float * m0 = malloc(sizeof(float) * nmax), * m1 = malloc(sizeof(float) * nmax);
    float * v0 = malloc(sizeof(float) * nmax), * v1 = malloc(sizeof(float) * nmax);
    char what[96];
    for (size_t c = 0; c < sizeof(sgd_cfg) / sizeof(sgd_cfg[0]); c++) {
        float e = 0.0f;
        for (int si = 0; si < n_sizes; si++) {
            int64_t n = sizes[si];
            for (int64_t i = 0; i < n; i++) p0[i] = p1[i] = rng_normal();
            for (int step = 1; step <= 4; step++) {
                for (int64_t i = 0; i < n; i++) g[i] = rng_normal();
                alrp_sgd_step_f32(n, p0, g, sgd_cfg[c].mom != 0.0f ? b0 : NULL, sgd_cfg[c].lr, sgd_cfg[c].mom, sgd_cfg[c].wd, step);
                alrp__sgd_step_f32_naive(n, p1, g, sgd_cfg[c].mom != 0.0f ? b1 : NULL, sgd_cfg[c].lr, sgd_cfg[c].mom, sgd_cfg[c].wd, step);
                e = fmaxf(e, max_rel_diff(p0, p1, n));
                if (sgd_cfg[c].mom != 0.0f) e = fmaxf(e, max_rel_diff(b0, b1, n));
            }
        }
        snprintf(what, sizeof(what), "SGD fast vs naive, lr %g mom %g wd %g", (double) sgd_cfg[c].lr,
                 (double) sgd_cfg[c].mom, (double) sgd_cfg[c].wd);
        report(what, "rel", e, 1e-6f);
    }
    for (size_t c = 0; c < sizeof(adw_cfg) / sizeof(adw_cfg[0]); c++) {
        float e = 0.0f;
        for (int si = 0; si < n_sizes; si++) {
            int64_t n = sizes[si];
            for (int64_t i = 0; i < n; i++) { p0[i] = p1[i] = rng_normal(); m0[i] = m1[i] = v0[i] = v1[i] = 0.0f; }
            for (int step = 1; step <= 5; step++) {
                float scale = (step % 2) ? 1.0f : 1e-6f;   // small gradients: eps matters
                for (int64_t i = 0; i < n; i++) g[i] = rng_normal() * scale;
                alrp_adamw_step_f32(n, p0, g, m0, v0, adw_cfg[c].lr, adw_cfg[c].b1, adw_cfg[c].b2, adw_cfg[c].eps, adw_cfg[c].wd, step);
                alrp__adamw_step_f32_naive(n, p1, g, m1, v1, adw_cfg[c].lr, adw_cfg[c].b1, adw_cfg[c].b2, adw_cfg[c].eps, adw_cfg[c].wd, step);
                e = fmaxf(e, max_rel_diff(p0, p1, n));
                e = fmaxf(e, max_rel_diff(m0, m1, n));
                e = fmaxf(e, max_rel_diff(v0, v1, n));
            }
        }
        snprintf(what, sizeof(what), "AdamW fast vs naive, lr %g b1 %g wd %g", (double) adw_cfg[c].lr,
                 (double) adw_cfg[c].b1, (double) adw_cfg[c].wd);
        report(what, "rel", e, 1e-6f);
    }
    // hand-computed first steps (n = 1)
    {
        float p = 1.0f, gg = 0.5f, buf = 123.0f;
        alrp_sgd_step_f32(1, &p, &gg, &buf, 0.1f, 0.9f, 0.0f, 1);   // buf = 0.5, p = 1 - 0.05
        report("SGD step 1 sets the buffer to the grad", "abs", fmaxf(fabsf(buf - 0.5f), fabsf(p - 0.95f)), 1e-7f);
        alrp_sgd_step_f32(1, &p, &gg, &buf, 0.1f, 0.9f, 0.0f, 2);   // buf = 0.95, p = 0.95 - 0.095
        report("SGD step 2 accumulates the buffer", "abs", fmaxf(fabsf(buf - 0.95f), fabsf(p - 0.855f)), 1e-7f);
        float q = 2.0f, m = 0.0f, v = 0.0f, g2 = -3.0f;
        // step 1: m_hat = g, v_hat = g^2, so p = 2 * (1 - 0.1 * 0.5) - 0.1 * (-3 / (3 + 1e-3))
        alrp_adamw_step_f32(1, &q, &g2, &m, &v, 0.1f, 0.9f, 0.999f, 1e-3f, 0.5f, 1);
        report("AdamW step 1 by hand", "abs", fabsf(q - (float) (2.0 * 0.95 + 0.1 * 3.0 / 3.001)), 1e-6f);
    }
    free(p0); free(p1); free(g); free(b0); free(b1); free(m0); free(m1); free(v0); free(v1);
}

int main(int argc, char ** argv) {
    const char * data_dir = argc > 1 ? argv[1] : "tests/data";
    printf("SIMD: %s\n", alrp__kernel_info(NULL));
    char path[512], err[512], name[128];
    snprintf(path, sizeof(path), "%s/optim.safetensors", data_dir);
    struct alrp_st_file * f = alrp_st_load(path, err, sizeof(err));
    struct alrp_backend * be = alrp_backend_cpu_init(2);
    if (!f) {
        fprintf(stderr, "%s\nHINT: run from the repository root (or pass the data folder), or regenerate the file "
                "with /usr/bin/python3 tools/gen-ref-optim.py\n", err);
        n_fail++;
    } else {
        test_torch(f);
        struct refs R;
        memset(&R, 0, sizeof(R));
        R.sp = get_f32(f, "sgd.params", 3);
        R.ap = get_f32(f, "adamw.params", 5);
        R.n_params = atoi(alrp_st_metadata(f, "n_params") ? alrp_st_metadata(f, "n_params") : "0");
        if (R.n_params < 1 || R.n_params > MAXP) { fprintf(stderr, "%s: metadata n_params missing or > %d\n", path, MAXP); n_fail++; R.n_params = 0; }
        for (int k = 0; k < R.n_params; k++) {
            snprintf(name, sizeof(name), "p%d.init", k);
            const struct alrp_st_tensor * ti = alrp_st_get(f, name);
            if (!ti) { fprintf(stderr, "%s: '%s' missing\n", path, name); n_fail++; R.n_params = 0; break; }
            R.n[k] = ti->numel;
            R.init[k] = get_f32(f, name, ti->numel);
            for (int s = 1; s <= 3; s++) { snprintf(name, sizeof(name), "p%d.grad%d", k, s); R.grad[k][s - 1] = get_f32(f, name, ti->numel); }
        }
        if (R.n_params > 0) {
            printf("graph ops on %s\n", alrp_backend_name(be));
            test_torch_graph(f, &R, be);
            test_clip_graph(&R, be);
        }
    }
    test_norm_values(be);
    test_fast_vs_naive();
    alrp_backend_free(be);
    if (f) alrp_st_close(f);
    printf("%d OK, %d FAIL\n", n_ok, n_fail);
    return n_fail ? 1 : 0;
}
