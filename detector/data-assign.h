// data-assign.h - training targets for RetinaNet: which anchor learns which ground truth, as
// the official aLRP Loss code (mmdetection v2) assigns them, and the targets the losses read.
//
//     struct assign_params p;  assign_params_default(&p, ASSIGN_ATSS);
//     // labels (a.n, n_classes) int8, deltas (a.n, 4), gt_ind (a.n,)
//     if (assign_targets(&a, n_gt, gt_boxes, gt_cls, 80, &p, labels, deltas, gt_ind, &st, err, sizeof(err)))
//         { puts(err); ... }
//
// Boxes are x1 y1 x2 y2 in pixels, no +1. gt_ind per anchor: the index of its gt (>= 0, a
// positive), ASSIGN_NEG or ASSIGN_IGNORE.
//
// IoU (mmdet's bbox_overlaps, eps 1e-6), in float in this order, so it agrees bit for bit:
//     w = max(min(ax2, bx2) - max(ax1, bx1), 0), h likewise, inter = w * h,
//     union = max((area_a + area_b) - inter, 1e-6), iou = inter / union.
//
// MaxIoU (mmdet's MaxIoUAssigner as RetinaNet uses it: pos 0.5, neg 0.4, min_pos_iou 0,
// gt_max_assign_all on, low-quality matches on), in this order:
//   1. every anchor takes its best gt (the first one on a tie) and that IoU, max_iou (0 and gt 0
//      when it overlaps none); max_iou < neg_iou_thr -> negative; >= pos_iou_thr -> positive
//      for that gt; in between -> ignored (no loss at all: the ranking losses label -1);
//   2. then for every gt in index order whose best IoU over all anchors, gt_max, is
//      >= min_pos_iou: every anchor whose IoU with it equals gt_max (ties included) becomes a
//      positive of that gt, overwriting whatever it was (so a later gt wins a shared anchor).
//      A gt that overlaps no anchor has gt_max 0 and takes every anchor it does not overlap
//      (mmdet's behaviour, kept; degenerate gts are dropped before, see assign_keep_gts).
//
// ATSS (mmdet's ATSSAssigner, topk 9):
//   1. per gt and per level, the topk anchors whose centres are nearest the gt's centre
//      (Euclidean distance in float, sqrtf(dx*dx + dy*dy)); ties go to the lower anchor index
//      (torch.topk leaves the choice among equal distances unspecified; this is the
//      deterministic rule); min(topk, anchors in the level) per level;
//   2. threshold = mean + std of those candidates' IoUs with the gt (unbiased std, n - 1, as
//      torch.std; computed in double); fewer than 2 candidates: no threshold, no positive;
//   3. a candidate is a positive of the gt if IoU >= threshold and its centre lies inside the
//      gt: min(cx - x1, cy - y1, x2 - cx, y2 - cy) > 0.01;
//   4. an anchor that is a positive of several gts goes to the one with the highest IoU (the
//      lowest gt index on a tie); every other anchor is negative (no ignore band).
//
// Both have a fast version (the default) and the naive one that is their reference: the naive
// MaxIoU builds the whole gt x anchor IoU matrix and follows the steps above literally; the
// fast one visits, for each gt and level, only the window of cells whose anchors can overlap
// the gt (every other IoU is exactly 0), 8 anchors at a time. The naive ATSS builds the whole
// distance and IoU matrices; the fast one searches a window of cells around the gt centre,
// grown until the topk-th distance is below that of every cell outside it, and computes only
// the candidates' IoUs. Fast and naive give identical results (same float operations).
//
// Targets (assign_targets): degenerate gts dropped first (assign_keep_gts), then the assigner,
// then per anchor:
//   labels (n, C) int8: a positive has 1 at its gt's class and 0 elsewhere, a negative 0 on
//     every class, an ignored anchor -1 on every class (the ranking losses' vectorised labels);
//   deltas (n, 4): a positive's target (mmdet's DeltaXYWHBBoxCoder: means 0, the given stds,
//     no +1; (0.1, 0.1, 0.2, 0.2) for aLRP / AP Loss, (1, 1, 1, 1) for focal loss); 0 elsewhere;
//   gt_ind (n,): the gt index in the caller's list (before dropping), ASSIGN_NEG or ASSIGN_IGNORE.
//
// Bad input (negative counts, non-finite boxes, classes out of range, missing arrays) returns
// -1 with a one-line message; functions never abort on data.

#ifndef DET_DATA_ASSIGN_H
#define DET_DATA_ASSIGN_H

#include <stddef.h>
#include <stdint.h>

#include "model-anchors.h"

#define ASSIGN_NEG    (-1)
#define ASSIGN_IGNORE (-2)

enum assign_method {
    ASSIGN_MAXIOU = 0,
    ASSIGN_ATSS   = 1,
};

struct assign_maxiou_params {
    float pos_iou_thr;        // 0.5
    float neg_iou_thr;        // 0.4
    float min_pos_iou;        // 0
    int   gt_max_assign_all;  // 1: every anchor tied at a gt's max; 0: the first one only
    int   match_low_quality;  // 1: step 2 above
};

struct assign_params {
    enum assign_method          method;
    struct assign_maxiou_params maxiou;
    int                         atss_topk;   // 9
    float                       stds[4];     // delta coder stds, means are 0
    int                         naive;       // 1: the reference assigners (for tests)
};

struct assign_stats {
    int64_t n_pos, n_neg, n_ignore;
    int     n_gt_kept;        // gts left after dropping degenerate ones
};

void assign_maxiou_params_default(struct assign_maxiou_params * p);
// method's defaults; stds (0.1, 0.1, 0.2, 0.2) (aLRP)
void assign_params_default(struct assign_params * p, enum assign_method method);

// ---- IoU ----------------------------------------------------------------------------------
float assign_iou1(const float * a, const float * b);
// out (n1, n2): IoU of boxes1 (n1, 4) with boxes2 (n2, 4)
void  assign_iou(int64_t n1, const float * boxes1, int64_t n2, const float * boxes2, float * out);

// Best IoU per anchor and per gt. anchor_best (n,) and anchor_arg (n,): the anchor's best IoU and
// its gt (the first on a tie; 0 and gt 0 when it overlaps none); gt_best (n_gt,): each gt's best
// IoU over all anchors. Any output may be NULL. The fast version uses the grid windows.
int assign_best_iou(const struct anchors * a, int n_gt, const float * gts, float * anchor_best,
                    int32_t * anchor_arg, float * gt_best, char * err, size_t err_size);
int assign_best_iou_naive(int64_t n, const float * anchors, int n_gt, const float * gts,
                          float * anchor_best, int32_t * anchor_arg, float * gt_best,
                          char * err, size_t err_size);

// ---- assigners: gt_ind (n,), max_iou (n,) or NULL ------------------------------------------
int assign_maxiou(const struct anchors * a, int n_gt, const float * gts,
                  const struct assign_maxiou_params * p, int32_t * gt_ind, float * max_iou,
                  char * err, size_t err_size);
int assign_maxiou_naive(int64_t n, const float * anchors, int n_gt, const float * gts,
                        const struct assign_maxiou_params * p, int32_t * gt_ind, float * max_iou,
                        char * err, size_t err_size);
int assign_atss(const struct anchors * a, int n_gt, const float * gts, int topk,
                int32_t * gt_ind, char * err, size_t err_size);
// level_offset (n_levels + 1,): the first anchor of each level, level_offset[n_levels] = n;
// centres (n, 2) as the anchors' (x1 + x2) / 2, (y1 + y2) / 2
int assign_atss_naive(int64_t n, const float * anchors, const float * centres, int n_levels,
                      const int64_t * level_offset, int n_gt, const float * gts, int topk,
                      int32_t * gt_ind, char * err, size_t err_size);

// ---- targets --------------------------------------------------------------------------------
// The gts a RetinaNet trains on, as the official code's COCO loader keeps them: width
// x2 - x1 >= 1, height y2 - y1 >= 1 and area > 0. keep (n_gt,) receives the kept indices in
// order; returns their count (-1 on non-finite boxes, with the message).
int assign_keep_gts(int n_gt, const float * gts, int32_t * keep, char * err, size_t err_size);

// gt_cls (n_gt,) in [0, n_classes); labels (a->n, n_classes), deltas (a->n, 4), gt_ind (a->n,);
// st may be NULL.
int assign_targets(const struct anchors * a, int n_gt, const float * gts, const int32_t * gt_cls,
                   int n_classes, const struct assign_params * p, int8_t * labels, float * deltas,
                   int32_t * gt_ind, struct assign_stats * st, char * err, size_t err_size);

#endif
