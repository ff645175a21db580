// aLRP Loss and AP Loss on plain arrays: the O((P+N) log P) kernels of alrp.h against naive
// O(P*N) loops written here from docs/ranking-losses.md (the pseudocode of section 2.6 and the
// rules of section 3, one positive at a time), on random cases and on every edge case of
// section 6. Checks values, logit updates, localisation gradients, ranks (rel 1e-5 / abs 1e-7),
// the balance property (sum over positives of |g| = sum over negatives), 1 vs 2 threads
// (bit-identical), the contract functions, and bad arguments.
#include "alrp.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ---------------------------------------------------------------------------------------------
// naive reference, all in double, literally as the document writes it
// ---------------------------------------------------------------------------------------------

static double H(double x, double delta) {                    // smoothed step, section 1
    double h = x / (2.0 * delta) + 0.5;
    return h < 0.0 ? 0.0 : (h > 1.0 ? 1.0 : h);
}

struct ref_out {
    int64_t P;
    double loss_a, loss_b;     // aLRP: loss_cls, loss_loc; AP: loss, 0
    double * grad;             // (n,)
    double * grad_loc;         // (P,)
    double * rank;             // (P,)
};

static void ref_free(struct ref_out * o) { free(o->grad); free(o->grad_loc); free(o->rank); }

// stable ascending argsort of fg (insertion sort on (score, index))
static void argsort_stable(int64_t P, const double * fg, int64_t * idx) {
    for (int64_t i = 0; i < P; i++) {
        int64_t j = i;
        while (j > 0 && fg[idx[j - 1]] > fg[i]) { idx[j] = idx[j - 1]; j--; }
        idx[j] = i;
    }
}

// kind 0: aLRP (section 2.6), kind 1: AP (section 3)
static void ref_loss(int kind, int64_t n, const float * logits, const int8_t * labels, const float * loc_err,
                     double delta, struct ref_out * o) {
    memset(o, 0, sizeof(*o));
    o->grad = (double *) calloc((size_t) n + 1, sizeof(double));
    int64_t P = 0;
    for (int64_t i = 0; i < n; i++) P += labels[i] == 1;
    o->P = P;
    o->grad_loc = (double *) calloc((size_t) P + 1, sizeof(double));
    o->rank     = (double *) calloc((size_t) P + 1, sizeof(double));
    if (P == 0) return;                                       // section 6: zeros, no error
    // fg = logits[labels == 1]; thr = fg.min() - delta; neg = logits[(labels == 0) & (logits >= thr)]
    double  * fg     = (double *) malloc(sizeof(double) * (size_t) P);
    int64_t * fg_idx = (int64_t *) malloc(sizeof(int64_t) * (size_t) P);
    double  * E      = (double *) malloc(sizeof(double) * (size_t) P);
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) if (labels[i] == 1) { fg[k] = logits[i]; fg_idx[k] = i; E[k] = loc_err ? loc_err[k] : 0.0; k++; }
    double thr = fg[0];
    for (int64_t q = 0; q < P; q++) thr = fg[q] < thr ? fg[q] : thr;
    thr -= delta;
    int64_t Nn = 0;
    for (int64_t i = 0; i < n; i++) Nn += labels[i] == 0 && (double) logits[i] >= thr;
    double  * neg     = (double *) malloc(sizeof(double) * (size_t) (Nn + 1));
    int64_t * neg_idx = (int64_t *) malloc(sizeof(int64_t) * (size_t) (Nn + 1));
    Nn = 0;
    for (int64_t i = 0; i < n; i++) if (labels[i] == 0 && (double) logits[i] >= thr) { neg[Nn] = logits[i]; neg_idx[Nn] = i; Nn++; }

    double * g_fg  = (double *) calloc((size_t) P, sizeof(double));
    double * g_neg = (double *) calloc((size_t) (Nn + 1), sizeof(double));
    double * prec  = (double *) calloc((size_t) P, sizeof(double));
    double * hp    = (double *) malloc(sizeof(double) * (size_t) P);
    double * hn    = (double *) malloc(sizeof(double) * (size_t) (Nn + 1));
    int64_t * asc  = (int64_t *) malloc(sizeof(int64_t) * (size_t) P);
    argsort_stable(P, fg, asc);
    double p_max = 0.0, sum_interp = 0.0;
    for (int64_t ii = 0; ii < P; ii++) {                      // for i in argsort(fg)
        int64_t i = asc[ii];
        double sum_hp = 0.0, hpE = 0.0, nfp = 0.0;
        for (int64_t q = 0; q < P; q++) { hp[q] = H(fg[q] - fg[i], delta); }
        hp[i] = 0.0;
        for (int64_t q = 0; q < P; q++) { sum_hp += hp[q]; hpE += hp[q] * E[q]; }
        for (int64_t j = 0; j < Nn; j++) { hn[j] = H(neg[j] - fg[i], delta); nfp += hn[j]; }
        double rank_pos = 1.0 + sum_hp;
        o->rank[i] = rank_pos + nfp;
        prec[i] = rank_pos / o->rank[i];
        if (kind == 0) {
            if (nfp > 1e-5) {
                g_fg[i] = -(hpE + nfp) / o->rank[i];
                for (int64_t j = 0; j < Nn; j++) g_neg[j] += hn[j] * (-g_fg[i]) / nfp;
            }
        } else {
            double c = 1.0;
            if (prec[i] >= p_max) p_max = prec[i]; else c = (1.0 - p_max) / (1.0 - prec[i]);
            sum_interp += p_max;
            g_fg[i] = -(1.0 - p_max);
            for (int64_t j = 0; j < Nn; j++) g_neg[j] += hn[j] / o->rank[i] * c;
        }
    }
    // grad = scatter(g_fg, g_neg) / |P|
    for (int64_t q = 0; q < P; q++)  o->grad[fg_idx[q]] = g_fg[q] / (double) P;
    for (int64_t j = 0; j < Nn; j++) o->grad[neg_idx[j]] = g_neg[j] / (double) P;
    if (kind == 0) {
        double s = 0.0;
        for (int64_t q = 0; q < P; q++) s += prec[q];
        o->loss_a = 1.0 - s / (double) P;
        // order = argsort(fg) descending (stable ascending, flipped);
        // loss_loc = mean(cumsum(E[order]) / rank[order]); its Jacobian in E, term by term
        double cum = 0.0, L = 0.0;
        for (int64_t r = 0; r < P; r++) {
            int64_t pr = asc[P - 1 - r];
            cum += E[pr];
            L += cum / o->rank[pr];
            for (int64_t q = 0; q <= r; q++) o->grad_loc[asc[P - 1 - q]] += 1.0 / o->rank[pr] / (double) P;
        }
        o->loss_b = L / (double) P;
    } else {
        o->loss_a = 1.0 - sum_interp / (double) P;
    }
    free(fg); free(fg_idx); free(E); free(neg); free(neg_idx); free(g_fg); free(g_neg);
    free(prec); free(hp); free(hn); free(asc);
}

// ---------------------------------------------------------------------------------------------
// comparison
// ---------------------------------------------------------------------------------------------

#define RTOL 1e-5
#define ATOL 1e-7

static double max_err;   // worst |a - b| / (ATOL + RTOL |b|) of the current case (<= 1: pass)

static void cmp(double got, double want) {
    double e = fabs(got - want) / (ATOL + RTOL * fabs(want));
    if (!(e <= max_err)) max_err = (e == e) ? e : INFINITY;
    if (got != got) max_err = INFINITY;
}

static int n_cases, n_fail;

static void report(const char * name, double extra_bad) {
    n_cases++;
    int ok = max_err <= 1.0 && extra_bad <= 1.0;
    if (!ok) n_fail++;
    printf("%-4s %-44s max err/tol %.3g%s\n", ok ? "OK" : "FAIL", name, max_err,
           extra_bad > 1.0 ? "  (balance/consistency check failed)" : "");
}

// runs both losses, fast (on tp) vs naive, and the balance check; returns nothing, reports
static void check_case(const char * name, struct alrp_threadpool * tp, int64_t n, const float * logits,
                       const int8_t * labels, const float * loc_err, float delta) {
    char label[128];
    for (int kind = 0; kind < 2; kind++) {
        struct ref_out ref;
        ref_loss(kind, n, logits, labels, kind == 0 ? loc_err : NULL, delta, &ref);
        int64_t P = ref.P;
        float * grad = (float *) malloc(sizeof(float) * (size_t) (n + 1));
        float * gl   = (float *) malloc(sizeof(float) * (size_t) (P + 1));
        float * rk   = (float *) malloc(sizeof(float) * (size_t) (P + 1));
        for (int64_t i = 0; i < n; i++) grad[i] = NAN;            // every entry must be written
        float la = NAN, lb = NAN;
        int64_t got_P = kind == 0
            ? alrp_loss_alrp_f32_tp(tp, n, logits, labels, loc_err, delta, &la, &lb, grad, gl, rk)
            : alrp_loss_ap_f32_tp(tp, n, logits, labels, delta, &la, grad, rk);
        max_err = 0.0;
        double bad = 0.0;
        if (got_P != P) { max_err = INFINITY; printf("     returned %lld positives, expected %lld\n", (long long) got_P, (long long) P); }
        else {
            cmp(la, ref.loss_a);
            if (kind == 0) cmp(lb, ref.loss_b);
            for (int64_t i = 0; i < n; i++) cmp(grad[i], ref.grad[i]);
            for (int64_t k = 0; k < P; k++) { cmp(rk[k], ref.rank[k]); if (kind == 0) cmp(gl[k], ref.grad_loc[k]); }
            // balance (Theorem 2): sum over positives of |g| = sum over negatives of g
            double sp = 0.0, sn = 0.0;
            for (int64_t i = 0; i < n; i++) {
                if (labels[i] == 1) sp += fabs(grad[i]);
                if (labels[i] == 0) sn += grad[i];
                if (labels[i] == -1 && grad[i] != 0.0f) bad = INFINITY;   // ignored entries: 0
                if (labels[i] == 0 && grad[i] < 0.0f) bad = INFINITY;     // negatives pushed down
            }
            double e = fabs(sp - sn) / (1e-6 + 1e-5 * sp);
            bad = e > bad ? e : bad;
        }
        snprintf(label, sizeof(label), "%s %s", kind == 0 ? "aLRP" : "AP  ", name);
        report(label, bad);
        free(grad); free(gl); free(rk);
        ref_free(&ref);
    }
}

// ---------------------------------------------------------------------------------------------
// inputs
// ---------------------------------------------------------------------------------------------

static struct alrp_rng rng = { 0x9e3779b97f4a7c15ull }; // fixed seed

struct input { int64_t n; float * s; int8_t * y; float * e; };

static void input_alloc(struct input * in, int64_t n) {
    in->n = n;
    in->s = (float *) calloc((size_t) n + 1, sizeof(float));
    in->y = (int8_t *) calloc((size_t) n + 1, 1);
    in->e = (float *) calloc((size_t) n + 1, sizeof(float));
}
static void input_free(struct input * in) { free(in->s); free(in->y); free(in->e); }
static void input_loc_err(struct input * in) {       // E_loc in [0, 2) for each positive
    int64_t P = 0;
    for (int64_t i = 0; i < in->n; i++) P += in->y[i] == 1;
    for (int64_t k = 0; k < P; k++) in->e[k] = (float) (2.0 * alrp_rng_uniform(&rng) * alrp_rng_uniform(&rng));
}

// a random case: score model m, label mix
static void make_random(struct input * in, int64_t n, int m, double p_pos, double p_ign) {
    input_alloc(in, n);
    for (int64_t i = 0; i < n; i++) {
        double u = alrp_rng_uniform(&rng);
        in->y[i] = u < p_pos ? 1 : (u < p_pos + p_ign ? -1 : 0);
        double s;
        switch (m) {
            case 0:  s = 3.0 * alrp_rng_normal(&rng) + (in->y[i] == 1 ? 1.0 : -1.0); break;          // overlapping
            case 1:  s = (double) (int) (8.0 * alrp_rng_uniform(&rng)) * 0.25; break;                   // many ties
            case 2:  s = (alrp_rng_u64(&rng) % 5) * 5000.0 - 10000.0 + alrp_rng_normal(&rng); break;          // |s| up to 1e4
            case 3:  s = in->y[i] == 1 ? 2.0 + alrp_rng_normal(&rng) : -6.0 + 1.5 * alrp_rng_normal(&rng); break; // realistic
            default: s = 20.0 * alrp_rng_uniform(&rng) - 10.0; break;
        }
        in->s[i] = (float) s;
    }
    input_loc_err(in);
}

int main(void) {
    struct alrp_threadpool * tp2 = alrp_threadpool_new(2);
    char name[128];

    // ---- hundreds of random cases ----
    for (int c = 0; c < 300; c++) {
        struct input in;
        int64_t n = 1 + (int64_t) (alrp_rng_u64(&rng) % 1500);
        int m = c % 5;
        double p_pos = c % 7 == 0 ? 0.3 : 0.03 + 0.1 * alrp_rng_uniform(&rng);
        double p_ign = (c % 3 == 0) ? 0.2 * alrp_rng_uniform(&rng) : 0.0;
        float delta = (c % 4 == 0) ? 1.0f : (float) (0.1 + 2.0 * alrp_rng_uniform(&rng));
        make_random(&in, n, m, p_pos, p_ign);
        snprintf(name, sizeof(name), "random %d (n %lld, model %d, delta %.3g)", c, (long long) n, m, (double) delta);
        check_case(name, c % 2 ? tp2 : NULL, n, in.s, in.y, in.e, delta);
        input_free(&in);
    }

    // ---- section 6 edge cases ----
    {   // no positive at all: zeros, no error, no NaN
        struct input in; make_random(&in, 500, 0, 0.0, 0.1);
        check_case("edge: no positives", tp2, in.n, in.s, in.y, in.e, 1.0f);
        for (int64_t i = 0; i < in.n; i++) in.y[i] = -1;
        check_case("edge: every entry ignored", NULL, in.n, in.s, in.y, in.e, 1.0f);
        input_free(&in);
        check_case("edge: n = 0", NULL, 0, NULL, NULL, NULL, 1.0f);
    }
    {   // every entry positive
        struct input in; make_random(&in, 300, 0, 1.0, 0.0);
        check_case("edge: all positives", tp2, in.n, in.s, in.y, in.e, 1.0f);
        for (int64_t i = 0; i < in.n; i++) in.s[i] = 0.25f;
        check_case("edge: all positives, all tied", NULL, in.n, in.s, in.y, in.e, 1.0f);
        input_free(&in);
    }
    {   // ties: every score equal; and positives and negatives on a coarse grid
        struct input in; make_random(&in, 400, 1, 0.2, 0.1);
        check_case("edge: ties on a grid", NULL, in.n, in.s, in.y, in.e, 1.0f);
        for (int64_t i = 0; i < in.n; i++) in.s[i] = -1.5f;
        check_case("edge: every score equal", tp2, in.n, in.s, in.y, in.e, 1.0f);
        // scores exactly delta apart (the kinks of H)
        for (int64_t i = 0; i < in.n; i++) in.s[i] = (float) ((int64_t) (alrp_rng_u64(&rng) % 9) - 4);
        check_case("edge: scores on the kinks of H", NULL, in.n, in.s, in.y, in.e, 1.0f);
        input_free(&in);
    }
    {   // ignored entries anywhere, including above every positive with huge scores
        struct input in; make_random(&in, 800, 0, 0.05, 0.0);
        for (int64_t i = 0; i < in.n; i += 3) { if (in.y[i] != 1) { in.y[i] = -1; in.s[i] = 1e4f; } }
        input_loc_err(&in);
        check_case("edge: ignored entries scored high", tp2, in.n, in.s, in.y, in.e, 1.0f);
        input_free(&in);
    }
    {   // huge score gaps |s| up to 1e4
        struct input in; make_random(&in, 1000, 2, 0.05, 0.05);
        check_case("edge: |s| up to 1e4, clusters", NULL, in.n, in.s, in.y, in.e, 1.0f);
        for (int64_t i = 0; i < in.n; i++) in.s[i] = (float) (2e4 * alrp_rng_uniform(&rng) - 1e4);
        check_case("edge: |s| up to 1e4, uniform", tp2, in.n, in.s, in.y, in.e, 1.0f);
        for (int64_t i = 0; i < in.n; i++) in.s[i] = (i % 2) ? 1e4f : -1e4f;
        check_case("edge: two scores 2e4 apart", NULL, in.n, in.s, in.y, in.e, 1.0f);
        input_free(&in);
    }
    {   // N_FP <= eps for some positives and not others. N_FP counts every negative above, so
        // only the top positives can have a tiny one: A at 3 (N_FP 0), B at 2 with one negative
        // at 1.000004 (H = 2e-6 <= eps: no update), C at 1.99 (same negative, H = 5e-3 > eps),
        // D at 0.5 and E at -3 (N_FP >= 1)
        struct input in; input_alloc(&in, 16);
        float s[16]; int8_t y[16];
        int m = 0;
        s[m] = 3.0f; y[m++] = 1;  s[m] = 2.0f; y[m++] = 1;  s[m] = 1.000004f; y[m++] = 0;
        s[m] = 1.99f; y[m++] = 1; s[m] = 0.5f; y[m++] = 1;  s[m] = -3.0f; y[m++] = 1;
        s[m] = -2.5f; y[m++] = 0; s[m] = -3.9f; y[m++] = 0; s[m] = -30.0f; y[m++] = 0;
        s[m] = 15.0f; y[m++] = -1; s[m] = 2.5f; y[m++] = -1;
        for (int i = 0; i < m; i++) { in.s[i] = s[i]; in.y[i] = y[i]; }
        in.n = m;
        input_loc_err(&in);
        check_case("edge: N_FP <= eps for some positives", NULL, in.n, in.s, in.y, in.e, 1.0f);
        float g[16], rk[16], la, lb;
        alrp_loss_alrp_f32_tp(NULL, in.n, in.s, in.y, in.e, 1.0f, &la, &lb, g, NULL, rk);
        // B: rank = rank+ + N_FP with N_FP ~ 2e-6 > 0, and no update; C: an update
        int ok = g[0] == 0.0f && g[1] == 0.0f && rk[1] > 2.0f && g[3] < 0.0f && g[4] < 0.0f;
        n_cases++;
        if (!ok) n_fail++;
        printf("%-4s %-44s g_A %g g_B %g (rank %.9g) g_C %g\n", ok ? "OK" : "FAIL", "edge: eps branch taken as designed",
               (double) g[0], (double) g[1], (double) rk[1], (double) g[3]);
        input_free(&in);
    }
    {   // one positive
        struct input in; make_random(&in, 700, 0, 0.0, 0.05);
        in.y[123] = 1; in.s[123] = 0.3f;
        input_loc_err(&in);
        check_case("edge: one positive", tp2, in.n, in.s, in.y, in.e, 1.0f);
        // ... and every negative below the threshold
        for (int64_t i = 0; i < in.n; i++) if (in.y[i] == 0) in.s[i] = -0.7f - (float) (5.0 * alrp_rng_uniform(&rng));
        check_case("edge: one positive, negatives below thr", NULL, in.n, in.s, in.y, in.e, 1.0f);
        input_free(&in);
    }
    {   // one positive among millions of negatives
        struct input in; make_random(&in, 2000000, 3, 0.0, 0.01);
        in.y[1234567] = 1; in.s[1234567] = -5.0f;
        input_loc_err(&in);
        check_case("edge: one positive, 2e6 negatives", tp2, in.n, in.s, in.y, in.e, 1.0f);
        input_free(&in);
    }
    {   // all negatives below the threshold (several positives): N_FP = 0, no update
        struct input in; make_random(&in, 600, 3, 0.05, 0.05);
        for (int64_t i = 0; i < in.n; i++) if (in.y[i] == 0) in.s[i] = -50.0f + (float) alrp_rng_normal(&rng);
        check_case("edge: all negatives below threshold", tp2, in.n, in.s, in.y, in.e, 1.0f);
        // a negative exactly at min(pos) - delta (H = 0 exactly)
        float mn = INFINITY;
        for (int64_t i = 0; i < in.n; i++) if (in.y[i] == 1 && in.s[i] < mn) mn = in.s[i];
        in.y[0] = 0; in.s[0] = mn - 1.0f;
        check_case("edge: a negative exactly at the threshold", NULL, in.n, in.s, in.y, in.e, 1.0f);
        input_free(&in);
    }
    {   // no loc_err (NULL): loss_loc 0
        struct input in; make_random(&in, 500, 0, 0.05, 0.0);
        check_case("edge: loc_err NULL", NULL, in.n, in.s, in.y, NULL, 1.0f);
        input_free(&in);
    }

    // ---- larger cases: several blocks; 1 vs 2 threads bit-identical; contract functions ----
    for (int c = 0; c < 3; c++) {
        struct input in;
        int64_t n = c == 0 ? 70000 : (c == 1 ? 150000 : 300000);
        make_random(&in, n, c == 2 ? 3 : 0, c == 2 ? 0.0005 : 0.0008, 0.02);
        snprintf(name, sizeof(name), "large %d (n %lld)", c, (long long) n);
        check_case(name, tp2, in.n, in.s, in.y, in.e, 1.0f);
        int64_t P = alrp_loss_count_positives(in.n, in.y);
        float * g1 = (float *) malloc(sizeof(float) * (size_t) n), * g2 = (float *) malloc(sizeof(float) * (size_t) n);
        float * gc = (float *) malloc(sizeof(float) * (size_t) n);
        float * l1 = (float *) malloc(sizeof(float) * (size_t) P), * l2 = (float *) malloc(sizeof(float) * (size_t) P);
        float * lc = (float *) malloc(sizeof(float) * (size_t) P);
        float * r1 = (float *) malloc(sizeof(float) * (size_t) P), * r2 = (float *) malloc(sizeof(float) * (size_t) P);
        float a1, b1, a2, b2, ac, bc;
        alrp_loss_alrp_f32_tp(NULL, n, in.s, in.y, in.e, 1.0f, &a1, &b1, g1, l1, r1);
        alrp_loss_alrp_f32_tp(tp2, n, in.s, in.y, in.e, 1.0f, &a2, &b2, g2, l2, r2);
        int64_t Pc = alrp_loss_alrp_f32(n, in.s, in.y, in.e, 1.0f, &ac, &bc, gc, lc);
        int same = a1 == a2 && b1 == b2 && ac == a1 && bc == b1 && Pc == P &&
                   !memcmp(g1, g2, sizeof(float) * (size_t) n) && !memcmp(g1, gc, sizeof(float) * (size_t) n) &&
                   !memcmp(l1, l2, sizeof(float) * (size_t) P) && !memcmp(l1, lc, sizeof(float) * (size_t) P) &&
                   !memcmp(r1, r2, sizeof(float) * (size_t) P);
        alrp_loss_ap_f32_tp(NULL, n, in.s, in.y, 1.0f, &a1, g1, r1);
        alrp_loss_ap_f32_tp(tp2, n, in.s, in.y, 1.0f, &a2, g2, r2);
        alrp_loss_ap_f32(n, in.s, in.y, 1.0f, &ac, gc);
        same = same && a1 == a2 && a1 == ac && !memcmp(g1, g2, sizeof(float) * (size_t) n) &&
               !memcmp(g1, gc, sizeof(float) * (size_t) n) && !memcmp(r1, r2, sizeof(float) * (size_t) P);
        n_cases++;
        if (!same) n_fail++;
        printf("%-4s %-44s (aLRP + AP, 1 thread vs 2 vs contract)\n", same ? "OK" : "FAIL", "threads: bit-identical");
        free(g1); free(g2); free(gc); free(l1); free(l2); free(lc); free(r1); free(r2);
        input_free(&in);
    }

    // ---- bad arguments: -1 and a message, never a crash ----
    {
        float s[4] = { 0.5f, -1.0f, 2.0f, 0.0f };
        int8_t y[4] = { 1, 0, 0, -1 };
        float e[4] = { 0.1f, 0.2f, 0.3f, 0.4f };
        float la, lb, g[4], gl[4];
        int bad_ok = 1;
        printf("(the next lines on stderr are expected error messages)\n");
        bad_ok &= alrp_loss_alrp_f32(-1, s, y, e, 1.0f, &la, &lb, g, gl) == -1;
        bad_ok &= alrp_loss_alrp_f32(4, NULL, y, e, 1.0f, &la, &lb, g, gl) == -1;
        bad_ok &= alrp_loss_alrp_f32(4, s, NULL, e, 1.0f, &la, &lb, g, gl) == -1;
        bad_ok &= alrp_loss_alrp_f32(4, s, y, e, 0.0f, &la, &lb, g, gl) == -1;
        bad_ok &= alrp_loss_ap_f32(4, s, y, NAN, &la, g) == -1;
        y[2] = 2;
        bad_ok &= alrp_loss_alrp_f32(4, s, y, e, 1.0f, &la, &lb, g, gl) == -1;
        y[2] = 0; s[1] = NAN;
        bad_ok &= alrp_loss_ap_f32(4, s, y, 1.0f, &la, g) == -1;
        s[1] = -1.0f; s[3] = NAN;   // NaN on an ignored entry is fine
        bad_ok &= alrp_loss_ap_f32(4, s, y, 1.0f, &la, g) == 1;
        e[0] = INFINITY;
        bad_ok &= alrp_loss_alrp_f32(4, s, y, e, 1.0f, &la, &lb, g, gl) == -1;
        e[0] = 0.1f;
        bad_ok &= alrp_loss_alrp_f32(4, s, y, e, 1.0f, NULL, NULL, NULL, NULL) == 1;   // outputs optional
        bad_ok &= alrp_loss_count_positives(4, y) == 1 && alrp_loss_count_positives(-1, y) == -1;
        n_cases++;
        if (!bad_ok) n_fail++;
        printf("%-4s %-44s\n", bad_ok ? "OK" : "FAIL", "bad arguments return -1");
    }

    alrp_threadpool_free(tp2);
    printf("%d cases, %d failed\n", n_cases, n_fail);
    return n_fail ? 1 : 0;
}
