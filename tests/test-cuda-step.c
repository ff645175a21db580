// test-cuda-step: two training steps of the `shapes` model (models/shapes: the small backbone with
// BN in train mode, FPN and head of 64 channels x 2 convs, 2 anchors per location; 3 classes, 2
// images of 64 x 64 here, aLRP Loss, SGD with momentum) on the CPU backend and on every CUDA
// backend compiled in, from the same random weights and the same synthetic batch: the host test
// double (alrp_backend_cuda_host_init, -DALRP_CUDA_HOST: the CUDA dispatch and kernel bodies on
// the CPU) and the real one (-DALRP_CUDA; "skipped: no CUDA device" without a driver or GPU).
// Checks, per step: total, cls and loc losses to 1e-4 relative, P exactly, the gradient norm to
// 1e-3, and after both steps every parameter to 1e-4 of its tensor's largest value (the updates
// ran on the device). Exits non-zero on a mismatch.
#include "../detector/model-nn.c"
#include "../detector/model-resnet.c"
#include "../detector/model-fpn.c"
#include "../detector/model-head.c"
#include "../detector/model.c"
#include "../detector/model-loss.c"
#if defined(ALRP_CUDA) || defined(ALRP_CUDA_HOST)
#include "../alrp-cuda.h"
#endif

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_IMG 2
#define IMG 64
#define N_STEPS 2

static int fails = 0;
#define CHECK(c, ...) do { if (!(c)) { printf("FAIL "); printf(__VA_ARGS__); printf("\n"); fails++; } } while (0)

struct run_result { struct step_out out[N_STEPS]; int np; float ** params; int64_t * n; };

// the batch: images uniform in [-1, 1], 1 positive in 40 anchors (its class at random), 1/16
// ignored, targets N(0, 0.5)
static void make_batch(const struct step * s, float * img, int8_t * lab, float * tgt) {
    struct alrp_rng r = { 12345 };
    for (int64_t i = 0; i < s->N * 3 * s->H * s->W; i++) img[i] = (float) (2.0 * alrp_rng_uniform(&r) - 1.0);
    for (int64_t a = 0; a < s->N * s->A; a++) {
        double u = alrp_rng_uniform(&r);
        int cls = (int) (alrp_rng_uniform(&r) * (double) s->C);
        for (int64_t c = 0; c < s->C; c++) lab[a * s->C + c] = u < 1.0 / 16 ? -1 : (u > 1.0 - 1.0 / 40 && c == cls ? 1 : 0);
        for (int k = 0; k < 4; k++) tgt[a * 4 + k] = (float) (0.5 * alrp_rng_normal(&r));
    }
}

static bool run_steps(struct alrp_backend * be, struct run_result * res) {
    struct model_options o;
    model_options_for(&o, "small", 3, 2);
    o.backbone.bn = ALRP_BN_TRAIN;
    o.backbone.frozen_stages = -1;
    o.fpn_channels = 64;
    o.head_channels = 64;
    o.head_convs = 2;
    char err[512];
    struct alrp_context * cw = alrp_init((struct alrp_init_params) { model_weights_mem_size(&o), NULL, true });
    struct model * m = (struct model *) malloc(sizeof *m);
    struct step * s = (struct step *) malloc(sizeof *s);
    bool ok = model_init(m, cw, &o, err, sizeof err) == 0;
    struct loss_options lo;
    loss_options_default(&lo, LOSS_ALRP);
    lo.rank_group = N_IMG;
    ok = ok && step_init(s, m, cw, be, N_IMG, IMG, IMG, &lo, alrp_opt_default_params(ALRP_OPT_SGD), err, sizeof err) == 0;
    struct alrp_buffer * bw = ok ? alrp_backend_alloc_ctx_tensors(cw, be) : NULL;
    ok = ok && bw && model_init_weights(m, be, 7) == 0 && step_place(s, err, sizeof err) == 0;
    if (!ok) { printf("FAIL %s: setup: %s\n", alrp_backend_name(be), err); fails++; return false; }
    float * img = (float *) malloc(sizeof(float) * (size_t) (s->N * 3 * s->H * s->W));
    int8_t * lab = (int8_t *) malloc((size_t) (s->N * s->A * s->C));
    float * tgt = (float *) malloc(sizeof(float) * (size_t) (s->N * s->A * 4));
    make_batch(s, img, lab, tgt);
    for (int k = 0; k < N_STEPS && ok; k++) {
        ok = step_run(s, img, lab, tgt, 0.01f, &res->out[k], err, sizeof err) == 0;
        if (!ok) { printf("FAIL %s: step %d: %s\n", alrp_backend_name(be), k + 1, err); fails++; }
        else printf("%-44s step %d: total %.6f cls %.6f loc %.6f P %lld |g| %.5e\n", alrp_backend_name(be), k + 1, res->out[k].total,
                    res->out[k].cls, res->out[k].loc, (long long) res->out[k].n_pos, res->out[k].grad_norm);
    }
    res->np = alrp_graph_n_params(s->g);
    res->params = (float **) calloc((size_t) res->np, sizeof(float *));
    res->n = (int64_t *) calloc((size_t) res->np, sizeof(int64_t));
    for (int i = 0; ok && i < res->np; i++) {
        struct alrp_tensor * p = alrp_graph_param(s->g, i);
        res->n[i] = alrp_nelements(p);
        res->params[i] = (float *) malloc(alrp_nbytes(p));
        alrp_backend_get_f32(be, p, res->params[i]);
    }
    free(img); free(lab); free(tgt);
    step_free(s); free(s);
    alrp_buffer_free(bw);
    model_free(m); free(m);
    alrp_free(cw);
    return ok;
}

static void result_free(struct run_result * r) {
    for (int i = 0; i < r->np; i++) free(r->params[i]);
    free(r->params); free(r->n);
}

static bool close_rel(double a, double b, double tol) { return fabs(a - b) <= tol * fmax(fabs(b), 1e-6); }

static void compare(const char * name, const struct run_result * got, const struct run_result * ref) {
    for (int k = 0; k < N_STEPS; k++) {
        const struct step_out * a = &got->out[k], * b = &ref->out[k];
        CHECK(close_rel(a->total, b->total, 1e-4), "%s step %d: total %.7g, CPU %.7g", name, k + 1, a->total, b->total);
        CHECK(close_rel(a->cls, b->cls, 1e-4), "%s step %d: cls %.7g, CPU %.7g", name, k + 1, a->cls, b->cls);
        CHECK(close_rel(a->loc, b->loc, 1e-4), "%s step %d: loc %.7g, CPU %.7g", name, k + 1, a->loc, b->loc);
        CHECK(a->n_pos == b->n_pos, "%s step %d: P %lld, CPU %lld", name, k + 1, (long long) a->n_pos, (long long) b->n_pos);
        CHECK(close_rel(a->grad_norm, b->grad_norm, 1e-3), "%s step %d: |g| %.7g, CPU %.7g", name, k + 1, a->grad_norm, b->grad_norm);
    }
    double worst = 0.0;
    for (int i = 0; i < ref->np && i < got->np; i++) {
        double m = 0.0, sc = 1e-30;
        for (int64_t j = 0; j < ref->n[i]; j++) { m = fmax(m, fabs((double) got->params[i][j] - ref->params[i][j])); sc = fmax(sc, fabs((double) ref->params[i][j])); }
        if (!(m <= 1e-4 * sc)) worst = INFINITY; else worst = fmax(worst, m / sc);
    }
    CHECK(got->np == ref->np && worst <= 1e-4, "%s: parameters after %d steps: worst rel err %.2e", name, N_STEPS, worst);
    printf("%s %s: losses, P and |g| of %d steps, %d parameters after them (worst rel err %.2e)\n", fails ? "----" : "OK  ", name, N_STEPS, got->np, worst);
}

int main(void) {
    struct alrp_backend * cpu = alrp_backend_cpu_init(2);
    struct run_result ref;
    memset(&ref, 0, sizeof ref);
    if (!run_steps(cpu, &ref)) return 1;
    int n_other = 0;
#ifdef ALRP_CUDA_HOST
    {
        struct alrp_backend * h = alrp_backend_cuda_host_init();
        struct run_result r;
        memset(&r, 0, sizeof r);
        if (run_steps(h, &r)) compare(alrp_backend_name(h), &r, &ref);
        result_free(&r);
        alrp_backend_free(h);
        n_other++;
    }
#endif
#ifdef ALRP_CUDA
    {
        char err[256];
        struct alrp_backend * cu = alrp_backend_cuda_init(0, err, sizeof err);
        if (!cu) printf("skipped: no CUDA device (%s)\n", err);
        else {
            for (int graphs = 0; graphs < 2; graphs++) {   // plain, then captured as a CUDA graph and replayed
                alrp_backend_cuda_set_graphs(cu, graphs != 0);
                struct run_result r;
                memset(&r, 0, sizeof r);
                if (run_steps(cu, &r)) compare(graphs ? "CUDA (CUDA graphs)" : alrp_backend_name(cu), &r, &ref);
                result_free(&r);
            }
            alrp_backend_free(cu);
            n_other++;
        }
    }
#else
    printf("skipped: no CUDA device (built without nvcc)\n");
#endif
    result_free(&ref);
    alrp_backend_free(cpu);
    printf("%s (%d backends compared with the CPU)\n", fails ? "test-cuda-step: FAILED" : "test-cuda-step: all OK", n_other);
    return fails ? 1 : 0;
}
