// conv2d: alrp_conv2d_f32, alrp_conv2d_backward_data_f32 and alrp_conv2d_backward_weight_f32
// against the naive direct-loop references on hand-picked and seeded random shapes (odd sizes,
// size-1 dims, stride 1/2/3, padding, dilation 2, groups 1/2/4 and depthwise, batch 1 and 3,
// kernels 1/3/5/7), beta 0 (with NaN garbage in the output) and 1, with and without bias, 1, 2
// and 3 threads, with and without a caller workspace. Also checks alrp_conv2d_check on bad
// descriptors. Prints one line per case; exits non-zero on any mismatch.
#define ALRP_INTERNAL   // the naive reference kernels
#include "alrp.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX(a, b) ((a) > (b) ? (a) : (b))

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return rng_state;
}
static float frand(void) { return (float) ((rnd() >> 40) * (1.0 / 8388608.0)) - 1.0f; }  // [-1, 1)
static int64_t irand(int64_t lo, int64_t hi) { return lo + (int64_t) (rnd() % (uint64_t) (hi - lo + 1)); }

static int n_fail = 0, n_ok = 0;

static float * rand_buf(int64_t n, bool nan_fill) {
    float * p = malloc(sizeof(float) * (size_t) MAX(n, 1));
    for (int64_t i = 0; i < n; i++) p[i] = nan_fill ? NAN : frand();
    return p;
}

// max |a - b| / max(1, max |b|); NaN counts as infinite
static double rel_err(const float * a, const float * b, int64_t n) {
    double err = 0.0, mag = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const double e = fabs((double) a[i] - (double) b[i]);
        err = isnan(e) ? INFINITY : MAX(err, e);
        mag = MAX(mag, fabs((double) b[i]));
    }
    return err / MAX(mag, 1.0);
}

static void report(const char * what, const struct alrp_conv2d_desc * d, int nt, float beta, double rel) {
    const bool ok = rel <= 1e-5;
    printf("%s %-12s nt=%d beta=%g x(%lld,%lld,%lld,%lld) w(%lld,%lld,%lld,%lld) s(%lld,%lld) p(%lld,%lld) d(%lld,%lld) g=%lld: rel err %.3g\n",
           ok ? "OK  " : "FAIL", what, nt, beta, (long long) d->n, (long long) d->c, (long long) d->h, (long long) d->w,
           (long long) d->o, (long long) (d->c / d->groups), (long long) d->kh, (long long) d->kw,
           (long long) d->sh, (long long) d->sw, (long long) d->ph, (long long) d->pw, (long long) d->dh, (long long) d->dw,
           (long long) d->groups, rel);
    ok ? n_ok++ : n_fail++;
}

static void run_case(struct alrp_threadpool * tp, const struct alrp_conv2d_desc * d, int variant) {
    char err[256];
    if (!alrp_conv2d_check(d, err, sizeof(err))) { printf("FAIL bad test case: %s\n", err); n_fail++; return; }
    const int nt = alrp_threadpool_n_threads(tp);
    const int64_t OH = alrp_conv2d_out_h(d), OW = alrp_conv2d_out_w(d);
    const int64_t nx = d->n * d->c * d->h * d->w, nw = d->o * (d->c / d->groups) * d->kh * d->kw;
    const int64_t ny = d->n * d->o * OH * OW;
    const float beta = (variant & 1) ? 1.0f : 0.0f;
    const bool use_bias = variant & 2, give_work = variant & 4;
    void * work = give_work ? malloc(alrp_conv2d_work_size(d, nt)) : NULL;
    float * x = rand_buf(nx, false), * w = rand_buf(nw, false), * b = rand_buf(d->o, false), * dy = rand_buf(ny, false);

    // forward
    float * y = rand_buf(ny, beta == 0.0f), * yr = malloc(sizeof(float) * (size_t) ny);
    memcpy(yr, y, sizeof(float) * (size_t) ny);
    alrp_conv2d_f32(tp, d, x, w, use_bias ? b : NULL, beta, y, work);
    alrp__conv2d_f32_naive(d, x, w, use_bias ? b : NULL, beta, yr);
    report(use_bias ? "forward+bias" : "forward", d, nt, beta, rel_err(y, yr, ny));

    // data gradient
    float * dx = rand_buf(nx, beta == 0.0f), * dxr = malloc(sizeof(float) * (size_t) nx);
    memcpy(dxr, dx, sizeof(float) * (size_t) nx);
    alrp_conv2d_backward_data_f32(tp, d, dy, w, beta, dx, work);
    alrp__conv2d_backward_data_f32_naive(d, dy, w, beta, dxr);
    report("bwd-data", d, nt, beta, rel_err(dx, dxr, nx));

    // weight gradient (+ bias gradient when use_bias)
    float * dw = rand_buf(nw, beta == 0.0f), * dwr = malloc(sizeof(float) * (size_t) nw);
    float * db = rand_buf(d->o, beta == 0.0f), * dbr = malloc(sizeof(float) * (size_t) d->o);
    memcpy(dwr, dw, sizeof(float) * (size_t) nw);
    memcpy(dbr, db, sizeof(float) * (size_t) d->o);
    alrp_conv2d_backward_weight_f32(tp, d, x, dy, beta, dw, use_bias ? db : NULL, work);
    alrp__conv2d_backward_weight_f32_naive(d, x, dy, beta, dwr, use_bias ? dbr : NULL);
    report("bwd-weight", d, nt, beta, rel_err(dw, dwr, nw));
    if (use_bias) report("bwd-bias", d, nt, beta, rel_err(db, dbr, d->o));

    free(x); free(w); free(b); free(dy); free(y); free(yr); free(dx); free(dxr);
    free(dw); free(dwr); free(db); free(dbr); free(work);
}

static struct alrp_conv2d_desc desc(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t kh, int64_t kw,
                                    int64_t s, int64_t p, int64_t dil, int64_t g) {
    struct alrp_conv2d_desc d = { n, c, h, w, o, kh, kw, s, s, p, p, dil, dil, g };
    return d;
}

int main(void) {
    struct alrp_threadpool * pools[3] = { NULL, alrp_threadpool_new(2), alrp_threadpool_new(3) };
    const struct alrp_conv2d_desc fixed[] = {
        desc(1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1),       // all ones
        desc(3, 5, 7, 9, 6, 1, 1, 1, 0, 1, 1),       // pointwise (no im2col)
        desc(2, 8, 6, 5, 12, 1, 1, 1, 0, 1, 4),      // pointwise grouped
        desc(1, 3, 11, 13, 7, 1, 1, 2, 0, 1, 1),     // 1x1 stride 2 (downsample)
        desc(2, 4, 5, 5, 3, 1, 1, 1, 1, 1, 1),       // 1x1 padded
        desc(3, 6, 9, 8, 10, 3, 3, 1, 1, 1, 1),      // 3x3 same
        desc(1, 16, 12, 12, 24, 3, 3, 1, 1, 1, 1),
        desc(2, 7, 10, 11, 5, 3, 3, 2, 1, 1, 1),     // 3x3 stride 2
        desc(1, 5, 17, 15, 4, 3, 3, 1, 2, 2, 1),     // dilation 2
        desc(2, 8, 9, 9, 8, 3, 3, 1, 1, 1, 2),       // groups 2
        desc(1, 16, 8, 7, 32, 3, 3, 1, 1, 1, 4),     // groups 4
        desc(3, 6, 7, 9, 6, 3, 3, 1, 1, 1, 6),       // depthwise
        desc(1, 12, 11, 10, 24, 3, 3, 2, 1, 1, 12),  // depthwise multiplier 2, stride 2
        desc(1, 64, 6, 6, 64, 3, 3, 1, 1, 1, 32),    // ResNeXt-style 32 groups
        desc(1, 3, 38, 35, 8, 7, 7, 2, 3, 1, 1),     // stem
        desc(3, 2, 9, 12, 3, 5, 3, 1, 0, 1, 1),      // rectangular kernel, no padding
        desc(1, 3, 20, 19, 4, 3, 3, 3, 2, 2, 1),     // stride 3 dilation 2
        desc(2, 4, 1, 9, 5, 1, 3, 1, 1, 1, 1),       // height 1
        desc(1, 2, 7, 7, 3, 7, 7, 1, 0, 1, 1),       // kernel = image: 1x1 output
        desc(1, 2, 3, 3, 3, 3, 3, 1, 2, 1, 1),       // padding > kernel radius
        desc(1, 40, 9, 11, 50, 3, 3, 1, 1, 1, 1),    // more rows than one micro-panel
        desc(1, 64, 6, 6, 16, 3, 3, 1, 1, 1, 1),     // forward K = 576 > one KC slice
        desc(2, 16, 20, 20, 70, 3, 3, 1, 1, 1, 1),   // data grad K = 630, weight grad K = 800
        desc(3, 6, 29, 31, 9, 3, 3, 2, 1, 1, 1),     // weight grad K = 720: a KC edge inside image 2
        desc(2, 600, 3, 4, 13, 1, 1, 1, 0, 1, 1),    // pointwise, K = 600
        desc(2, 3, 6, 67, 5, 3, 3, 1, 1, 1, 1),      // rows >= 32 wide: whole-row panels (stride 1)
        desc(1, 2, 9, 77, 4, 7, 7, 2, 3, 1, 1),      // ... stride 2, 7x7
        desc(1, 2, 4, 128, 3, 7, 7, 2, 3, 1, 1),     // ... stride 2, a panel ending at the right pad
        desc(3, 4, 30, 30, 4, 3, 3, 1, 1, 1, 2),     // weight grad: tiny output, K = 2700, 2 groups
        desc(2, 3, 40, 40, 8, 7, 7, 2, 3, 1, 1),     // stem-like weight grad, K = 800
        desc(2, 3, 9, 40, 4, 3, 3, 2, 1, 1, 1),      // stride 2, OW = 20: rows end in a 4-wide chunk
        desc(2, 4, 6, 32, 6, 3, 3, 1, 1, 1, 2),      // direct weight grad, OW = 32 (no dy padding)
        desc(1, 130, 4, 5, 3, 3, 3, 1, 1, 1, 1),     // forward K = 1170 > one KC slice
        desc(1, 3, 4, 5, 130, 3, 3, 1, 1, 1, 1),     // data grad K = 1170
        desc(2, 3, 30, 30, 40, 3, 3, 1, 1, 1, 1),    // weight grad (GEMM path) K = 1800
        desc(3, 2, 20, 21, 3, 5, 5, 1, 2, 1, 1),     // weight grad, 5x5, K = 1260 across images
        desc(3, 6, 5, 16, 9, 3, 3, 1, 2, 2, 3),      // ... dilation 2, odd Og, OW = 16
        desc(1, 3, 7, 70, 3, 3, 3, 1, 2, 2, 1),      // ... dilation 2
        desc(1, 4, 5, 64, 8, 3, 3, 1, 1, 1, 2),      // ... grouped, two panels per row
    };
    const int n_fixed = (int) (sizeof(fixed) / sizeof(fixed[0]));
    for (int i = 0; i < n_fixed; i++) {
        for (int p = 0; p < 3; p++) run_case(pools[p], &fixed[i], (i + p) % 8);
    }

    // seeded random shapes
    static const int64_t ks[] = { 1, 3, 3, 5, 7 };
    for (int i = 0; i < 60; i++) {
        struct alrp_conv2d_desc d;
        const int64_t g = (int64_t[]) { 1, 1, 2, 4, 0 }[irand(0, 4)];
        const int64_t cg = irand(1, 6), og = irand(1, 6);
        d.groups = g ? g : irand(1, 8);                   // 0: depthwise-like, cg == 1
        d.c = (g ? cg : 1) * d.groups;
        d.o = (g ? og : irand(1, 2)) * d.groups;
        d.n = irand(0, 2) ? 1 : 3;
        d.kh = ks[irand(0, 4)]; d.kw = irand(0, 3) ? d.kh : ks[irand(0, 4)];
        d.sh = irand(1, 2); d.sw = irand(0, 3) ? d.sh : irand(1, 3);
        d.dh = irand(0, 3) ? 1 : 2; d.dw = irand(0, 3) ? d.dh : irand(1, 2);
        d.ph = irand(0, d.kh / 2 + 1); d.pw = irand(0, 3) ? d.ph : irand(0, d.kw / 2 + 1);
        d.h = irand(1, 14) + MAX(0, d.dh * (d.kh - 1) + 1 - 2 * d.ph);
        d.w = irand(1, 14) + MAX(0, d.dw * (d.kw - 1) + 1 - 2 * d.pw);
        run_case(pools[i % 3], &d, (int) irand(0, 7));
    }

    // descriptor checks: each must be rejected with a message
    const struct alrp_conv2d_desc bad[] = {
        desc(1, 6, 8, 8, 4, 3, 3, 1, 1, 1, 4),       // groups do not divide C
        desc(1, 4, 8, 8, 6, 3, 3, 1, 1, 1, 4),       // groups do not divide O
        desc(1, 4, 2, 2, 4, 5, 5, 1, 0, 1, 1),       // kernel larger than input
        desc(1, 4, 8, 8, 4, 3, 3, 0, 1, 1, 1),       // stride 0
        desc(0, 4, 8, 8, 4, 3, 3, 1, 1, 1, 1),       // empty batch
        desc(1, 4, 8, 8, 4, 3, 3, 1, -1, 1, 1),      // negative padding
    };
    for (int i = 0; i < (int) (sizeof(bad) / sizeof(bad[0])); i++) {
        char err[256];
        const bool ok = !alrp_conv2d_check(&bad[i], err, sizeof(err)) && strlen(err) > 0;
        printf("%s check rejects bad desc %d: %s\n", ok ? "OK  " : "FAIL", i, err);
        ok ? n_ok++ : n_fail++;
    }

    for (int p = 1; p < 3; p++) alrp_threadpool_free(pools[p]);
    printf("conv: %d OK, %d FAIL\n", n_ok, n_fail);
    return n_fail ? 1 : 0;
}
