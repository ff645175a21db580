// model-boxes.h - boxes at inference: decoding the regression outputs, clipping to the image,
// mapping back to the original image, and non-maximum suppression (plain and class-wise).
//
// Boxes are x1 y1 x2 y2 in pixels, no +1.
//
// Decoding is alrp.h's alrp_box_decode_f32 (mmdet's DeltaXYWHBBoxCoder: means 0, the given stds,
// |dw|, |dh| clamped to |ln(16 / 1000)| = 4.135, computed in double and rounded to float).
// Clipping clamps x to [0, img_w] and y to [0, img_h] (the resized image, before padding).
// Rescaling divides x by scale_w and y by scale_h (resized size / original size), in float.
//
// NMS as torchvision.ops.nms (same float operations, same indices): boxes are visited by score,
// descending, ties in index order (a stable sort); each box not yet suppressed is kept and
// suppresses every later box whose IoU with it is > iou_thr, where
//     inter = max(min(x2) - max(x1), 0) * max(min(y2) - max(y1), 0),
//     iou = inter / ((area_i + area_j) - inter)           (float; no eps: 0 / 0 suppresses nothing)
// The kept indices come out in that visiting order. (mmcv's CPU kernel suppresses at >= instead;
// its CUDA kernel, which the official code ran, uses >.)
//
// Class-wise NMS as mmcv's / torchvision's batched_nms: every box is moved by
// offset = class * (max coordinate + 1) (float), then one NMS runs over all of them, so boxes of
// different classes never suppress each other. When every coordinate is >= 0 the classes are
// disjoint after the move and the NMS runs class by class (same result, far fewer pairs);
// otherwise all pairs are compared, exactly as the offset trick does.

#ifndef DET_MODEL_BOXES_H
#define DET_MODEL_BOXES_H

#include <stddef.h>
#include <stdint.h>

// anchors (n, 4), deltas (n, 4) -> boxes (n, 4); stds (4,)
void boxes_decode(int64_t n, const float * anchors, const float * deltas, const float * stds,
                  float * boxes);
// boxes (n, 4) in place
void boxes_clip(int64_t n, float * boxes, float img_w, float img_h);
void boxes_rescale(int64_t n, float * boxes, float scale_w, float scale_h);

// boxes (n, 4), scores (n,) -> keep (n,): the kept indices; returns their count, or -1 with a
// one-line message (negative n, non-finite scores, missing arrays, out of memory).
int64_t boxes_nms(int64_t n, const float * boxes, const float * scores, double iou_thr,
                  int64_t * keep, char * err, size_t err_size);
// classes (n,) >= 0
int64_t boxes_nms_batched(int64_t n, const float * boxes, const float * scores,
                          const int32_t * classes, double iou_thr, int64_t * keep,
                          char * err, size_t err_size);
// the first max_keep of what boxes_nms_batched keeps (max_keep <= 0: all), the same indices in the
// same order, found without finishing the NMS: in score order each box is compared only with the
// boxes kept so far of its class, and the visit stops at the max_keep-th kept box
int64_t boxes_nms_batched_top(int64_t n, const float * boxes, const float * scores,
                              const int32_t * classes, double iou_thr, int64_t max_keep, int64_t * keep,
                              char * err, size_t err_size);
// the same with every pair compared (the reference of the class-by-class path)
int64_t boxes_nms_batched_naive(int64_t n, const float * boxes, const float * scores,
                                const int32_t * classes, double iou_thr, int64_t * keep,
                                char * err, size_t err_size);

#endif
