// model-post.h - RetinaNet's test-time post-processing: from the heads' outputs of one image to
// at most max_per_img detections, as the official aLRP Loss code (mmdetection v2's
// AnchorHead.get_bboxes with its RetinaNet test config) does it:
//
//   1. per level: score = sigmoid(logit) of every (anchor, class); if the level has more than
//      nms_pre anchors, keep the nms_pre anchors with the highest best-class score, in
//      descending order of that score (ties: lower anchor index first; torch.topk leaves them
//      unspecified); otherwise keep them all in anchor order;
//   2. decode the kept anchors' deltas (model-boxes.h: stds, clamp) and clip them to the
//      resized image img_w x img_h; concatenate the levels (P3 first);
//   3. map the boxes back to the original image: x / scale_w, y / scale_h;
//   4. every (anchor, class) pair with score > score_thr is a candidate, in order of anchor
//      (as concatenated), then class;
//   5. class-wise NMS at nms_iou (boxes_nms_batched); the first max_per_img kept, which are in
//      descending score order.
// Defaults: nms_pre 1000, score_thr 0.05, nms_iou 0.5, max_per_img 100, stds (0.1, 0.1, 0.2, 0.2).
//
// [B]'s post-processing (style POST_SEED: the seed's AP-Loss-based code, its test.py /
// coco_eval.get_results), with the same parameters:
//   1. per level: every (anchor, class) pair scored sigmoid(logit); the top nms_pre pairs by
//      score (ties: lower anchor x C + class first), of those the ones above score_thr on every
//      level but the last, above 0 on the last (P7);
//   2. each pair's anchor decoded with the +1 convention, in double: w = x2 - x1 + 1,
//      cx = x1 + (w - 1) / 2, cx' = cx + dx std0 w, w' = exp(dw std2) w (no clamp),
//      x1' = cx' - max(w' - 1, 0) / 2, x2' = cx' + max(w' - 1, 0) / 2 (y likewise);
//      clipped to [0, img_w - 1] x [0, img_h - 1]; divided by the scale;
//   3. class-wise NMS at nms_iou over all levels' pairs (level order, each in score order), the
//      first max_per_img kept. (Its COCO json then writes w = x2 - x1 + 1: the results writer's
//      business, see docs/weights.md.)
//
// Anchors with no class above score_thr cannot give a candidate, so they are dropped before
// the top-nms_pre selection; the selection among the others, and their order, are unchanged.

#ifndef DET_MODEL_POST_H
#define DET_MODEL_POST_H

#include <stddef.h>
#include <stdint.h>

#include "model-anchors.h"

struct det_detection {
    int32_t cls;        // class index, 0..n_classes-1
    float   score;      // sigmoid probability
    float   box[4];     // x1 y1 x2 y2 in the original image's pixels
};

enum post_style { POST_MMDET, POST_SEED };

struct post_params {
    int    nms_pre;     // <= 0: no per-level cut
    float  score_thr;
    double nms_iou;
    int    max_per_img; // <= 0: keep every detection NMS keeps
    float  stds[4];
    enum post_style style;  // POST_MMDET ([A], the default) or POST_SEED ([B])
};

void post_params_default(struct post_params * p);

// logits (a->n, n_classes) and deltas (a->n, 4) in the anchors' order (level, row, column,
// base anchor), i.e. each level's (A * C, H, W) head output permuted to (H, W, A, C).
// out has room for max_per_img detections (or a->n * n_classes when max_per_img <= 0).
// Returns the number written, or -1 with a one-line message (bad arguments, NaN logits, out of
// memory).
int post_detect(const struct anchors * a, int n_classes, const float * logits, const float * deltas,
                float img_w, float img_h, float scale_w, float scale_h, const struct post_params * p,
                struct det_detection * out, char * err, size_t err_size);

#endif
