// coco-eval.c - COCO AP/AR and oLRP; see coco-eval.h for the rules.
// Needs json.c, coco.c and coco-results.c in the same program.
//
// Stages: (1) group gts and detections by (category, image) with two stable counting sorts;
// (2) per group: sort the detections by score, IoU matrix, greedy matching for 4 areas x 10
// IoUs, kept as TP/FP bit masks per detection; (3) per category: one stable sort of the pooled
// detections (the pools for maxDets 1/10 and for every area are subsequences of it), then
// precision at the recall points from the TP events alone (the envelope's maximum always sits
// on a TP), and oLRP from the same order. params.naive replaces (3) by pycocotools' own loop
// (a fresh pool and sort for every area and maxDets, full precision arrays, the envelope loop,
// a binary search per recall point) and sorts each image's detections by insertion.
#include "coco-eval.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF   // keep a*b+c as two roundings, as numpy computes it
#endif

#define T_ COCO_EVAL_T
#define R_ COCO_EVAL_R
#define A_ COCO_EVAL_A
#define M_ COCO_EVAL_M

const char * const coco_stat_names[COCO_STAT_COUNT] = {
    "AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl",
};

static const int    coco__max_dets[M_] = { 1, 10, 100 };
static const double coco__area_rng[A_][2] = {   // pycocotools: [0**2, 1e5**2], [0, 32**2], ...
    { 0.0, 1e10 }, { 0.0, 1024.0 }, { 1024.0, 9216.0 }, { 9216.0, 1e10 },
};

void coco_eval_params_default(struct coco_eval_params * p) {
    p->olrp_mode = COCO_OLRP_SCORES;
    p->naive = 0;
}

void coco_eval_thresholds(double iou_thrs[COCO_EVAL_T], double rec_thrs[COCO_EVAL_R]) {
    // np.linspace(start, stop, num): step = (stop - start) / (num - 1); y = i * step + start;
    // y[-1] = stop
    double step = (0.95 - 0.5) / (double) (T_ - 1);
    for (int i = 0; i < T_; i++) iou_thrs[i] = (double) i * step + 0.5;
    iou_thrs[T_ - 1] = 0.95;
    step = (1.0 - 0.0) / (double) (R_ - 1);
    for (int i = 0; i < R_; i++) rec_thrs[i] = (double) i * step + 0.0;
    rec_thrs[R_ - 1] = 1.0;
}

double coco_eval_iou(const double d[4], const double g[4], int crowd) {
    double w = fmin(d[2] + d[0], g[2] + g[0]) - fmax(d[0], g[0]);
    if (w <= 0) return 0.0;
    double h = fmin(d[3] + d[1], g[3] + g[1]) - fmax(d[1], g[1]);
    if (h <= 0) return 0.0;
    double i = w * h;
    double da = d[2] * d[3];
    double ga = g[2] * g[3];
    double u = crowd ? da : da + ga - i;
    return i / u;
}

static double coco__now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

// ============================================================================================
// ===== sorting
// ============================================================================================

struct coco__key {
    double score;
    int64_t i;
};

// Stable sort by score, descending (ties keep their order). Reference version: insertion sort.
static void coco__sort_desc_naive(struct coco__key * a, int64_t n) {
    for (int64_t i = 1; i < n; i++) {
        struct coco__key x = a[i];
        int64_t j = i;
        while (j > 0 && a[j - 1].score < x.score) { a[j] = a[j - 1]; j--; }
        a[j] = x;
    }
}

// The same order, by bottom-up merge sort (runs of 16 by insertion first). tmp: n keys.
static void coco__sort_desc(struct coco__key * a, int64_t n, struct coco__key * tmp) {
    const int64_t run = 16;
    for (int64_t s = 0; s < n; s += run) coco__sort_desc_naive(a + s, (s + run < n ? run : n - s));
    struct coco__key * src = a, * dst = tmp;
    for (int64_t width = run; width < n; width *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * width) {
            int64_t mid = lo + width < n ? lo + width : n;
            int64_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            int64_t i = lo, j = mid, o = lo;
            // take from the right only when strictly greater: stable
            while (i < mid && j < hi) dst[o++] = src[j].score > src[i].score ? src[j++] : src[i++];
            while (i < mid) dst[o++] = src[i++];
            while (j < hi) dst[o++] = src[j++];
        }
        struct coco__key * t = src; src = dst; dst = t;
    }
    if (src != a) memcpy(a, src, (size_t) n * sizeof(*a));
}

// Stable counting sort of in[0..n) by key[in[i]] in [0, nb) into out.
static int coco__counting_sort(const int64_t * in, int64_t n, const int64_t * key, int64_t nb, int64_t * out) {
    int64_t * cnt = (int64_t *) calloc((size_t) nb + 1, sizeof(int64_t));
    if (!cnt) return -1;
    for (int64_t i = 0; i < n; i++) cnt[key[in[i]] + 1]++;
    for (int64_t b = 0; b < nb; b++) cnt[b + 1] += cnt[b];
    for (int64_t i = 0; i < n; i++) out[cnt[key[in[i]]]++] = in[i];
    free(cnt);
    return 0;
}

// ============================================================================================
// ===== per (category, image) matching
// ============================================================================================

// Gts and detections gathered in (category, image, file) order, so that the per-group work
// reads memory sequentially.
struct coco__gt {
    double bbox[4];
    double area;
    int64_t id;
    int64_t img;            // image rank (position in ascending image id)
    int32_t crowd;
};

struct coco__det {
    double bbox[4];
    double score;
    int64_t img;
};

// A kept detection (one of the first 100 of its image and category) after matching.
struct coco__dres {
    double score;
    double iou;             // IoU of its match at IoU .50, area all (0 when unmatched)
    int32_t rank;           // its place in its image's score order (0..99)
    uint16_t tp[A_];        // bit t: a TP at iou_thrs[t] for area a
    uint16_t fp[A_];        // bit t: a FP
};

struct coco__ws {           // scratch for one group, grown as needed
    struct coco__key * keys, * keys_tmp; int64_t cap_d;
    double * ious; int64_t cap_ious;
    int64_t * gorder; uint8_t * gig; uint8_t * gtm; int64_t cap_g;
};

static int coco__ws_reserve(struct coco__ws * ws, int64_t nd, int64_t ng, int64_t nious) {
    if (nd > ws->cap_d) {
        int64_t c = nd * 2;
        void * a = realloc(ws->keys, (size_t) c * sizeof(struct coco__key));
        if (!a) return -1;
        ws->keys = (struct coco__key *) a;
        a = realloc(ws->keys_tmp, (size_t) c * sizeof(struct coco__key));
        if (!a) return -1;
        ws->keys_tmp = (struct coco__key *) a;
        ws->cap_d = c;
    }
    if (ng > ws->cap_g) {
        int64_t c = ng * 2;
        void * a = realloc(ws->gorder, (size_t) c * sizeof(int64_t));
        if (!a) return -1;
        ws->gorder = (int64_t *) a;
        if (!(a = realloc(ws->gig, (size_t) c))) return -1;
        ws->gig = (uint8_t *) a;
        if (!(a = realloc(ws->gtm, (size_t) c))) return -1;
        ws->gtm = (uint8_t *) a;
        ws->cap_g = c;
    }
    if (nious > ws->cap_ious) {
        int64_t c = nious * 2;
        void * a = realloc(ws->ious, (size_t) c * sizeof(double));
        if (!a) return -1;
        ws->ious = (double *) a;
        ws->cap_ious = c;
    }
    return 0;
}

static void coco__ws_free(struct coco__ws * ws) {
    free(ws->keys); free(ws->keys_tmp); free(ws->ious);
    free(ws->gorder); free(ws->gig); free(ws->gtm);
}

// One (category, image): g is (ng) gts and d is (nd) detections, both in file order. Appends
// min(nd, 100) entries to out and adds the non-ignored gt counts to npig, (A).
static int coco__eval_group(const struct coco__gt * g, int64_t ng, const struct coco__det * d, int64_t nd,
                            const double * iou_thrs, int naive, struct coco__ws * ws,
                            struct coco__dres * out, int64_t * npig) {
    const uint16_t all_t = (uint16_t) ((1u << T_) - 1);
    int64_t D = nd < COCO_EVAL_MAX_DETS ? nd : COCO_EVAL_MAX_DETS;
    if (coco__ws_reserve(ws, nd + 1, ng + 1, D * ng + 1)) return -1;   // never NULL, even when empty
    // detections by score, descending, stable; keep 100
    for (int64_t i = 0; i < nd; i++) { ws->keys[i].score = d[i].score; ws->keys[i].i = i; }
    if (naive) coco__sort_desc_naive(ws->keys, nd);
    else coco__sort_desc(ws->keys, nd, ws->keys_tmp);
    uint8_t out_of[COCO_EVAL_MAX_DETS];   // bit a: the detection's area is outside area range a
    for (int64_t i = 0; i < D; i++) {
        const double * b = d[ws->keys[i].i].bbox;
        const double area = b[2] * b[3];
        out_of[i] = 0;
        for (int a = 0; a < A_; a++) {
            if (area < coco__area_rng[a][0] || area > coco__area_rng[a][1]) out_of[i] |= (uint8_t) (1u << a);
        }
        out[i].score = d[ws->keys[i].i].score;
        out[i].iou = 0.0;
        out[i].rank = (int32_t) i;
        for (int a = 0; a < A_; a++) { out[i].tp[a] = 0; out[i].fp[a] = 0; }
    }
    if (ng == 0) {   // nothing to match: a FP wherever its area is in range
        for (int64_t i = 0; i < D; i++) {
            for (int a = 0; a < A_; a++) out[i].fp[a] = (out_of[i] >> a & 1) ? 0 : all_t;
        }
        return 0;
    }
    // ious is (D, ng): detections in score order, gts in file order
    for (int64_t i = 0; i < D; i++) {
        const double * b = d[ws->keys[i].i].bbox;
        for (int64_t j = 0; j < ng; j++) ws->ious[i * ng + j] = coco_eval_iou(b, g[j].bbox, g[j].crowd);
    }
    for (int a = 0; a < A_; a++) {
        const double lo = coco__area_rng[a][0], hi = coco__area_rng[a][1];
        // gts: ignore flags; the others first, then the ignored, each in file order
        int64_t n_reg = 0;
        for (int64_t j = 0; j < ng; j++) {
            ws->gig[j] = (uint8_t) (g[j].crowd || g[j].area < lo || g[j].area > hi);
            n_reg += !ws->gig[j];
        }
        npig[a] += n_reg;
        int64_t o = 0;
        for (int64_t j = 0; j < ng; j++) if (!ws->gig[j]) ws->gorder[o++] = j;
        for (int64_t j = 0; j < ng; j++) if (ws->gig[j]) ws->gorder[o++] = j;
        for (int t = 0; t < T_; t++) {
            memset(ws->gtm, 0, (size_t) ng);                 // gtm[s]: gt at sorted place s is taken
            const double thr = fmin(iou_thrs[t], 1 - 1e-10);
            for (int64_t i = 0; i < D; i++) {
                const double * row = ws->ious + i * ng;
                double best = thr;
                int64_t m = -1;                              // sorted place of the best gt so far
                for (int64_t s = 0; s < ng; s++) {
                    const int64_t j = ws->gorder[s];
                    if (ws->gtm[s] && !g[j].crowd) continue;
                    if (m > -1 && !ws->gig[ws->gorder[m]] && ws->gig[j]) break;
                    if (row[j] < best) continue;
                    best = row[j];
                    m = s;
                }
                int matched_id = 0, ignored = 0;             // dtm != 0, dtIg
                if (m > -1) {
                    const int64_t j = ws->gorder[m];
                    ws->gtm[m] = 1;
                    ignored = ws->gig[j];
                    matched_id = g[j].id != 0;               // pycocotools stores the gt's id
                    if (a == 0 && t == 0) out[i].iou = best;
                }
                if (!matched_id && (out_of[i] >> a & 1)) ignored = 1;
                if (!ignored) {
                    if (matched_id) out[i].tp[a] |= (uint16_t) (1u << t);
                    else            out[i].fp[a] |= (uint16_t) (1u << t);
                }
            }
        }
    }
    return 0;
}

// ============================================================================================
// ===== per category accumulation
// ============================================================================================

// Fast path. ent is (n): the category's entries sorted by score (the pool of maxDets 100).
// Writes q, (T, R): precision at the recall points, and rc, (T): final recall, for (area a,
// maxDet). prtp is scratch of (T, n + 1) doubles.
static void coco__accumulate_fast(const struct coco__dres * ent, int64_t n,
                                  int a, int max_det, int64_t npig, const double * rec_thrs,
                                  double * prtp, double q[T_][R_], double rc[T_]) {
    int64_t tp[T_] = { 0 }, fp[T_] = { 0 }, nd = 0;
    for (int64_t i = 0; i < n; i++) {
        const struct coco__dres * e = &ent[i];
        if (e->rank >= max_det) continue;
        nd++;
        const unsigned tpm = e->tp[a], fpm = e->fp[a];
        if (!(tpm | fpm)) continue;
        for (int t = 0; t < T_; t++) {
            if (tpm >> t & 1) {
                tp[t]++;
                // precision at this TP, as pycocotools: tp / (fp + tp + eps)
                prtp[(size_t) t * (size_t) (n + 1) + (size_t) tp[t]] =
                    (double) tp[t] / ((double) fp[t] + (double) tp[t] + DBL_EPSILON);
            } else if (fpm >> t & 1) {
                fp[t]++;
            }
        }
    }
    for (int t = 0; t < T_; t++) {
        double * s = prtp + (size_t) t * (size_t) (n + 1);   // s[1..tp]: precision at each TP
        const int64_t ntp = tp[t];
        for (int64_t j = ntp - 1; j >= 1; j--) if (s[j + 1] > s[j]) s[j] = s[j + 1];   // suffix max
        rc[t] = nd ? (double) ntp / (double) npig : 0.0;
        // searchsorted(rc, r, 'left') lands on the k-th TP, k the least count with k/npig >= r
        int64_t k = 0;
        int r = 0;
        for (; r < R_; r++) {
            while (k <= ntp && (double) k / (double) npig < rec_thrs[r]) k++;
            if (k > ntp) break;
            q[t][r] = k == 0 ? (ntp > 0 ? s[1] : 0.0) : s[k];
        }
        for (; r < R_; r++) q[t][r] = 0.0;
    }
}

// Reference path, pycocotools' accumulate literally: ent is (nd), the pooled entries of
// (area a, maxDet) in score order; q is (T, R), rc_last (T).
static int coco__accumulate_naive(const struct coco__dres * ent, int64_t nd,
                                  int a, int64_t npig, const double * rec_thrs,
                                  double q[T_][R_], double rc_last[T_]) {
    double * rc = (double *) malloc((size_t) (nd ? nd : 1) * sizeof(double));
    double * pr = (double *) malloc((size_t) (nd ? nd : 1) * sizeof(double));
    if (!rc || !pr) { free(rc); free(pr); return -1; }
    for (int t = 0; t < T_; t++) {
        double tps = 0, fps = 0;
        for (int64_t i = 0; i < nd; i++) {
            const struct coco__dres * e = &ent[i];
            tps += (e->tp[a] >> t) & 1;
            fps += (e->fp[a] >> t) & 1;
            rc[i] = tps / (double) npig;
            pr[i] = tps / (fps + tps + DBL_EPSILON);
        }
        rc_last[t] = nd ? rc[nd - 1] : 0.0;
        for (int64_t i = nd - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
        for (int r = 0; r < R_; r++) {
            int64_t lo = 0, hi = nd;                      // first i with rc[i] >= r
            while (lo < hi) {
                int64_t mid = lo + (hi - lo) / 2;
                if (rc[mid] < rec_thrs[r]) lo = mid + 1; else hi = mid;
            }
            q[t][r] = lo < nd ? pr[lo] : 0.0;
        }
    }
    free(rc);
    free(pr);
    return 0;
}

// oLRP of one category from ent, (n): its pooled entries in score order (area all, maxDets 100).
// curve (101): LRP at the grid thresholds 0, 0.01, ..., 1 (score >= s), whatever the mode.
static void coco__olrp(const struct coco__dres * ent, int64_t n, int64_t npig,
                       enum coco_olrp_mode mode, struct coco_eval_class * c, double * curve) {
    const double tau = 0.5;
    if (mode == COCO_OLRP_SCORES) {
        // LRP-Error: LRP after every detection, the first minimum (numpy argmin: a NaN wins)
        int64_t tp = 0, fp = 0, best_i = -1, b_tp = 0, b_fp = 0;
        double cum = 0.0, best = 0.0, b_loc = 0.0;
        for (int64_t i = 0; i < n; i++) {
            const struct coco__dres * e = &ent[i];
            if (e->tp[0] & 1) { tp++; cum += e->iou; }
            else if (e->fp[0] & 1) fp++;
            const int64_t fn = npig - tp;
            const double total_loc = (double) tp - cum;
            const double lrp = (total_loc / (1 - tau) + (double) fp + (double) fn) / (double) (tp + fp + fn);
            int take = best_i < 0 || (!isnan(best) && (isnan(lrp) || lrp < best));
            if (take) { best = lrp; best_i = i; b_tp = tp; b_fp = fp; b_loc = total_loc; }
        }
        if (n == 0 || tp == 0) {
            c->olrp = 1.0; c->olrp_fn = 1.0;
            c->olrp_loc = NAN; c->olrp_fp = NAN; c->olrp_thr = NAN;
        } else {
            c->olrp = best;
            c->olrp_loc = b_loc / (double) b_tp;                 // 0/0 -> NaN, as numpy
            c->olrp_fp = (double) b_fp / (double) (b_tp + b_fp);
            c->olrp_fn = (double) (npig - b_tp) / (double) npig;
            c->olrp_thr = ent[best_i].score;
        }
    }
    // the seed's grid: thresholds s = 0, 0.01, ..., 1 (np.linspace), detections with score >= s
    // prefix sums; L, the number of detections with score >= s, only shrinks as s grows
    int64_t L = n;
    int64_t * ptp = (int64_t *) malloc((size_t) (n + 1) * sizeof(int64_t));
    int64_t * pfp = (int64_t *) malloc((size_t) (n + 1) * sizeof(int64_t));
    double * pcum = (double *) malloc((size_t) (n + 1) * sizeof(double));
    if (!ptp || !pfp || !pcum) {
        free(ptp); free(pfp); free(pcum);
        if (mode == COCO_OLRP_GRID) c->olrp = c->olrp_loc = c->olrp_fp = c->olrp_fn = c->olrp_thr = NAN;
        for (int s = 0; s < 101; s++) curve[s] = NAN;
        return;
    }
    ptp[0] = 0; pfp[0] = 0; pcum[0] = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const struct coco__dres * e = &ent[i];
        const int is_tp = e->tp[0] & 1;
        ptp[i + 1] = ptp[i] + is_tp;
        pfp[i + 1] = pfp[i] + (!is_tp && (e->fp[0] & 1));
        pcum[i + 1] = pcum[i] + (is_tp ? e->iou : 0.0);
    }
    int best_s = -1;
    double best = 0.0, b_loc = 0.0, b_fp = 0.0, b_fn = 0.0;
    for (int s = 0; s < 101; s++) {
        const double s0 = s == 100 ? 1.0 : (double) s * 0.01 + 0.0;
        while (L > 0 && !(ent[L - 1].score >= s0)) L--;
        const int64_t tp_l = ptp[L], fp_l = pfp[L];
        const double cum_l = pcum[L];
        const int64_t fn = npig - tp_l;
        const double total_loc = (double) tp_l - cum_l;
        const double loc = tp_l > 0 ? total_loc / (double) tp_l : NAN;
        const double fpc = tp_l + fp_l > 0 ? (double) fp_l / (double) (tp_l + fp_l) : NAN;
        const double fnc = (double) fn / (double) npig;
        const double lrp = (total_loc / (1 - tau) + (double) fp_l + (double) fn) / (double) (tp_l + fp_l + fn);
        curve[s] = lrp;
        int take = best_s < 0 || (!isnan(best) && (isnan(lrp) || lrp < best));
        if (take) { best = lrp; best_s = s; b_loc = loc; b_fp = fpc; b_fn = fnc; }
    }
    if (mode == COCO_OLRP_GRID) {
        c->olrp = best;
        c->olrp_loc = b_loc;
        c->olrp_fp = b_fp;
        c->olrp_fn = b_fn;
        c->olrp_thr = best_s == 100 ? 1.0 : (double) best_s * 0.01;
    }
    free(ptp); free(pfp); free(pcum);
}

// ============================================================================================
// ===== the whole evaluation
// ============================================================================================

static double coco__mean_valid(const double * v, size_t n, size_t stride) {
    double sum = 0.0;
    size_t cnt = 0;
    for (size_t i = 0; i < n; i++) {
        double x = v[i * stride];
        if (x > -1) { sum += x; cnt++; }
    }
    return cnt ? sum / (double) cnt : -1.0;
}

// Mean over the entries of precision[t in ts][r][k][a][m] (or recall when !ap) that are > -1.
static double coco__summarize(const struct coco_eval_result * res, int ap, int t0, int t1, int a, int m) {
    const int64_t K = res->n_classes;
    double sum = 0.0;
    size_t cnt = 0;
    for (int t = t0; t < t1; t++) {
        if (ap) {
            for (int r = 0; r < R_; r++) for (int64_t k = 0; k < K; k++) {
                double x = res->precision[coco_eval_pidx(K, t, r, k, a, m)];
                if (x > -1) { sum += x; cnt++; }
            }
        } else {
            for (int64_t k = 0; k < K; k++) {
                double x = res->recall[coco_eval_ridx(K, t, k, a, m)];
                if (x > -1) { sum += x; cnt++; }
            }
        }
    }
    return cnt ? sum / (double) cnt : -1.0;
}

void coco_eval_result_free(struct coco_eval_result * res) {
    free(res->classes);
    free(res->precision);
    free(res->recall);
    memset(res, 0, sizeof(*res));
}

int coco_eval(struct coco_eval_result * res, const struct coco_dataset * gt, const struct coco_results * dt,
              const struct coco_eval_params * p, char * err, size_t err_size) {
    memset(res, 0, sizeof(*res));
    struct coco_eval_params dp;
    if (!p) { coco_eval_params_default(&dp); p = &dp; }
    coco_eval_thresholds(res->iou_thrs, res->rec_thrs);
    const int64_t K = gt->n_categories, I = gt->n_images, NG = gt->n_anns, ND = dt->n;
    res->n_images = I;
    res->n_dets = ND;
    res->n_classes = K;

    int rc = -1;
    int64_t * img_rank = NULL, * cat_rank = NULL, * gkey = NULL, * dkey = NULL;
    int64_t * gidx = NULL, * gtmp = NULL, * didx = NULL, * dtmp = NULL;
    int64_t * gstart = NULL, * dstart = NULL, * ebeg = NULL, * npig = NULL;
    uint8_t * has_eval = NULL;
    struct coco__gt * gs = NULL;
    struct coco__det * ds = NULL;
    struct coco__dres * ent = NULL, * sent = NULL;
    struct coco__key * keys = NULL, * keys_tmp = NULL;
    double * prtp = NULL;
    struct coco__ws ws;
    memset(&ws, 0, sizeof(ws));

    const size_t np = (size_t) T_ * R_ * (size_t) K * A_ * M_, nr = (size_t) T_ * (size_t) K * A_ * M_;
    res->precision = (double *) malloc((np ? np : 1) * sizeof(double));
    res->recall = (double *) malloc((nr ? nr : 1) * sizeof(double));
    res->classes = (struct coco_eval_class *) calloc((size_t) (K ? K : 1), sizeof(struct coco_eval_class));
    img_rank = (int64_t *) malloc((size_t) (I + 1) * sizeof(int64_t));
    cat_rank = (int64_t *) malloc((size_t) (K + 1) * sizeof(int64_t));
    // (the index arrays are calloc'ed: GCC 12 at -O2 warns -Wmaybe-uninitialized on them otherwise)
    gkey = (int64_t *) calloc((size_t) (NG + 1), sizeof(int64_t));
    gidx = (int64_t *) calloc((size_t) (NG + 1), sizeof(int64_t));
    gtmp = (int64_t *) calloc((size_t) (NG + 1), sizeof(int64_t));
    dkey = (int64_t *) calloc((size_t) (ND + 1), sizeof(int64_t));
    didx = (int64_t *) calloc((size_t) (ND + 1), sizeof(int64_t));
    dtmp = (int64_t *) malloc((size_t) (ND + 1) * sizeof(int64_t));
    gstart = (int64_t *) calloc((size_t) (K + 1), sizeof(int64_t));
    dstart = (int64_t *) calloc((size_t) (K + 1), sizeof(int64_t));
    ebeg = (int64_t *) calloc((size_t) (K + 1), sizeof(int64_t));
    npig = (int64_t *) calloc((size_t) (K * A_ + 1), sizeof(int64_t));
    has_eval = (uint8_t *) calloc((size_t) (K + 1), 1);
    ent = (struct coco__dres *) malloc((size_t) (ND + 1) * sizeof(struct coco__dres));
    gs = (struct coco__gt *) malloc((size_t) (NG + 1) * sizeof(struct coco__gt));
    ds = (struct coco__det *) malloc((size_t) (ND + 1) * sizeof(struct coco__det));
    if (!res->precision || !res->recall || !res->classes || !img_rank || !cat_rank || !gkey || !gidx || !gtmp ||
        !dkey || !didx || !dtmp || !gstart || !dstart || !ebeg || !npig || !has_eval || !ent || !gs || !ds) goto oom;
    for (size_t i = 0; i < np; i++) res->precision[i] = -1.0;
    for (size_t i = 0; i < nr; i++) res->recall[i] = -1.0;

    // ---- stage 1: group by (category, image), categories and images in ascending id
    double t_start = coco__now();
    for (int64_t r = 0; r < I; r++) img_rank[gt->image_ids[r].index] = r;
    for (int64_t r = 0; r < K; r++) cat_rank[gt->category_ids[r].index] = r;
    for (int64_t i = 0; i < NG; i++) { gidx[i] = i; gkey[i] = img_rank[gt->anns[i].image]; }
    if (coco__counting_sort(gidx, NG, gkey, I, gtmp)) goto oom;
    for (int64_t i = 0; i < NG; i++) gkey[i] = cat_rank[gt->anns[i].category];
    if (coco__counting_sort(gtmp, NG, gkey, K, gidx)) goto oom;
    for (int64_t i = 0; i < ND; i++) {
        const struct coco_det * d = &dt->dets[i];
        if (d->image < 0 || d->image >= I || d->category < 0 || d->category >= K) {
            snprintf(err, err_size, "%s: detection %lld: image or category index out of range (not loaded against %s?)",
                     dt->name, (long long) i, gt->name);
            goto fail;
        }
        didx[i] = i;
        dkey[i] = img_rank[d->image];
    }
    if (coco__counting_sort(didx, ND, dkey, I, dtmp)) goto oom;
    for (int64_t i = 0; i < ND; i++) dkey[i] = cat_rank[dt->dets[i].category];
    if (coco__counting_sort(dtmp, ND, dkey, K, didx)) goto oom;
    for (int64_t i = 0; i < NG; i++) gstart[cat_rank[gt->anns[i].category] + 1]++;
    for (int64_t i = 0; i < ND; i++) dstart[cat_rank[dt->dets[i].category] + 1]++;
    for (int64_t k = 0; k < K; k++) { gstart[k + 1] += gstart[k]; dstart[k + 1] += dstart[k]; }
    for (int64_t i = 0; i < NG; i++) {       // gather in group order
        const struct coco_ann * a = &gt->anns[gidx[i]];
        memcpy(gs[i].bbox, a->bbox, sizeof(a->bbox));
        gs[i].area = a->area;
        gs[i].id = a->id;
        gs[i].img = img_rank[a->image];
        gs[i].crowd = a->iscrowd;
    }
    for (int64_t i = 0; i < ND; i++) {
        const struct coco_det * d = &dt->dets[didx[i]];
        memcpy(ds[i].bbox, d->bbox, sizeof(d->bbox));
        ds[i].score = d->score;
        ds[i].img = img_rank[d->image];
    }
    res->time_group = coco__now() - t_start;

    // ---- stage 2: match every (category, image) group
    t_start = coco__now();
    int64_t n_ent = 0;
    for (int64_t k = 0; k < K; k++) {
        ebeg[k] = n_ent;
        int64_t gi = gstart[k], ge = gstart[k + 1], di = dstart[k], de = dstart[k + 1];
        while (gi < ge || di < de) {
            const int64_t rg = gi < ge ? gs[gi].img : INT64_MAX;
            const int64_t rd = di < de ? ds[di].img : INT64_MAX;
            const int64_t r = rg < rd ? rg : rd;
            int64_t g1 = gi, d1 = di;
            while (g1 < ge && gs[g1].img == r) g1++;
            while (d1 < de && ds[d1].img == r) d1++;
            if (coco__eval_group(gs + gi, g1 - gi, ds + di, d1 - di, res->iou_thrs, p->naive,
                                 &ws, ent + n_ent, npig + k * A_)) goto oom;
            n_ent += (d1 - di) < COCO_EVAL_MAX_DETS ? (d1 - di) : COCO_EVAL_MAX_DETS;
            has_eval[k] = 1;
            gi = g1;
            di = d1;
        }
    }
    ebeg[K] = n_ent;
    res->time_match = coco__now() - t_start;

    // ---- stage 3: per category accumulation
    t_start = coco__now();
    int64_t max_n = 0;
    for (int64_t k = 0; k < K; k++) if (ebeg[k + 1] - ebeg[k] > max_n) max_n = ebeg[k + 1] - ebeg[k];
    keys = (struct coco__key *) malloc((size_t) (max_n + 1) * sizeof(*keys));
    keys_tmp = (struct coco__key *) malloc((size_t) (max_n + 1) * sizeof(*keys));
    sent = (struct coco__dres *) malloc((size_t) (max_n + 1) * sizeof(*sent));
    prtp = (double *) malloc((size_t) T_ * (size_t) (max_n + 1) * sizeof(double));
    if (!keys || !keys_tmp || !sent || !prtp) goto oom;
    double curve_k[COCO_EVAL_R];
    int64_t n_curve = 0;
    for (int r = 0; r < COCO_EVAL_R; r++) res->lrp_curve[r] = 0.0;
    for (int64_t kr = 0; kr < K; kr++) {
        const int64_t kc = gt->category_ids[kr].index;    // class kr is this category
        struct coco_eval_class * c = &res->classes[kr];
        c->category_id = gt->categories[kc].id;
        c->name = gt->categories[kc].name;
        c->n_gt = npig[kr * A_ + 0];
        c->n_det = dstart[kr + 1] - dstart[kr];
        c->olrp = c->olrp_loc = c->olrp_fp = c->olrp_fn = -1.0;
        c->olrp_thr = NAN;
        if (!has_eval[kr]) continue;
        const struct coco__dres * e = ent + ebeg[kr];
        const int64_t n = ebeg[kr + 1] - ebeg[kr];
        double q[T_][R_], rcl[T_];
        if (!p->naive) {   // the pool of maxDets 100 by score; the others are subsequences
            for (int64_t i = 0; i < n; i++) { keys[i].score = e[i].score; keys[i].i = i; }
            coco__sort_desc(keys, n, keys_tmp);
            for (int64_t i = 0; i < n; i++) sent[i] = e[keys[i].i];
        }
        for (int a = 0; a < A_; a++) {
            const int64_t ng = npig[kr * A_ + a];
            if (ng == 0) continue;
            for (int m = 0; m < M_; m++) {
                if (p->naive) {
                    int64_t nd = 0;
                    for (int64_t i = 0; i < n; i++) {
                        if (e[i].rank >= coco__max_dets[m]) continue;
                        keys[nd].score = e[i].score; keys[nd].i = i; nd++;
                    }
                    coco__sort_desc(keys, nd, keys_tmp);   // tested against the naive sort
                    for (int64_t i = 0; i < nd; i++) sent[i] = e[keys[i].i];
                    if (coco__accumulate_naive(sent, nd, a, ng, res->rec_thrs, q, rcl)) goto oom;
                } else {
                    coco__accumulate_fast(sent, n, a, coco__max_dets[m], ng, res->rec_thrs, prtp, q, rcl);
                }
                for (int t = 0; t < T_; t++) {
                    for (int r = 0; r < R_; r++) res->precision[coco_eval_pidx(K, t, r, kr, a, m)] = q[t][r];
                    res->recall[coco_eval_ridx(K, t, kr, a, m)] = rcl[t];
                }
            }
        }
        if (npig[kr * A_ + 0] > 0) {
            if (p->naive) {   // the pool of area all, maxDets 100, sorted afresh
                for (int64_t i = 0; i < n; i++) { keys[i].score = e[i].score; keys[i].i = i; }
                coco__sort_desc(keys, n, keys_tmp);
                for (int64_t i = 0; i < n; i++) sent[i] = e[keys[i].i];
            }
            coco__olrp(sent, n, npig[kr * A_ + 0], p->olrp_mode, c, curve_k);
            for (int r = 0; r < COCO_EVAL_R; r++) { res->lrp_curve[r] += curve_k[r]; }
            n_curve++;
        }
        // per class numbers (area all, maxDets 100)
        const size_t sr = (size_t) K * A_ * M_;           // stride between recall points
        c->ap50 = coco__mean_valid(&res->precision[coco_eval_pidx(K, 0, 0, kr, 0, 2)], R_, sr);
        c->ap75 = coco__mean_valid(&res->precision[coco_eval_pidx(K, 5, 0, kr, 0, 2)], R_, sr);
        c->ap = coco__mean_valid(&res->precision[coco_eval_pidx(K, 0, 0, kr, 0, 2)], (size_t) T_ * R_, sr);
        c->ar100 = coco__mean_valid(&res->recall[coco_eval_ridx(K, 0, kr, 0, 2)], T_, sr);
    }
    for (int64_t kr = 0; kr < K; kr++) {
        struct coco_eval_class * c = &res->classes[kr];
        if (!has_eval[kr]) c->ap = c->ap50 = c->ap75 = c->ar100 = -1.0;
    }

    // ---- summary
    res->stats[COCO_STAT_AP]    = coco__summarize(res, 1, 0, T_, 0, 2);
    res->stats[COCO_STAT_AP50]  = coco__summarize(res, 1, 0, 1, 0, 2);
    res->stats[COCO_STAT_AP75]  = coco__summarize(res, 1, 5, 6, 0, 2);
    res->stats[COCO_STAT_APS]   = coco__summarize(res, 1, 0, T_, 1, 2);
    res->stats[COCO_STAT_APM]   = coco__summarize(res, 1, 0, T_, 2, 2);
    res->stats[COCO_STAT_APL]   = coco__summarize(res, 1, 0, T_, 3, 2);
    res->stats[COCO_STAT_AR1]   = coco__summarize(res, 0, 0, T_, 0, 0);
    res->stats[COCO_STAT_AR10]  = coco__summarize(res, 0, 0, T_, 0, 1);
    res->stats[COCO_STAT_AR100] = coco__summarize(res, 0, 0, T_, 0, 2);
    res->stats[COCO_STAT_ARS]   = coco__summarize(res, 0, 0, T_, 1, 2);
    res->stats[COCO_STAT_ARM]   = coco__summarize(res, 0, 0, T_, 2, 2);
    res->stats[COCO_STAT_ARL]   = coco__summarize(res, 0, 0, T_, 3, 2);
    for (int t = 0; t < T_; t++) res->ap_per_iou[t] = coco__summarize(res, 1, t, t + 1, 0, 2);
    for (int r = 0; r < COCO_EVAL_R; r++) res->lrp_curve[r] = n_curve ? res->lrp_curve[r] / (double) n_curve : NAN;
    double * comp[4] = { &res->olrp, &res->olrp_loc, &res->olrp_fp, &res->olrp_fn };
    for (int j = 0; j < 4; j++) {
        double sum = 0.0;
        int64_t cnt = 0;
        for (int64_t kr = 0; kr < K; kr++) {
            const struct coco_eval_class * c = &res->classes[kr];
            double v = j == 0 ? c->olrp : j == 1 ? c->olrp_loc : j == 2 ? c->olrp_fp : c->olrp_fn;
            if (!isnan(v) && v > -1) { sum += v; cnt++; }
        }
        *comp[j] = cnt ? sum / (double) cnt : NAN;
    }
    res->time_accumulate = coco__now() - t_start;
    rc = 0;
    goto done;
oom:
    snprintf(err, err_size, "coco_eval: out of memory");
fail:
    rc = -1;
done:
    free(img_rank); free(cat_rank); free(gkey); free(gidx); free(gtmp);
    free(dkey); free(didx); free(dtmp); free(gstart); free(dstart); free(ebeg); free(npig);
    free(has_eval); free(ent); free(sent); free(gs); free(ds); free(keys); free(keys_tmp); free(prtp);
    coco__ws_free(&ws);
    if (rc) coco_eval_result_free(res);
    return rc;
}
