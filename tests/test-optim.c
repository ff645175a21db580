// SGD (momentum) and AdamW kernels: 3 steps against torch.optim (tests/data/optim.safetensors,
// written by tools/gen-ref-optim.py), and the SIMD kernels against their naive references on
// many sizes (every SIMD remainder) and hyper-parameters.
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

static void test_torch(const char * data_dir) {
    char path[512], err[512], name[128], what[96];
    snprintf(path, sizeof(path), "%s/optim.safetensors", data_dir);
    struct alrp_st_file * f = alrp_st_load(path, err, sizeof(err));
    if (!f) {
        fprintf(stderr, "%s\nHINT: run from the repository root (or pass the data folder), or regenerate the file "
                "with /usr/bin/python3 tools/gen-ref-optim.py\n", err);
        n_fail++;
        return;
    }
    const float * sp = get_f32(f, "sgd.params", 3);
    const float * ap = get_f32(f, "adamw.params", 5);
    int n_params = atoi(alrp_st_metadata(f, "n_params") ? alrp_st_metadata(f, "n_params") : "0");
    if (n_params < 1) { fprintf(stderr, "%s: metadata n_params missing\n", path); n_fail++; alrp_st_close(f); return; }
    for (int k = 0; k < n_params; k++) {
        snprintf(name, sizeof(name), "p%d.init", k);
        const struct alrp_st_tensor * ti = alrp_st_get(f, name);
        if (!ti) { fprintf(stderr, "%s: '%s' missing\n", path, name); n_fail++; continue; }
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
    alrp_st_close(f);
}

static uint64_t rng_state = 42;
static float rng_normal(void) {   // Box-Muller on a 64-bit LCG, fixed seed
    double u[2];
    for (int k = 0; k < 2; k++) {
        rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
        u[k] = ((double) (rng_state >> 11) + 0.5) / 9007199254740992.0;
    }
    return (float) (sqrt(-2.0 * log(u[0])) * cos(6.283185307179586 * u[1]));
}

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
    test_torch(data_dir);
    test_fast_vs_naive();
    printf("%d OK, %d FAIL\n", n_ok, n_fail);
    return n_fail ? 1 : 0;
}
