// tests/data/ops.safetensors (tools/gen-ref-ops.py) is self-consistent: every case has its
// tensors with matching shapes, all F32 and finite, and naive double-precision versions of each
// op (conv2d forward + backward, batch norm train/eval, max-pool, nearest upsample) reproduce
// PyTorch's numbers, which also pins down the conventions the parity tests rely on.
//     usage: test-ref-data [tests/data]
#include "alrp.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int n_fail = 0, n_ok = 0;
static const struct alrp_st_file * F;

static void report(const char * what, int ok, double err, const char * why) {
    if (ok) n_ok++; else n_fail++;
    if (why) printf("%s %-34s %s\n", ok ? "OK  " : "FAIL", what, why);
    else     printf("%s %-34s max err %.3g\n", ok ? "OK  " : "FAIL", what, err);
}

// the tensor case.name, NULL if missing; checks F32 and, when n_dims >= 0, the shape
static const float * T(const char * cs, const char * nm, int n_dims, const int64_t * shape, int * ok) {
    char full[256];
    snprintf(full, sizeof(full), "%s.%s", cs, nm);
    const struct alrp_st_tensor * t = alrp_st_get(F, full);
    if (!t) { printf("     '%s' is missing\n", full); *ok = 0; return NULL; }
    if (strcmp(t->dtype, "F32") != 0) { printf("     '%s' is %s, not F32\n", full, t->dtype); *ok = 0; return NULL; }
    if (n_dims >= 0) {
        int same = t->n_dims == n_dims;
        for (int d = 0; same && d < n_dims; d++) same = t->shape[d] == shape[d];
        if (!same) {
            printf("     '%s' has shape [", full);
            for (int d = 0; d < t->n_dims; d++) printf(d ? ", %lld" : "%lld", (long long) t->shape[d]);
            printf("], expected [");
            for (int d = 0; d < n_dims; d++) printf(d ? ", %lld" : "%lld", (long long) shape[d]);
            printf("]\n");
            *ok = 0;
            return NULL;
        }
    }
    return (const float *) t->data;
}

static const struct alrp_st_tensor * TT(const char * cs, const char * nm) {
    char full[256];
    snprintf(full, sizeof(full), "%s.%s", cs, nm);
    return alrp_st_get(F, full);
}

// max |a - b| / (1 + |b|) over n values; a is double
static double cmp(const double * a, const float * b, int64_t n) {
    double m = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs(a[i] - (double) b[i]) / (1.0 + fabs((double) b[i]));
        if (!(d <= m)) m = d;
    }
    return m;
}

#define TOL 2e-5

static void check_conv(const char * cs) {
    int ok = 1;
    const struct alrp_st_tensor * tx = TT(cs, "x"), * tw = TT(cs, "w");
    const float * pr = T(cs, "params", 1, (int64_t[]) { 7 }, &ok);
    if (!tx || !tw || !pr || tx->n_dims != 4 || tw->n_dims != 4) { report(cs, 0, 0, "x, w (4-d) or params (7) missing"); return; }
    const int64_t N = tx->shape[0], C = tx->shape[1], H = tx->shape[2], W = tx->shape[3];
    const int64_t O = tw->shape[0], CG = tw->shape[1], KH = tw->shape[2], KW = tw->shape[3];
    const int sh = (int) pr[0], sw = (int) pr[1], ph = (int) pr[2], pw = (int) pr[3], dh = (int) pr[4], dw_ = (int) pr[5], G = (int) pr[6];
    if (G < 1 || C % G || O % G || CG != C / G) { report(cs, 0, 0, "groups inconsistent with x and w"); return; }
    const int64_t HO = (H + 2 * ph - dh * (KH - 1) - 1) / sh + 1, WO = (W + 2 * pw - dw_ * (KW - 1) - 1) / sw + 1;
    const int64_t ys[4] = { N, O, HO, WO };
    const float * x = T(cs, "x", 4, tx->shape, &ok), * w = T(cs, "w", 4, tw->shape, &ok);
    const float * y = T(cs, "y", 4, ys, &ok), * dy = T(cs, "dy", 4, ys, &ok);
    const float * dx = T(cs, "dx", 4, tx->shape, &ok), * dw = T(cs, "dw", 4, tw->shape, &ok);
    const int has_b = TT(cs, "b") != NULL;
    const float * b = has_b ? T(cs, "b", 1, &O, &ok) : NULL, * db = has_b ? T(cs, "db", 1, &O, &ok) : NULL;
    if (!has_b && TT(cs, "db")) { printf("     db without b\n"); ok = 0; }
    if (!ok) { report(cs, 0, 0, "tensors missing or of the wrong shape"); return; }
    // naive conv: y = conv(x, w) + b; dx, dw, db for upstream dy
    double * ry = calloc((size_t) (N * O * HO * WO), sizeof(double)), * rdx = calloc((size_t) (N * C * H * W), sizeof(double));
    double * rdw = calloc((size_t) (O * CG * KH * KW), sizeof(double)), * rdb = calloc((size_t) O, sizeof(double));
    const int64_t OG = O / G;
    for (int64_t n = 0; n < N; n++) for (int64_t o = 0; o < O; o++) {
        const int64_t g = o / OG;
        for (int64_t oh = 0; oh < HO; oh++) for (int64_t ow = 0; ow < WO; ow++) {
            const int64_t yi = ((n * O + o) * HO + oh) * WO + ow;
            double acc = has_b ? b[o] : 0.0;
            const double gy = dy[yi];
            rdb[o] += gy;
            for (int64_t ci = 0; ci < CG; ci++) for (int64_t kh = 0; kh < KH; kh++) for (int64_t kw = 0; kw < KW; kw++) {
                const int64_t ih = oh * sh - ph + kh * dh, iw = ow * sw - pw + kw * dw_;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                const int64_t xi = ((n * C + g * CG + ci) * H + ih) * W + iw, wi = ((o * CG + ci) * KH + kh) * KW + kw;
                acc += (double) x[xi] * w[wi];
                rdx[xi] += gy * w[wi];
                rdw[wi] += gy * x[xi];
            }
            ry[yi] = acc;
        }
    }
    double e = cmp(ry, y, N * O * HO * WO);
    e = fmax(e, cmp(rdx, dx, N * C * H * W));
    e = fmax(e, cmp(rdw, dw, O * CG * KH * KW));
    if (has_b) e = fmax(e, cmp(rdb, db, O));
    char what[128];
    snprintf(what, sizeof(what), "%.40s y dx dw%s (G=%d s=%d,%d)", cs, has_b ? " db" : "", G, sh, sw);
    report(what, e <= TOL, e, NULL);
    free(ry); free(rdx); free(rdw); free(rdb);
}

static void check_bn(const char * cs) {
    int ok = 1;
    const struct alrp_st_tensor * tx = TT(cs, "x");
    const float * pr = T(cs, "params", 1, (int64_t[]) { 3 }, &ok);
    if (!tx || !pr || tx->n_dims != 4) { report(cs, 0, 0, "x (4-d) or params (3) missing"); return; }
    const int64_t N = tx->shape[0], C = tx->shape[1], HW = tx->shape[2] * tx->shape[3], M = N * HW;
    const int train = pr[0] != 0.0f;
    const double mom = pr[1], eps = pr[2];
    const float * x = T(cs, "x", 4, tx->shape, &ok), * y = T(cs, "y", 4, tx->shape, &ok), * dy = T(cs, "dy", 4, tx->shape, &ok);
    const float * dx = T(cs, "dx", 4, tx->shape, &ok);
    const float * w = T(cs, "w", 1, &C, &ok), * b = T(cs, "b", 1, &C, &ok), * dw = T(cs, "dw", 1, &C, &ok), * db = T(cs, "db", 1, &C, &ok);
    const float * rm = T(cs, "running_mean", 1, &C, &ok), * rv = T(cs, "running_var", 1, &C, &ok);
    const float * rmo = train ? T(cs, "running_mean_out", 1, &C, &ok) : NULL, * rvo = train ? T(cs, "running_var_out", 1, &C, &ok) : NULL;
    if (!ok) { report(cs, 0, 0, "tensors missing or of the wrong shape"); return; }
    double * ry = malloc(sizeof(double) * (size_t) (N * C * HW)), * rdx = malloc(sizeof(double) * (size_t) (N * C * HW));
    double rdw[64], rdb[64], rrm[64], rrv[64];
    if (C > 64) { report(cs, 0, 0, "more than 64 channels"); free(ry); free(rdx); return; }
    for (int64_t c = 0; c < C; c++) {
        double mean = 0.0, var = 0.0;
        for (int64_t n = 0; n < N; n++) for (int64_t i = 0; i < HW; i++) mean += x[(n * C + c) * HW + i];
        mean /= (double) M;
        for (int64_t n = 0; n < N; n++) for (int64_t i = 0; i < HW; i++) { double d = x[(n * C + c) * HW + i] - mean; var += d * d; }
        const double var_b = var / (double) M, var_u = var / (double) (M - 1);
        const double mu = train ? mean : rm[c], istd = 1.0 / sqrt((train ? var_b : (double) rv[c]) + eps);
        double sdy = 0.0, sdyx = 0.0;
        for (int64_t n = 0; n < N; n++) for (int64_t i = 0; i < HW; i++) {
            const int64_t k = (n * C + c) * HW + i;
            const double xh = (x[k] - mu) * istd;
            ry[k] = xh * w[c] + b[c];
            sdy += dy[k]; sdyx += dy[k] * xh;
        }
        rdb[c] = sdy; rdw[c] = sdyx;
        for (int64_t n = 0; n < N; n++) for (int64_t i = 0; i < HW; i++) {
            const int64_t k = (n * C + c) * HW + i;
            const double xh = (x[k] - mu) * istd;
            rdx[k] = train ? w[c] * istd * (dy[k] - sdy / (double) M - xh * sdyx / (double) M) : w[c] * istd * dy[k];
        }
        rrm[c] = (1.0 - mom) * rm[c] + mom * mean;
        rrv[c] = (1.0 - mom) * rv[c] + mom * var_u;   // the unbiased variance
    }
    double e = fmax(cmp(ry, y, N * C * HW), cmp(rdx, dx, N * C * HW));
    e = fmax(e, fmax(cmp(rdw, dw, C), cmp(rdb, db, C)));
    if (train) e = fmax(e, fmax(cmp(rrm, rmo, C), cmp(rrv, rvo, C)));
    char what[128];
    snprintf(what, sizeof(what), "%.40s %s y dx dw db%s", cs, train ? "train" : "eval", train ? " running" : "");
    report(what, e <= TOL, e, NULL);
    free(ry); free(rdx);
}

static void check_pool(const char * cs) {
    int ok = 1;
    const struct alrp_st_tensor * tx = TT(cs, "x");
    const float * pr = T(cs, "params", 1, (int64_t[]) { 6 }, &ok);
    if (!tx || !pr || tx->n_dims != 4) { report(cs, 0, 0, "x (4-d) or params (6) missing"); return; }
    const int64_t NC = tx->shape[0] * tx->shape[1], H = tx->shape[2], W = tx->shape[3];
    const int kh = (int) pr[0], kw = (int) pr[1], sh = (int) pr[2], sw = (int) pr[3], ph = (int) pr[4], pw = (int) pr[5];
    const int64_t HO = (H + 2 * ph - kh) / sh + 1, WO = (W + 2 * pw - kw) / sw + 1;
    const int64_t ys[4] = { tx->shape[0], tx->shape[1], HO, WO };
    const float * x = T(cs, "x", 4, tx->shape, &ok), * y = T(cs, "y", 4, ys, &ok), * dy = T(cs, "dy", 4, ys, &ok);
    const float * dx = T(cs, "dx", 4, tx->shape, &ok);
    if (!ok) { report(cs, 0, 0, "tensors missing or of the wrong shape"); return; }
    double * ry = malloc(sizeof(double) * (size_t) (NC * HO * WO)), * rdx = calloc((size_t) (NC * H * W), sizeof(double));
    for (int64_t p = 0; p < NC; p++) for (int64_t oh = 0; oh < HO; oh++) for (int64_t ow = 0; ow < WO; ow++) {
        double best = -INFINITY; int64_t arg = -1;
        for (int i = 0; i < kh; i++) for (int j = 0; j < kw; j++) {
            const int64_t ih = oh * sh - ph + i, iw = ow * sw - pw + j;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            const int64_t k = (p * H + ih) * W + iw;
            if (x[k] > best) { best = x[k]; arg = k; }
        }
        ry[(p * HO + oh) * WO + ow] = best;
        if (arg >= 0) rdx[arg] += dy[(p * HO + oh) * WO + ow];
    }
    double e = fmax(cmp(ry, y, NC * HO * WO), cmp(rdx, dx, NC * H * W));
    char what[128];
    snprintf(what, sizeof(what), "%.40s %dx%d s%d p%d y dx", cs, kh, kw, sh, ph);
    report(what, e <= TOL, e, NULL);
    free(ry); free(rdx);
}

static void check_up(const char * cs) {
    int ok = 1;
    const struct alrp_st_tensor * tx = TT(cs, "x");
    const float * pr = T(cs, "params", 1, (int64_t[]) { 2 }, &ok);
    if (!tx || !pr || tx->n_dims != 4) { report(cs, 0, 0, "x (4-d) or params (2) missing"); return; }
    const int s_h = (int) pr[0], s_w = (int) pr[1];
    const int64_t NC = tx->shape[0] * tx->shape[1], H = tx->shape[2], W = tx->shape[3], HO = H * s_h, WO = W * s_w;
    const int64_t ys[4] = { tx->shape[0], tx->shape[1], HO, WO };
    const float * x = T(cs, "x", 4, tx->shape, &ok), * y = T(cs, "y", 4, ys, &ok), * dy = T(cs, "dy", 4, ys, &ok);
    const float * dx = T(cs, "dx", 4, tx->shape, &ok);
    if (!ok) { report(cs, 0, 0, "tensors missing or of the wrong shape"); return; }
    double * ry = malloc(sizeof(double) * (size_t) (NC * HO * WO)), * rdx = calloc((size_t) (NC * H * W), sizeof(double));
    for (int64_t p = 0; p < NC; p++) for (int64_t oh = 0; oh < HO; oh++) for (int64_t ow = 0; ow < WO; ow++) {
        const int64_t k = (p * H + oh / s_h) * W + ow / s_w;
        ry[(p * HO + oh) * WO + ow] = x[k];
        rdx[k] += dy[(p * HO + oh) * WO + ow];
    }
    double e = fmax(cmp(ry, y, NC * HO * WO), cmp(rdx, dx, NC * H * W));
    char what[128];
    snprintf(what, sizeof(what), "%.40s nearest x%d y dx", cs, s_h);
    report(what, e <= TOL, e, NULL);
    free(ry); free(rdx);
}

static void check_block(const char * cs) {
    int ok = 1;
    const struct alrp_st_tensor * tx = TT(cs, "x");
    if (!tx || tx->n_dims != 4) { report(cs, 0, 0, "x (4-d) missing"); return; }
    const int64_t C = tx->shape[1], n = tx->numel;
    const int64_t wshape[4] = { C, C, 3, 3 };
    const float * x = T(cs, "x", 4, tx->shape, &ok), * tg = T(cs, "target", 4, tx->shape, &ok);
    const float * out = T(cs, "step0.out", 4, tx->shape, &ok), * loss = T(cs, "loss", 1, (int64_t[]) { 3 }, &ok);
    T(cs, "params", 1, (int64_t[]) { 6 }, &ok);
    const char * pnames[] = { "conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight", "bn2.weight", "bn2.bias" };
    const char * bnames[] = { "bn1.running_mean", "bn1.running_var", "bn2.running_mean", "bn2.running_var" };
    char nm[128];
    int changed = 1;
    for (int k = 0; k < 6; k++) {
        const int is_w = strstr(pnames[k], "conv") != NULL;
        const int64_t * sh = is_w ? wshape : &C;
        const int nd = is_w ? 4 : 1;
        snprintf(nm, sizeof(nm), "init.%s", pnames[k]);       const float * a = T(cs, nm, nd, sh, &ok);
        snprintf(nm, sizeof(nm), "final.%s", pnames[k]);      const float * z = T(cs, nm, nd, sh, &ok);
        snprintf(nm, sizeof(nm), "step0.grad.%s", pnames[k]); T(cs, nm, nd, sh, &ok);
        if (a && z && memcmp(a, z, (size_t) (is_w ? C * C * 9 : C) * 4) == 0) changed = 0;
    }
    for (int k = 0; k < 4; k++) {
        snprintf(nm, sizeof(nm), "init.%s", bnames[k]);  T(cs, nm, 1, &C, &ok);
        snprintf(nm, sizeof(nm), "final.%s", bnames[k]); T(cs, nm, 1, &C, &ok);
    }
    if (!ok) { report(cs, 0, 0, "tensors missing or of the wrong shape"); return; }
    double l0 = 0.0;
    for (int64_t i = 0; i < n; i++) { double d = (double) out[i] - tg[i]; l0 += d * d; }
    l0 /= (double) n;
    double e = fabs(l0 - loss[0]) / (1.0 + fabs(loss[0]));
    int min_ok = 1;   // the output is relu(... + x) >= 0
    for (int64_t i = 0; i < n; i++) if (out[i] < 0.0f || !(x[i] == x[i])) min_ok = 0;
    int ok2 = e <= TOL && changed && min_ok;
    report("block loss[0] == mean((out-target)^2)", ok2, e, NULL);
    printf("     block losses: %.6f %.6f %.6f\n", (double) loss[0], (double) loss[1], (double) loss[2]);
}

int main(int argc, char ** argv) {
    const char * dir = argc > 1 ? argv[1] : "tests/data";
    char path[512], err[512];
    snprintf(path, sizeof(path), "%s/ops.safetensors", dir);
    struct alrp_st_file * f = alrp_st_load(path, err, sizeof(err));
    if (!f) {
        fprintf(stderr, "%s\nHINT: run from the repository root (or pass the data folder), or regenerate the file "
                "with /usr/bin/python3 tools/gen-ref-ops.py\n", err);
        return 1;
    }
    F = f;
    const char * cases = alrp_st_metadata(f, "cases");
    const char * fmt = alrp_st_metadata(f, "format");
    if (!cases || !fmt || strcmp(fmt, "alrp-ref-ops v1") != 0) {
        fprintf(stderr, "%s: metadata 'format' (alrp-ref-ops v1) or 'cases' missing; regenerate with "
                "/usr/bin/python3 tools/gen-ref-ops.py\n", path);
        alrp_st_close(f);
        return 1;
    }
    // every tensor F32, finite, and in a listed case
    int all_ok = 1;
    for (int i = 0; i < alrp_st_count(f); i++) {
        const struct alrp_st_tensor * t = alrp_st_at(f, i);
        const char * dot = strchr(t->name, '.');
        size_t pl = dot ? (size_t) (dot - t->name) : 0;
        int listed = 0;
        for (const char * c = cases; *c; ) {
            size_t l = strcspn(c, " ");
            if (l == pl && strncmp(c, t->name, pl) == 0) listed = 1;
            c += l; while (*c == ' ') c++;
        }
        int finite = strcmp(t->dtype, "F32") == 0;
        for (int64_t k = 0; finite && k < t->numel; k++) finite = isfinite(((const float *) t->data)[k]);
        if (!listed || !finite) { printf("     '%s': %s\n", t->name, listed ? "not F32 or not finite" : "belongs to no listed case"); all_ok = 0; }
    }
    char detail[96];
    snprintf(detail, sizeof(detail), "%d tensors, cases: %s", alrp_st_count(f), cases);
    report("all F32, finite, in a case", all_ok, 0, detail);
    int n_cases = 0;
    for (const char * c = cases; *c; ) {
        char cs[64];
        size_t l = strcspn(c, " ");
        snprintf(cs, sizeof(cs), "%.*s", (int) (l < 63 ? l : 63), c);
        c += l; while (*c == ' ') c++;
        n_cases++;
        if (!alrp_st_metadata(f, cs)) { report(cs, 0, 0, "no description in the metadata"); continue; }
        if      (strncmp(cs, "conv", 4) == 0) check_conv(cs);
        else if (strncmp(cs, "bn", 2) == 0)   check_bn(cs);
        else if (strncmp(cs, "pool", 4) == 0) check_pool(cs);
        else if (strncmp(cs, "up", 2) == 0)   check_up(cs);
        else if (strcmp(cs, "block") == 0)    check_block(cs);
        else report(cs, 0, 0, "unknown case kind");
    }
    report("13 cases listed", n_cases == 13, 0, NULL);
    alrp_st_close(f);
    printf("%d OK, %d FAIL\n", n_ok, n_fail);
    return n_fail ? 1 : 0;
}
