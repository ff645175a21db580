// data-augment.h - the training augmentation of the official aLRP Loss code ([A], mmdetection v2's
// SSD-style pipeline), on one image and its boxes:
//
//     PhotoMetricDistortion -> Expand -> MinIoURandomCrop -> Resize (size x size) -> Normalize -> RandomFlip
//
//     struct augment_params ap;  augment_params_default(&ap);      // [A]'s values, all stages on
//     struct alrp_rng rng = { seed };
//     float * x = malloc(sizeof(float) * 3 * size * size);         // (3, size, size)
//     float ob[4 * n_gt]; int32_t oc[n_gt]; int on;
//     if (augment_train(&im, n_gt, boxes, cls, &ap, &rng, size, &nm, x, ob, oc, &on, err, sizeof err)) ...
//
// Boxes are x1 y1 x2 y2 in float pixels (no +1). All randomness comes from rng, drawn in the order
// the official code draws it, so one seed gives one result. The image is float from the start
// (the official pipeline loads with to_float32) and is never clipped to 0..255 between stages.
//
// PhotoMetricDistortion (each step with probability 1/2, drawn in this order): brightness
//   v += U(-32, 32); a mode bit: contrast (v *= U(0.5, 1.5)) first or last; convert to HSV
//   (always, as the official code does; OpenCV's float formulas, H in degrees, which is not an
//   exact round trip for values pushed below 0); saturation S *= U(0.5, 1.5); hue
//   H += U(-18, 18), wrapped into [0, 360]; back to RGB; contrast if last; channel swap: a
//   uniformly random permutation of the three channels.
// Expand (probability 1/2: skipped when U(0, 1) > 0.5): ratio r = U(1, 4); the image is placed at
//   left = (int) U(0, w r - w), top = (int) U(0, h r - h) on a (int) (w r) x (int) (h r) canvas
//   filled with the normalisation mean; boxes shift by (left, top). The canvas is not built: the
//   resize reads the fill for pixels outside the image (same values, no 16x memory).
// MinIoURandomCrop: mode drawn uniformly from {none, 0.1, 0.3, 0.5, 0.7, 0.9, 0 (any)}; none
//   keeps the image; else up to 50 tries of: new_w = U(0.3 w, w), new_h = U(0.3 h, h), rejected
//   unless 0.5 <= new_h / new_w <= 2; left and top as numpy's random.uniform(w - new_w) (low =
//   w - new_w, high = 1: the official code's call, kept as it is: left = low + (1 - low) U);
//   patch = ((int) left, (int) top, (int) (left + new_w), (int) (top + new_h)); rejected when a
//   side is 0, when any gt has IoU < min_iou with it, or when no gt centre lies strictly inside;
//   accepted: gts whose centre lies inside are kept, clipped to the patch and shifted. After 50
//   failed tries a new mode is drawn (the official loop is unbounded; here after 1000 modes the
//   image is kept as it is, which the 1/7 chance of `none` makes practically unreachable). An
//   image with no gt is not cropped (as later mmdetection versions do).
// Resize to size x size, aspect not kept: bilinear as data-image.h describes; boxes scaled by
//   size / w, size / h (float) and clipped to [0, size].
// Normalize: (v - mean) / std, planes RGB (or BGR when nm->bgr).
// RandomFlip (probability 1/2): horizontal; x1' = size - x2, x2' = size - x1.
//
// Every stage can be switched off; values are the official ones by default.

#ifndef DET_DATA_AUGMENT_H
#define DET_DATA_AUGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alrp.h"
#include "data-image.h"

#define AUGMENT_MAX_MODES 8

struct augment_params {
    bool  photometric;
    float brightness_delta;            // 32
    float contrast_lo, contrast_hi;    // 0.5, 1.5
    float saturation_lo, saturation_hi;// 0.5, 1.5
    float hue_delta;                   // 18 (degrees)
    bool  channel_swap;                // true (part of the photometric stage)
    bool  expand;
    float expand_prob;                 // 0.5
    float expand_ratio_lo, expand_ratio_hi;   // 1, 4
    bool  crop;
    int   crop_n_modes;                // 7
    float crop_modes[AUGMENT_MAX_MODES];      // 1 (none), 0.1, 0.3, 0.5, 0.7, 0.9, 0 (any)
    float crop_min_size;               // 0.3
    int   crop_tries;                  // 50
    bool  flip;
    float flip_prob;                   // 0.5
};

void augment_params_default(struct augment_params * p);
// every stage off: a plain resize + normalise (for tests and for looking at the data)
void augment_params_none(struct augment_params * p);

// in: the decoded image; boxes (n_gt, 4), cls (n_gt). out_chw (3, size, size); out_boxes
// (n_gt, 4) and out_cls (n_gt) receive the *out_n boxes that remain. 0, or -1 with a message
// (bad sizes or boxes, out of memory).
int augment_train(const struct image * in, int n_gt, const float * boxes, const int32_t * cls,
                  const struct augment_params * p, struct alrp_rng * rng, int size,
                  const struct image_norm * nm, float * out_chw, float * out_boxes, int32_t * out_cls,
                  int * out_n, char * err, size_t err_size);

// A network input (3, h, w) back to 8-bit RGB (un-normalised, rounded, clipped): to look at a
// batch. im is allocated (image_free). -1 when out of memory.
int augment_to_image(const float * chw, int w, int h, const struct image_norm * nm, struct image * im);

#endif // DET_DATA_AUGMENT_H
