// model-head.h - RetinaNet's classification and box-regression heads as [A] defines them
// (mmdetection's RetinaHead, which the aLRP head keeps unchanged):
//
//     cls branch: n_convs x (3x3 conv `channels` + ReLU), then retina_cls: 3x3 conv to A * C logits
//     reg branch: n_convs x (3x3 conv `channels` + ReLU), then retina_reg: 3x3 conv to A * 4 deltas
// The two branches share nothing; every level uses the same tensors. No normalisation layers.
// Names "<prefix>cls_convs.i.conv.weight/bias", "<prefix>reg_convs.i.conv.*",
// "<prefix>retina_cls.weight/bias", "<prefix>retina_reg.*" (prefix "bbox_head." in the detector).
// Init: every conv N(0, 0.01) with bias 0, except retina_cls's bias = -ln(99) (a prior
// probability of 0.01 for every class).
//
// Output order (mmdetection's): a level's (N, A C, H, W) map becomes (N, H W A, C) by
// permute(0, 2, 3, 1) and reshape, so anchor index = (y W + x) A + a within a level, channel
// a C + c; levels are concatenated P3 first.
#ifndef DETECTOR_MODEL_HEAD_H
#define DETECTOR_MODEL_HEAD_H

#include "model-nn.h"

#define HEAD_MAX_CONVS 8
#define HEAD_MAX_LEVELS 6      // the concat op takes up to 6 tensors
#define HEAD_PRIOR_BIAS (-4.59511985013459f)   // -ln((1 - 0.01) / 0.01)

struct head {
    int64_t in_channels, channels;
    int n_convs, n_anchors, n_classes;
    struct nn_conv cls_convs[HEAD_MAX_CONVS], reg_convs[HEAD_MAX_CONVS];
    struct nn_conv cls_out, reg_out;   // retina_cls, retina_reg
};

// n_convs 0..HEAD_MAX_CONVS (with 0 the output convs read the features directly)
void head_init(struct head * h, struct nn_registry * reg, struct alrp_context * ctx, const char * prefix,
               int64_t in_channels, int64_t channels, int n_convs, int n_anchors, int n_classes, bool trainable);
// p[0..n_levels-1] (N, in_channels, H_l, W_l) -> *logits (N, A_total, C), *deltas (N, A_total, 4),
// A_total = sum of H_l W_l A; level_anchors[l] = H_l W_l A when not NULL.
void head_forward(const struct head * h, struct alrp_context * ctx, struct alrp_tensor * const * p, int n_levels,
                  struct alrp_tensor ** logits, struct alrp_tensor ** deltas, int64_t * level_anchors);

#endif // DETECTOR_MODEL_HEAD_H
