// data-assign.c - MaxIoU and ATSS anchor assignment and the training targets; the rules are in
// data-assign.h. Needs model-anchors.c and alrp.h's implementation (the box coder) in the
// same program.
//
// Sections: IoU (scalar and 8 anchors at a time), the grid windows, best IoU per anchor / gt,
// MaxIoU, ATSS, targets.
#include "det-err.h"
#include "data-assign.h"

#include "alrp.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF   // a*b+c as two roundings, as PyTorch computes it
#endif


#define ASSIGN__EPS 1e-6f      // bbox_overlaps' eps on the union

// min / max of finite floats (NaN is refused up front), as torch.min / torch.max; unlike
// fminf / fmaxf these compile to one instruction
static inline float assign__min(float a, float b) { return a < b ? a : b; }
static inline float assign__max(float a, float b) { return a > b ? a : b; }

void assign_maxiou_params_default(struct assign_maxiou_params * p) {
    p->pos_iou_thr = 0.5f;
    p->neg_iou_thr = 0.4f;
    p->min_pos_iou = 0.0f;
    p->gt_max_assign_all = 1;
    p->match_low_quality = 1;
}

void assign_params_default(struct assign_params * p, enum assign_method method) {
    memset(p, 0, sizeof(*p));
    p->method = method;
    assign_maxiou_params_default(&p->maxiou);
    p->atss_topk = 9;
    p->stds[0] = 0.1f; p->stds[1] = 0.1f; p->stds[2] = 0.2f; p->stds[3] = 0.2f;
}

// ============================================================================================
// ===== IoU
// ============================================================================================

float assign_iou1(const float * a, const float * b) {
    float w = assign__min(a[2], b[2]) - assign__max(a[0], b[0]);
    float h = assign__min(a[3], b[3]) - assign__max(a[1], b[1]);
    w = assign__max(w, 0.0f);
    h = assign__max(h, 0.0f);
    const float inter = w * h;
    const float area_a = (a[2] - a[0]) * (a[3] - a[1]);
    const float area_b = (b[2] - b[0]) * (b[3] - b[1]);
    const float uni = assign__max((area_a + area_b) - inter, ASSIGN__EPS);
    return inter / uni;
}

// boxes1 (n1, 4), boxes2 (n2, 4) -> out (n1, n2)
void assign_iou(int64_t n1, const float * boxes1, int64_t n2, const float * boxes2, float * out) {
    for (int64_t i = 0; i < n1; i++)
        for (int64_t j = 0; j < n2; j++) out[i * n2 + j] = assign_iou1(boxes1 + 4 * i, boxes2 + 4 * j);
}

// IoU of one gt g (4,) with the anchors [k0, k0 + cnt) of planes (5, n) -> out (cnt,): the same
// operations as assign_iou1, 8 anchors at a time where the compiler has vector types
#if defined(__GNUC__)
typedef float   assign__v8f __attribute__((vector_size(32)));
typedef int32_t assign__v8i __attribute__((vector_size(32)));

static inline assign__v8f assign__vload(const float * p) {
    assign__v8f v;
    memcpy(&v, p, sizeof(v));
    return v;
}
static inline assign__v8f assign__vsel(assign__v8i m, assign__v8f a, assign__v8f b) {   // m ? a : b
    return (assign__v8f) (((assign__v8i) a & m) | ((assign__v8i) b & ~m));
}
static inline assign__v8f assign__vmin(assign__v8f a, assign__v8f b) { return assign__vsel(a < b, a, b); }
static inline assign__v8f assign__vmax(assign__v8f a, assign__v8f b) { return assign__vsel(a > b, a, b); }
#endif

static void assign__iou_run(const float * g, float g_area, const float * planes, int64_t n,
                            int64_t k0, int64_t cnt, float * out) {
    const float * x1 = planes + k0, * y1 = planes + n + k0, * x2 = planes + 2 * n + k0;
    const float * y2 = planes + 3 * n + k0, * ar = planes + 4 * n + k0;
    int64_t k = 0;
#if defined(__GNUC__)
    const assign__v8f gx1 = { g[0], g[0], g[0], g[0], g[0], g[0], g[0], g[0] };
    const assign__v8f gy1 = { g[1], g[1], g[1], g[1], g[1], g[1], g[1], g[1] };
    const assign__v8f gx2 = { g[2], g[2], g[2], g[2], g[2], g[2], g[2], g[2] };
    const assign__v8f gy2 = { g[3], g[3], g[3], g[3], g[3], g[3], g[3], g[3] };
    const assign__v8f ga = { g_area, g_area, g_area, g_area, g_area, g_area, g_area, g_area };
    const assign__v8f zero = { 0 }, eps = { ASSIGN__EPS, ASSIGN__EPS, ASSIGN__EPS, ASSIGN__EPS,
                                            ASSIGN__EPS, ASSIGN__EPS, ASSIGN__EPS, ASSIGN__EPS };
    for (; k + 8 <= cnt; k += 8) {
        assign__v8f w = assign__vmin(assign__vload(x2 + k), gx2) - assign__vmax(assign__vload(x1 + k), gx1);
        assign__v8f h = assign__vmin(assign__vload(y2 + k), gy2) - assign__vmax(assign__vload(y1 + k), gy1);
        w = assign__vmax(w, zero);
        h = assign__vmax(h, zero);
        const assign__v8f inter = w * h;
        const assign__v8f uni = assign__vmax((assign__vload(ar + k) + ga) - inter, eps);
        const assign__v8f iou = inter / uni;
        memcpy(out + k, &iou, sizeof(iou));
    }
#endif
    for (; k < cnt; k++) {
        float w = assign__min(x2[k], g[2]) - assign__max(x1[k], g[0]);
        float h = assign__min(y2[k], g[3]) - assign__max(y1[k], g[1]);
        w = assign__max(w, 0.0f);
        h = assign__max(h, 0.0f);
        const float inter = w * h;
        const float uni = assign__max((ar[k] + g_area) - inter, ASSIGN__EPS);
        out[k] = inter / uni;
    }
}

// ============================================================================================
// ===== argument checks
// ============================================================================================

static int assign__check_gts(int n_gt, const float * gts, char * err, size_t err_size) {
    if (n_gt < 0) return det_errf(err, err_size, "assign: %d ground truths", n_gt);
    if (n_gt > 0 && !gts) return det_errf(err, err_size, "assign: %d ground truths but no boxes", n_gt);
    for (int g = 0; g < n_gt; g++) {
        for (int c = 0; c < 4; c++) {
            if (!isfinite(gts[4 * g + c])) {
                return det_errf(err, err_size, "assign: ground truth %d has a non-finite coordinate (%g)",
                                   g, (double) gts[4 * g + c]);
            }
        }
    }
    return 0;
}

static int assign__check_anchors(const struct anchors * a, char * err, size_t err_size) {
    if (!a || (a->n > 0 && (!a->boxes || !a->centres || !a->planes))) {
        return det_errf(err, err_size, "assign: anchors are not initialised (anchors_init)");
    }
    return 0;
}

// ============================================================================================
// ===== grid windows
// ============================================================================================

// The cells [*x0, *x1] x [*y0, *y1] of level l whose anchors may overlap box g; every anchor
// outside has IoU exactly 0 with it (its intersection is clamped to 0). One cell of margin
// covers the rounding of the anchor coordinates. Returns 0 if the window is empty.
static int assign__window(const struct anchors * a, int l, const float * g, int * x0, int * x1, int * y0, int * y1) {
    const double s = (double) a->stride[l];
    // an anchor of column x spans at most [s x + lo, s x + hi]; it overlaps (g0, g2) only if
    // s x + hi > g0 and s x + lo < g2
    double lo_x = floor(((double) g[0] - (double) a->base_hi[l][0]) / s) - 1.0;
    double hi_x = ceil(((double) g[2] - (double) a->base_lo[l][0]) / s) + 1.0;
    double lo_y = floor(((double) g[1] - (double) a->base_hi[l][1]) / s) - 1.0;
    double hi_y = ceil(((double) g[3] - (double) a->base_lo[l][1]) / s) + 1.0;
    lo_x = fmax(lo_x, 0.0); lo_y = fmax(lo_y, 0.0);
    hi_x = fmin(hi_x, (double) (a->feat_w[l] - 1)); hi_y = fmin(hi_y, (double) (a->feat_h[l] - 1));
    if (lo_x > hi_x || lo_y > hi_y) return 0;
    *x0 = (int) lo_x; *x1 = (int) hi_x; *y0 = (int) lo_y; *y1 = (int) hi_y;
    return 1;
}

#define ASSIGN__RUN 512   // IoUs computed per call of assign__iou_run (a row is cut in pieces)

// Calls visit(ctx, k0, iou, cnt) for every anchor of every level that may overlap g, a row
// piece at a time, in increasing anchor index; returns 0.
typedef void (*assign__visit_fn)(void * ctx, int64_t k0, const float * iou, int64_t cnt);

static void assign__for_windows(const struct anchors * a, const float * g, assign__visit_fn visit, void * ctx) {
    float buf[ASSIGN__RUN];
    const float g_area = (g[2] - g[0]) * (g[3] - g[1]);
    for (int l = 0; l < a->n_levels; l++) {
        int x0, x1, y0, y1;
        if (!assign__window(a, l, g, &x0, &x1, &y0, &y1)) continue;
        for (int y = y0; y <= y1; y++) {
            const int64_t k_begin = anchors_index(a, l, y, x0, 0);
            const int64_t k_end = anchors_index(a, l, y, x1, 0) + a->per_loc;
            for (int64_t k = k_begin; k < k_end; k += ASSIGN__RUN) {
                const int64_t cnt = k_end - k < ASSIGN__RUN ? k_end - k : ASSIGN__RUN;
                assign__iou_run(g, g_area, a->planes, a->n, k, cnt, buf);
                visit(ctx, k, buf, cnt);
            }
        }
    }
}

// ============================================================================================
// ===== best IoU per anchor and per gt
// ============================================================================================

#define ASSIGN__TIES 32   // anchors remembered at a gt's running maximum

struct assign__best_ctx {
    float *   anchor_best;
    int32_t * anchor_arg;
    float     gt_best;
    int32_t   g;
    int       n_ties;                 // anchors at gt_best so far (may exceed ASSIGN__TIES)
    int64_t   ties[ASSIGN__TIES];     // the first of them, in index order
};

// per anchor: keep the better of its best and this gt (strict: the first gt keeps a tie); per gt:
// the running maximum and the anchors that reach it
static void assign__best_visit(void * ctx_, int64_t k0, const float * iou, int64_t cnt) {
    struct assign__best_ctx * c = (struct assign__best_ctx *) ctx_;
    float * best = c->anchor_best + k0;
    int32_t * arg = c->anchor_arg + k0;
    const int32_t g = c->g;
    float mx = -INFINITY;
    int64_t k = 0;
#if defined(__GNUC__)
    const assign__v8i gv = { g, g, g, g, g, g, g, g };
    assign__v8f vmx = { -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY };
    for (; k + 8 <= cnt; k += 8) {
        const assign__v8f v = assign__vload(iou + k), b = assign__vload(best + k);
        assign__v8i ag;
        memcpy(&ag, arg + k, sizeof(ag));
        const assign__v8i up = v > b;
        const assign__v8f nb = assign__vsel(up, v, b);
        ag = (up & gv) | (~up & ag);
        memcpy(best + k, &nb, sizeof(nb));
        memcpy(arg + k, &ag, sizeof(ag));
        vmx = assign__vmax(vmx, v);
    }
    for (int i = 0; i < 8; i++) mx = assign__max(mx, vmx[i]);
#endif
    for (; k < cnt; k++) {
        const float v = iou[k];
        if (v > best[k]) { best[k] = v; arg[k] = g; }
        mx = assign__max(mx, v);
    }
    if (mx < c->gt_best || !(mx > 0.0f)) return;   // nothing new at the maximum (0: no overlap)
    for (k = 0; k < cnt; k++) {
        const float v = iou[k];
        if (v > c->gt_best) { c->gt_best = v; c->n_ties = 0; }
        if (v == c->gt_best) {
            if (c->n_ties < ASSIGN__TIES) c->ties[c->n_ties] = k0 + k;
            c->n_ties++;
        }
    }
}

// anchor_best, anchor_arg (n,) required here; gt_best (n_gt,) optional; with ties (n_gt,
// ASSIGN__TIES) and n_ties (n_gt,), the anchors at each gt's maximum (a count above
// ASSIGN__TIES: only the first ones are listed). A gt that overlaps no anchor has gt_best 0 and
// no ties listed (every anchor is at its maximum).
static void assign__best_fast(const struct anchors * a, int n_gt, const float * gts, float * anchor_best,
                              int32_t * anchor_arg, float * gt_best, int64_t * ties, int * n_ties) {
    for (int64_t k = 0; k < a->n; k++) { anchor_best[k] = 0.0f; anchor_arg[k] = 0; }
    for (int g = 0; g < n_gt; g++) {
        struct assign__best_ctx c;
        c.anchor_best = anchor_best;
        c.anchor_arg = anchor_arg;
        c.gt_best = 0.0f;
        c.g = g;
        c.n_ties = 0;
        assign__for_windows(a, gts + 4 * g, assign__best_visit, &c);
        if (gt_best) gt_best[g] = c.gt_best;
        if (ties) {
            if (c.gt_best == 0.0f) c.n_ties = 0;
            const int listed = c.n_ties < ASSIGN__TIES ? c.n_ties : ASSIGN__TIES;
            memcpy(ties + (int64_t) g * ASSIGN__TIES, c.ties, sizeof(int64_t) * (size_t) listed);
            n_ties[g] = c.n_ties;
        }
    }
}

int assign_best_iou(const struct anchors * a, int n_gt, const float * gts, float * anchor_best,
                    int32_t * anchor_arg, float * gt_best, char * err, size_t err_size) {
    if (assign__check_anchors(a, err, err_size) || assign__check_gts(n_gt, gts, err, err_size)) return -1;
    float * best = anchor_best ? anchor_best : (float *) malloc(sizeof(float) * (size_t) (a->n ? a->n : 1));
    int32_t * arg = anchor_arg ? anchor_arg : (int32_t *) malloc(sizeof(int32_t) * (size_t) (a->n ? a->n : 1));
    int rc = 0;
    if (!best || !arg) rc = det_errf(err, err_size, "assign: out of memory");
    else assign__best_fast(a, n_gt, gts, best, arg, gt_best, NULL, NULL);
    if (!anchor_best) free(best);
    if (!anchor_arg) free(arg);
    return rc;
}

int assign_best_iou_naive(int64_t n, const float * anchors, int n_gt, const float * gts,
                          float * anchor_best, int32_t * anchor_arg, float * gt_best,
                          char * err, size_t err_size) {
    if (n < 0 || (n > 0 && !anchors))
        return det_errf(err, err_size, "assign: %lld anchors and no boxes", (long long) n);
    if (assign__check_gts(n_gt, gts, err, err_size)) return -1;
    for (int64_t k = 0; k < n; k++) {
        float best = 0.0f;
        int32_t arg = 0;
        for (int g = 0; g < n_gt; g++) {
            const float v = assign_iou1(gts + 4 * g, anchors + 4 * k);
            if (g == 0 || v > best) { best = v; arg = g; }
        }
        if (anchor_best) anchor_best[k] = best;
        if (anchor_arg) anchor_arg[k] = arg;
    }
    if (gt_best) {
        for (int g = 0; g < n_gt; g++) {
            float best = 0.0f;
            for (int64_t k = 0; k < n; k++) {
                const float v = assign_iou1(gts + 4 * g, anchors + 4 * k);
                if (k == 0 || v > best) best = v;
            }
            gt_best[g] = best;
        }
    }
    return 0;
}

// ============================================================================================
// ===== MaxIoU
// ============================================================================================

static int assign__check_maxiou(const struct assign_maxiou_params * p, char * err, size_t err_size) {
    if (!p || !(p->neg_iou_thr <= p->pos_iou_thr) || !isfinite(p->min_pos_iou)) {
        return det_errf(err, err_size, "assign: MaxIoU thresholds must satisfy neg_iou_thr <= pos_iou_thr");
    }
    return 0;
}

// step 1: from the best IoU per anchor
static void assign__maxiou_step1(int64_t n, const float * best, const int32_t * arg,
                                 const struct assign_maxiou_params * p, int32_t * gt_ind) {
    for (int64_t k = 0; k < n; k++) {
        const float v = best[k];
        int32_t r = ASSIGN_IGNORE;
        if (v >= 0.0f && v < p->neg_iou_thr) r = ASSIGN_NEG;
        if (v >= p->pos_iou_thr) r = arg[k];
        gt_ind[k] = r;
    }
}

struct assign__lq_ctx {
    int32_t * gt_ind;
    float     target;
    int32_t   g;
    int       all;      // every tied anchor, or only the first
    int       done;
};

static void assign__lq_visit(void * ctx_, int64_t k0, const float * iou, int64_t cnt) {
    struct assign__lq_ctx * c = (struct assign__lq_ctx *) ctx_;
    if (c->done) return;
    for (int64_t k = 0; k < cnt; k++) {
        if (iou[k] == c->target) {
            c->gt_ind[k0 + k] = c->g;
            if (!c->all) { c->done = 1; return; }
        }
    }
}

int assign_maxiou(const struct anchors * a, int n_gt, const float * gts,
                  const struct assign_maxiou_params * p, int32_t * gt_ind, float * max_iou,
                  char * err, size_t err_size) {
    if (assign__check_anchors(a, err, err_size) || assign__check_gts(n_gt, gts, err, err_size) ||
        assign__check_maxiou(p, err, err_size)) return -1;
    if (!gt_ind) return det_errf(err, err_size, "assign: no gt_ind output");
    const int64_t n = a->n;
    if (n_gt == 0) {
        for (int64_t k = 0; k < n; k++) { gt_ind[k] = ASSIGN_NEG; if (max_iou) max_iou[k] = 0.0f; }
        return 0;
    }
    float * best = max_iou ? max_iou : (float *) malloc(sizeof(float) * (size_t) (n ? n : 1));
    int32_t * arg = (int32_t *) malloc(sizeof(int32_t) * (size_t) (n ? n : 1));
    float * gt_best = (float *) malloc(sizeof(float) * (size_t) n_gt);
    int64_t * ties = (int64_t *) malloc(sizeof(int64_t) * ASSIGN__TIES * (size_t) n_gt);
    int * n_ties = (int *) malloc(sizeof(int) * (size_t) n_gt);
    int rc = 0;
    if (!best || !arg || !gt_best || !ties || !n_ties) {
        rc = det_errf(err, err_size, "assign: out of memory");
        goto done;
    }
    assign__best_fast(a, n_gt, gts, best, arg, gt_best, ties, n_ties);
    assign__maxiou_step1(n, best, arg, p, gt_ind);
    if (p->match_low_quality) {
        for (int g = 0; g < n_gt; g++) {
            if (!(gt_best[g] >= p->min_pos_iou)) continue;
            if (gt_best[g] > 0.0f && n_ties[g] <= ASSIGN__TIES) {
                // the anchors at the gt's maximum, remembered by the first pass
                const int m = p->gt_max_assign_all ? n_ties[g] : 1;
                for (int i = 0; i < m; i++) gt_ind[ties[(int64_t) g * ASSIGN__TIES + i]] = g;
            } else if (gt_best[g] > 0.0f) {
                // more ties than remembered: find them again
                struct assign__lq_ctx c = { gt_ind, gt_best[g], g, p->gt_max_assign_all, 0 };
                assign__for_windows(a, gts + 4 * g, assign__lq_visit, &c);
            } else {
                // overlaps nothing: every anchor has IoU 0 = its max (mmdet's rule, kept)
                if (p->gt_max_assign_all) for (int64_t k = 0; k < n; k++) gt_ind[k] = g;
                else if (n > 0) gt_ind[0] = g;
            }
        }
    }
done:
    if (!max_iou) free(best);
    free(arg);
    free(gt_best);
    free(ties);
    free(n_ties);
    return rc;
}

int assign_maxiou_naive(int64_t n, const float * anchors, int n_gt, const float * gts,
                        const struct assign_maxiou_params * p, int32_t * gt_ind, float * max_iou,
                        char * err, size_t err_size) {
    if (n < 0 || (n > 0 && !anchors))
        return det_errf(err, err_size, "assign: %lld anchors and no boxes", (long long) n);
    if (assign__check_gts(n_gt, gts, err, err_size) || assign__check_maxiou(p, err, err_size)) return -1;
    if (!gt_ind) return det_errf(err, err_size, "assign: no gt_ind output");
    if (n_gt == 0) {
        for (int64_t k = 0; k < n; k++) { gt_ind[k] = ASSIGN_NEG; if (max_iou) max_iou[k] = 0.0f; }
        return 0;
    }
    // overlaps (n_gt, n), as mmdet: iou(gts, anchors)
    float * ov = (float *) malloc(sizeof(float) * (size_t) n_gt * (size_t) (n ? n : 1));
    float * best = (float *) malloc(sizeof(float) * (size_t) (n ? n : 1));
    int32_t * arg = (int32_t *) malloc(sizeof(int32_t) * (size_t) (n ? n : 1));
    float * gt_best = (float *) malloc(sizeof(float) * (size_t) n_gt);
    int64_t * gt_arg = (int64_t *) malloc(sizeof(int64_t) * (size_t) n_gt);
    int rc = 0;
    if (!ov || !best || !arg || !gt_best || !gt_arg) {
        rc = det_errf(err, err_size, "assign: out of memory");
        goto done;
    }
    assign_iou(n_gt, gts, n, anchors, ov);
    // max over gts per anchor, over anchors per gt: the first maximum
    for (int64_t k = 0; k < n; k++) {
        best[k] = ov[k];
        arg[k] = 0;
        for (int g = 1; g < n_gt; g++) {
            const float v = ov[(int64_t) g * n + k];
            if (v > best[k]) { best[k] = v; arg[k] = g; }
        }
    }
    for (int g = 0; g < n_gt; g++) {
        gt_best[g] = n ? ov[(int64_t) g * n] : 0.0f;
        gt_arg[g] = 0;
        for (int64_t k = 1; k < n; k++) {
            const float v = ov[(int64_t) g * n + k];
            if (v > gt_best[g]) { gt_best[g] = v; gt_arg[g] = k; }
        }
    }
    assign__maxiou_step1(n, best, arg, p, gt_ind);
    if (p->match_low_quality && n > 0) {
        for (int g = 0; g < n_gt; g++) {
            if (!(gt_best[g] >= p->min_pos_iou)) continue;
            if (p->gt_max_assign_all) {
                for (int64_t k = 0; k < n; k++) if (ov[(int64_t) g * n + k] == gt_best[g]) gt_ind[k] = g;
            } else {
                gt_ind[gt_arg[g]] = g;
            }
        }
    }
    if (max_iou) memcpy(max_iou, best, sizeof(float) * (size_t) n);
done:
    free(ov);
    free(best);
    free(arg);
    free(gt_best);
    free(gt_arg);
    return rc;
}

// ============================================================================================
// ===== ATSS
// ============================================================================================

struct assign__cand {
    float   dist;
    int64_t k;
};

// (dist, k) ascending: the nearer first, the lower index on a tie
static int assign__cand_less(const struct assign__cand * x, const struct assign__cand * y) {
    return x->dist < y->dist || (x->dist == y->dist && x->k < y->k);
}

// inserts c into the sorted list top (*len of at most cap entries)
static void assign__cand_push(struct assign__cand * top, int * len, int cap, struct assign__cand c) {
    if (*len == cap && !assign__cand_less(&c, &top[cap - 1])) return;
    int i = *len < cap ? (*len)++ : cap - 1;
    while (i > 0 && assign__cand_less(&c, &top[i - 1])) { top[i] = top[i - 1]; i--; }
    top[i] = c;
}

static inline float assign__dist(const float * centre, float gcx, float gcy) {
    const float dx = centre[0] - gcx, dy = centre[1] - gcy;
    return sqrtf(dx * dx + dy * dy);
}

// the topk anchors of level l nearest (gcx, gcy) -> top (sorted); returns their count
static int assign__atss_level(const struct anchors * a, int l, float gcx, float gcy, int topk,
                              struct assign__cand * top) {
    const int W = a->feat_w[l], H = a->feat_h[l];
    const int64_t n_l = a->offset[l + 1] - a->offset[l];
    const int want = n_l < topk ? (int) n_l : topk;
    const double s = (double) a->stride[l];
    // the cell nearest the centre, clamped into the grid
    double fx = floor((double) gcx / s + 0.5), fy = floor((double) gcy / s + 0.5);
    fx = fmin(fmax(fx, 0.0), (double) (W - 1));
    fy = fmin(fmax(fy, 0.0), (double) (H - 1));
    const int cx = (int) fx, cy = (int) fy;
    int r = (int) ceil(sqrt((double) want / (double) a->per_loc) / 2.0) + 1;
    for (;;) {
        const int x0 = cx - r < 0 ? 0 : cx - r, x1 = cx + r > W - 1 ? W - 1 : cx + r;
        const int y0 = cy - r < 0 ? 0 : cy - r, y1 = cy + r > H - 1 ? H - 1 : cy + r;
        int len = 0;
        for (int y = y0; y <= y1; y++) {
            for (int x = x0; x <= x1; x++) {
                for (int k = 0; k < a->per_loc; k++) {
                    const int64_t i = anchors_index(a, l, y, x, k);
                    struct assign__cand c = { assign__dist(a->centres + 2 * i, gcx, gcy), i };
                    assign__cand_push(top, &len, want, c);
                }
            }
        }
        const int whole = x0 == 0 && y0 == 0 && x1 == W - 1 && y1 == H - 1;
        if (whole) return len;
        if (len == want) {
            // every anchor outside the window is at least this far (its centre is within a
            // rounding of s * column, s * row); the window's result is exact if the last
            // candidate is strictly nearer
            double lb = INFINITY;
            if (x0 > 0)     lb = fmin(lb, (double) gcx - s * (x0 - 1));
            if (x1 < W - 1) lb = fmin(lb, s * (x1 + 1) - (double) gcx);
            if (y0 > 0)     lb = fmin(lb, (double) gcy - s * (y0 - 1));
            if (y1 < H - 1) lb = fmin(lb, s * (y1 + 1) - (double) gcy);
            const double slack = 1e-2 + 1e-5 * (fabs((double) gcx) + fabs((double) gcy) + s * (W + H));
            if ((double) top[len - 1].dist < lb - slack) return len;
        }
        r = 2 * r + 1;
    }
}

static int assign__atss_check(int topk, int32_t * gt_ind, char * err, size_t err_size) {
    if (topk < 1 || topk > 4096) return det_errf(err, err_size, "assign: ATSS topk %d (must be 1..4096)", topk);
    if (!gt_ind) return det_errf(err, err_size, "assign: no gt_ind output");
    return 0;
}

// steps 2-4 for gt g given its candidates (cand_k (n_cand,), their IoUs); best (n,) holds the
// best IoU of each anchor over the earlier gts' positives (-inf: none)
static void assign__atss_resolve(const float * g, int32_t gi, int n_cand, const int64_t * cand_k,
                                 const float * cand_iou, const float * centres, float * best, int32_t * gt_ind) {
    if (n_cand < 2) return;   // torch.std of one value is NaN: nothing passes the threshold
    double sum = 0.0;
    for (int i = 0; i < n_cand; i++) sum += (double) cand_iou[i];
    const double mean = sum / n_cand;
    double ss = 0.0;
    for (int i = 0; i < n_cand; i++) ss += ((double) cand_iou[i] - mean) * ((double) cand_iou[i] - mean);
    const double thr = mean + sqrt(ss / (n_cand - 1));
    for (int i = 0; i < n_cand; i++) {
        if (!((double) cand_iou[i] >= thr)) continue;
        const float * c = centres + 2 * cand_k[i];
        const float l = c[0] - g[0], t = c[1] - g[1], r = g[2] - c[0], b = g[3] - c[1];
        const float m = assign__min(assign__min(l, t), assign__min(r, b));
        if (!(m > 0.01f)) continue;
        if (cand_iou[i] > best[cand_k[i]]) { best[cand_k[i]] = cand_iou[i]; gt_ind[cand_k[i]] = gi; }
    }
}

int assign_atss(const struct anchors * a, int n_gt, const float * gts, int topk,
                int32_t * gt_ind, char * err, size_t err_size) {
    if (assign__check_anchors(a, err, err_size) || assign__check_gts(n_gt, gts, err, err_size) ||
        assign__atss_check(topk, gt_ind, err, err_size)) return -1;
    const int64_t n = a->n;
    for (int64_t k = 0; k < n; k++) gt_ind[k] = ASSIGN_NEG;
    if (n_gt == 0 || n == 0) return 0;
    const int max_cand = topk * a->n_levels;
    float * best = (float *) malloc(sizeof(float) * (size_t) n);
    struct assign__cand * top = (struct assign__cand *) malloc(sizeof(struct assign__cand) * (size_t) topk);
    int64_t * cand_k = (int64_t *) malloc(sizeof(int64_t) * (size_t) max_cand);
    float * cand_iou = (float *) malloc(sizeof(float) * (size_t) max_cand);
    int rc = 0;
    if (!best || !top || !cand_k || !cand_iou) { rc = det_errf(err, err_size, "assign: out of memory"); goto done; }
    for (int64_t k = 0; k < n; k++) best[k] = -INFINITY;
    for (int g = 0; g < n_gt; g++) {
        const float * gb = gts + 4 * g;
        const float gcx = (gb[0] + gb[2]) / 2.0f, gcy = (gb[1] + gb[3]) / 2.0f;
        int n_cand = 0;
        for (int l = 0; l < a->n_levels; l++) {
            const int len = assign__atss_level(a, l, gcx, gcy, topk, top);
            for (int i = 0; i < len; i++) {
                cand_k[n_cand] = top[i].k;
                cand_iou[n_cand] = assign_iou1(a->boxes + 4 * top[i].k, gb);
                n_cand++;
            }
        }
        assign__atss_resolve(gb, g, n_cand, cand_k, cand_iou, a->centres, best, gt_ind);
    }
done:
    free(best);
    free(top);
    free(cand_k);
    free(cand_iou);
    return rc;
}

int assign_atss_naive(int64_t n, const float * anchors, const float * centres, int n_levels,
                      const int64_t * level_offset, int n_gt, const float * gts, int topk,
                      int32_t * gt_ind, char * err, size_t err_size) {
    if (n < 0 || (n > 0 && (!anchors || !centres)) || n_levels < 1 || !level_offset) {
        return det_errf(err, err_size, "assign: bad anchors for ATSS (%lld anchors, %d levels)",
                           (long long) n, n_levels);
    }
    if (level_offset[0] != 0 || level_offset[n_levels] != n) {
        return det_errf(err, err_size, "assign: level offsets must run from 0 to the number of anchors (%lld)",
                           (long long) n);
    }
    for (int l = 0; l < n_levels; l++) {
        if (level_offset[l + 1] < level_offset[l])
            return det_errf(err, err_size, "assign: level %d has a negative count", l);
    }
    if (assign__check_gts(n_gt, gts, err, err_size) || assign__atss_check(topk, gt_ind, err, err_size)) return -1;
    for (int64_t k = 0; k < n; k++) gt_ind[k] = ASSIGN_NEG;
    if (n_gt == 0 || n == 0) return 0;
    // overlaps (n, n_gt) and distances (n, n_gt), as mmdet
    float * ov = (float *) malloc(sizeof(float) * (size_t) n * (size_t) n_gt);
    float * dist = (float *) malloc(sizeof(float) * (size_t) n * (size_t) n_gt);
    int64_t * cand_k = (int64_t *) malloc(sizeof(int64_t) * (size_t) topk * (size_t) n_levels);
    float * cand_iou = (float *) malloc(sizeof(float) * (size_t) topk * (size_t) n_levels);
    float * best = (float *) malloc(sizeof(float) * (size_t) n);
    int rc = 0;
    if (!ov || !dist || !cand_k || !cand_iou || !best) {
        rc = det_errf(err, err_size, "assign: out of memory");
        goto done;
    }
    assign_iou(n, anchors, n_gt, gts, ov);
    for (int64_t k = 0; k < n; k++) {
        for (int g = 0; g < n_gt; g++) {
            const float * gb = gts + 4 * g;
            dist[k * n_gt + g] = assign__dist(centres + 2 * k, (gb[0] + gb[2]) / 2.0f, (gb[1] + gb[3]) / 2.0f);
        }
    }
    for (int64_t k = 0; k < n; k++) best[k] = -INFINITY;
    for (int g = 0; g < n_gt; g++) {
        int n_cand = 0;
        for (int l = 0; l < n_levels; l++) {
            // topk passes over the level, each taking the next (distance, index) in order
            const int64_t b = level_offset[l], e = level_offset[l + 1];
            struct assign__cand prev = { -INFINITY, -1 };
            for (int t = 0; t < topk && t < e - b; t++) {
                struct assign__cand next = { INFINITY, INT64_MAX };
                for (int64_t k = b; k < e; k++) {
                    struct assign__cand c = { dist[k * n_gt + g], k };
                    if (assign__cand_less(&prev, &c) && assign__cand_less(&c, &next)) next = c;
                }
                cand_k[n_cand] = next.k;
                cand_iou[n_cand] = ov[next.k * n_gt + g];
                n_cand++;
                prev = next;
            }
        }
        assign__atss_resolve(gts + 4 * g, g, n_cand, cand_k, cand_iou, centres, best, gt_ind);
    }
done:
    free(ov);
    free(dist);
    free(cand_k);
    free(cand_iou);
    free(best);
    return rc;
}

// ============================================================================================
// ===== targets
// ============================================================================================

int assign_keep_gts(int n_gt, const float * gts, int32_t * keep, char * err, size_t err_size) {
    if (assign__check_gts(n_gt, gts, err, err_size)) return -1;
    if (n_gt > 0 && !keep) return det_errf(err, err_size, "assign: no keep output");
    int m = 0;
    for (int g = 0; g < n_gt; g++) {
        const float * b = gts + 4 * g;
        const float w = b[2] - b[0], h = b[3] - b[1];
        if (w >= 1.0f && h >= 1.0f && w * h > 0.0f) keep[m++] = g;
    }
    return m;
}

int assign_targets(const struct anchors * a, int n_gt, const float * gts, const int32_t * gt_cls,
                   int n_classes, const struct assign_params * p, int8_t * labels, float * deltas,
                   int32_t * gt_ind, struct assign_stats * st, char * err, size_t err_size) {
    if (assign__check_anchors(a, err, err_size) || assign__check_gts(n_gt, gts, err, err_size)) return -1;
    if (!p || (p->method != ASSIGN_MAXIOU && p->method != ASSIGN_ATSS))
        return det_errf(err, err_size, "assign: unknown method");
    if (n_classes < 1 || n_classes > (1 << 20)) return det_errf(err, err_size, "assign: %d classes", n_classes);
    if (!labels || !deltas || !gt_ind || (n_gt > 0 && !gt_cls))
        return det_errf(err, err_size, "assign: missing output or class array");
    for (int i = 0; i < 4; i++) {
        if (!(p->stds[i] > 0.0f) || !isfinite(p->stds[i]))
            return det_errf(err, err_size, "assign: delta std %d is %g (must be > 0)", i, (double) p->stds[i]);
    }
    for (int g = 0; g < n_gt; g++) {
        if (gt_cls[g] < 0 || gt_cls[g] >= n_classes) {
            return det_errf(err, err_size, "assign: ground truth %d has class %d (must be 0..%d)",
                               g, (int) gt_cls[g], n_classes - 1);
        }
    }
    const int64_t n = a->n;
    int32_t * keep = (int32_t *) malloc(sizeof(int32_t) * (size_t) (n_gt ? n_gt : 1));
    float * kept = (float *) malloc(sizeof(float) * 4 * (size_t) (n_gt ? n_gt : 1));
    int rc = 0;
    if (!keep || !kept) { rc = det_errf(err, err_size, "assign: out of memory"); goto done; }
    const int m = assign_keep_gts(n_gt, gts, keep, err, err_size);
    for (int i = 0; i < m; i++) memcpy(kept + 4 * i, gts + 4 * keep[i], sizeof(float) * 4);

    if (p->method == ASSIGN_MAXIOU) {
        rc = p->naive ? assign_maxiou_naive(n, a->boxes, m, kept, &p->maxiou, gt_ind, NULL, err, err_size)
                      : assign_maxiou(a, m, kept, &p->maxiou, gt_ind, NULL, err, err_size);
    } else {
        rc = p->naive ? assign_atss_naive(n, a->boxes, a->centres, a->n_levels, a->offset, m, kept, p->atss_topk,
                                          gt_ind, err, err_size)
                      : assign_atss(a, m, kept, p->atss_topk, gt_ind, err, err_size);
    }
    if (rc) goto done;

    // labels (n, C), deltas (n, 4); gt_ind back to the caller's indices
    memset(labels, 0, (size_t) n * (size_t) n_classes);
    memset(deltas, 0, sizeof(float) * 4 * (size_t) n);
    struct assign_stats s = { 0, 0, 0, m };
    for (int64_t k = 0; k < n; k++) {
        const int32_t g = gt_ind[k];
        if (g == ASSIGN_NEG) { s.n_neg++; continue; }
        if (g == ASSIGN_IGNORE) {
            memset(labels + k * n_classes, -1, (size_t) n_classes);
            s.n_ignore++;
            continue;
        }
        const int32_t orig = keep[g];
        gt_ind[k] = orig;
        labels[k * n_classes + gt_cls[orig]] = 1;
        alrp_box_encode_f32(1, a->boxes + 4 * k, gts + 4 * orig, NULL, p->stds, deltas + 4 * k);
        s.n_pos++;
    }
    if (st) *st = s;
done:
    free(keep);
    free(kept);
    return rc;
}
