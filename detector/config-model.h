// config-model.h - a config's model, anchors and post-processing settings as the options the
// model code takes (header only: include after config.h, model.h and model-post.h).
//
//     struct model_options o;  struct post_params pp;
//     if (config_model_options(&c, n_classes, inference, &o, err, sizeof err)) ...
//     config_post_params(&c, &pp);                  // and config_anchors(&c, &a) (config.h)
#ifndef DETECTOR_CONFIG_MODEL_H
#define DETECTOR_CONFIG_MODEL_H

#include "config.h"
#include "det-err.h"
#include "model.h"
#include "model-post.h"

// The network of c for n_classes (inference: BN in eval mode, nothing trainable). 0, or -1
// with one line in err.
static inline int config_model_options(const struct config * c, int n_classes, bool inference, struct model_options * o,
                                       char * err, size_t err_size) {
    const char * bb = config_choice("backbone", c->backbone);
    const int n_anchors = c->anchor_ratios.n * c->scales_per_octave;
    if (model_options_for(o, bb, n_classes, n_anchors) != 0) return det_errf(err, err_size, "config: unknown backbone '%s'", bb);
    o->backbone.frozen_stages = c->frozen_stages;
    o->backbone.bn = inference ? ALRP_BN_EVAL : c->bn == CONFIG_BN_TRAIN ? ALRP_BN_TRAIN : ALRP_BN_FROZEN;
    o->backbone.caffe = c->resnet_style == CONFIG_RESNET_CAFFE;
    o->backbone.stem_bias = c->stem_bias;
    o->fpn_channels = c->fpn_channels;
    o->head_channels = c->head_channels;
    o->head_convs = c->head_convs;
    o->p7_relu = c->p7_relu;
    return model_options_check(o, err, err_size);
}

// the test-time post-processing of c
static inline void config_post_params(const struct config * c, struct post_params * p) {
    post_params_default(p);
    p->nms_pre = c->nms_pre;
    p->score_thr = c->score_thr;
    p->nms_iou = c->nms_iou;
    p->max_per_img = c->max_per_img;
    p->style = c->post_style == CONFIG_POST_SEED ? POST_SEED : POST_MMDET;
}

#endif // DETECTOR_CONFIG_MODEL_H
