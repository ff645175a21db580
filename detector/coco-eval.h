// coco-eval.h - COCO box evaluation: pycocotools' AP/AR (the 12 summary numbers and AP at each
// IoU) and oLRP with its components, as defined in docs/evaluation.md.
//
//     struct coco_eval_params p;  coco_eval_params_default(&p);
//     struct coco_eval_result res;
//     if (coco_eval(&res, &gt, &dets, &p, err, sizeof(err)) != 0) { puts(err); ... }
//     printf("AP %.3f  oLRP %.3f\n", res.stats[COCO_STAT_AP], res.olrp);
//     coco_eval_result_free(&res);
//
// AP/AR follow pycocotools' COCOeval (bbox) step by step, so the numbers agree to the last bits:
//   * per (image, category): detections sorted by score, descending, stable (ties keep file
//     order), cut to 100; ground truths in file order;
//   * IoU as maskApi's bbIou (crowd gts: the detection's area is the denominator);
//   * per area range [lo, hi] (inclusive; the gt's "area" field, the detection's w*h) and IoU
//     threshold (np.linspace(.5, .95, 10)): gts that are crowd or out of range are "ignore" and
//     sorted after the others (stable); each detection in score order takes the unmatched gt
//     (crowd gts may be matched again) with the highest IoU >= the threshold, the last one on a
//     tie, stopping at the ignore gts once it has a regular match; a detection matched to an
//     ignore gt, or unmatched with its area out of range, is ignored (neither TP nor FP);
//   * per category: the images' lists (first maxDet of each, images in ascending id) pooled and
//     sorted by score (stable), cumulative TP/FP, precision tp/(tp+fp+eps), its monotone
//     envelope, read at recall points 0:.01:1 by np.searchsorted(side='left') (0 past the end);
//     recall = final tp/npig; -1 for categories without non-ignored gts;
//   * summary numbers: means over the entries that are not -1.
// pycocotools' quirk is kept too: a match to a gt whose annotation id is 0 counts as no match.
//
// oLRP (tau = 0.5, area all, maxDets 100, the same matching):
//   COCO_OLRP_SCORES (default, kemaloksuz/LRP-Error): every prefix of the pooled score order is
//     a threshold; a category with no detection or no TP gets oLRP 1, FN 1, loc/FP undefined;
//   COCO_OLRP_GRID (the aLRP Loss seed's lib/util/coco_eval_oLRP_largerIoU.py): thresholds
//     0:.01:1 (score >= s), components undefined (NaN) where their denominator is 0.
// Means are over categories with gts, skipping NaN components; NaN when there are none.

#ifndef COCO_EVAL_H
#define COCO_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "coco.h"
#include "coco-results.h"

#define COCO_EVAL_T 10    // IoU thresholds .50:.05:.95
#define COCO_EVAL_R 101   // recall points 0:.01:1
#define COCO_EVAL_A 4     // area ranges: all, small, medium, large
#define COCO_EVAL_M 3     // maxDets: 1, 10, 100
#define COCO_EVAL_MAX_DETS 100

enum coco_olrp_mode {
    COCO_OLRP_SCORES = 0,   // LRP-Error: every detection score is a threshold (default)
    COCO_OLRP_GRID   = 1,   // the seed: thresholds 0, 0.01, ..., 1
};

enum coco_stat {
    COCO_STAT_AP, COCO_STAT_AP50, COCO_STAT_AP75, COCO_STAT_APS, COCO_STAT_APM, COCO_STAT_APL,
    COCO_STAT_AR1, COCO_STAT_AR10, COCO_STAT_AR100, COCO_STAT_ARS, COCO_STAT_ARM, COCO_STAT_ARL,
    COCO_STAT_COUNT,
};

extern const char * const coco_stat_names[COCO_STAT_COUNT];   // "AP", "AP50", ... "ARl"

struct coco_eval_params {
    enum coco_olrp_mode olrp_mode;
    int naive;    // 1: the straightforward pycocotools-shaped accumulation (reference for tests)
};

struct coco_eval_class {
    int64_t category_id;
    const char * name;
    int64_t n_gt;           // gts that are not crowd
    int64_t n_det;          // detections of this category (before the cut to 100 per image)
    double ap, ap50, ap75;  // area all, maxDets 100; -1 when the category has no gt
    double ar100;
    double olrp, olrp_loc, olrp_fp, olrp_fn;   // -1 when the category has no gt; NaN: undefined
    double olrp_thr;        // the LRP-optimal score threshold (NaN when none)
};

struct coco_eval_result {
    double stats[COCO_STAT_COUNT];   // -1 where undefined
    double ap_per_iou[COCO_EVAL_T];  // AP at each IoU threshold (area all, maxDets 100)
    double lrp_curve[COCO_EVAL_R];   // LRP (tau 0.5) at score thresholds 0, 0.01, ..., 1 (score >= s), mean over
                                     // the categories with gts (the LRP curve; its minimum is the grid mode's oLRP
                                     // when one threshold serves every class)
    double olrp, olrp_loc, olrp_fp, olrp_fn;   // means over categories; NaN where undefined
    int64_t n_images, n_dets, n_classes;
    struct coco_eval_class * classes;          // n_classes, in ascending category id
    double * precision;    // [T][R][K][A][M] as pycocotools' eval['precision'], -1 undefined
    double * recall;       // [T][K][A][M]
    double iou_thrs[COCO_EVAL_T];
    double rec_thrs[COCO_EVAL_R];
    double time_group, time_match, time_accumulate;   // seconds per stage
};

void coco_eval_params_default(struct coco_eval_params * p);
int  coco_eval(struct coco_eval_result * res, const struct coco_dataset * gt, const struct coco_results * dt,
               const struct coco_eval_params * p, char * err, size_t err_size);
void coco_eval_result_free(struct coco_eval_result * res);

// pycocotools' thresholds, bit for bit (np.linspace as numpy computes it).
void coco_eval_thresholds(double iou_thrs[COCO_EVAL_T], double rec_thrs[COCO_EVAL_R]);
// IoU of two [x, y, w, h] boxes as maskApi's bbIou.
double coco_eval_iou(const double d[4], const double g[4], int crowd);

static inline size_t coco_eval_pidx(int64_t K, int t, int r, int64_t k, int a, int m) {
    return ((((size_t) t * COCO_EVAL_R + (size_t) r) * (size_t) K + (size_t) k) * COCO_EVAL_A + (size_t) a) * COCO_EVAL_M + (size_t) m;
}
static inline size_t coco_eval_ridx(int64_t K, int t, int64_t k, int a, int m) {
    return (((size_t) t * (size_t) K + (size_t) k) * COCO_EVAL_A + (size_t) a) * COCO_EVAL_M + (size_t) m;
}

#endif // COCO_EVAL_H
