// model-config.c - the option structs of every stage from a config (model-config.h)
#include "model-config.h"

#include <stdio.h>
#include <string.h>

static const char * const model_config__backbones[] = {
    [CONFIG_BACKBONE_RESNET50] = "resnet50",
    [CONFIG_BACKBONE_RESNET101] = "resnet101",
    [CONFIG_BACKBONE_RESNEXT101_32X8D] = "resnext101_32x8d",
    [CONFIG_BACKBONE_RESNEXT101_64X4D] = "resnext101_64x4d",
    [CONFIG_BACKBONE_SMALL] = "small",
};

enum loss_kind config_loss_kind(const struct config * c) {
    return c->loss == CONFIG_LOSS_AP ? LOSS_AP : c->loss == CONFIG_LOSS_FOCAL ? LOSS_FOCAL : LOSS_ALRP;
}

int config_model_options(const struct config * c, int n_classes, int bn, struct model_options * o,
                         char * err, size_t err_size) {
    if (c->backbone < 0 || c->backbone > CONFIG_BACKBONE_SMALL) {
        snprintf(err, err_size, "config: backbone %d is not known", c->backbone);
        return -1;
    }
    struct anchors_config ac;
    config_anchors(c, &ac);
    if (model_options_for(o, model_config__backbones[c->backbone], n_classes, ac.n_ratios * ac.scales_per_octave) != 0) {
        snprintf(err, err_size, "config: backbone '%s' is not built", model_config__backbones[c->backbone]);
        return -1;
    }
    if (c->base_width > 0) o->backbone.base_width = c->base_width;
    o->backbone.frozen_stages = c->frozen_stages;
    o->backbone.bn = bn >= 0 ? (enum alrp_bn_mode) bn : c->bn == CONFIG_BN_TRAIN ? ALRP_BN_TRAIN : ALRP_BN_FROZEN;
    if (o->backbone.bn == ALRP_BN_EVAL) o->backbone.frozen_stages = -1;   // nothing trains anyway
    o->backbone.caffe = c->resnet_style == CONFIG_RESNET_CAFFE;   // [B]'s variant (docs/weights.md)
    o->backbone.stem_bias = c->stem_bias;
    o->fpn_channels = c->fpn_channels;
    o->head_channels = c->head_channels;
    o->head_convs = c->head_convs;
    o->p7_relu = c->p7_relu;
    o->p6_from_p5 = c->p6_from_p5;
    return model_options_check(o, err, err_size);
}

void config_loss_options(const struct config * c, const struct config_derived * d, struct loss_options * o) {
    loss_options_default(o, config_loss_kind(c));
    o->rank_group = c->rank_group;
    o->delta = c->delta;
    o->focal_alpha = c->focal_alpha;
    o->focal_gamma = c->focal_gamma;
    // the self-balance state counts micro-batches: one epoch is sb_period updates of accum each
    o->sb_period = c->self_balance ? (d->sb_period > 0 ? d->sb_period : 1) * c->accum : INT64_MAX / 2;
    o->accum = c->accum;
}

void config_assign_params(const struct config * c, struct assign_params * p) {
    assign_params_default(p, c->assigner == CONFIG_ASSIGNER_ATSS ? ASSIGN_ATSS : ASSIGN_MAXIOU);
    loss_kind_stds(config_loss_kind(c), p->stds);
}

void config_post_params(const struct config * c, struct post_params * p) {
    post_params_default(p);
    p->nms_pre = c->nms_pre;
    p->score_thr = c->score_thr;
    p->nms_iou = c->nms_iou;
    p->max_per_img = c->max_per_img;
    p->style = c->post_style == CONFIG_POST_SEED ? POST_SEED : POST_MMDET;
    loss_kind_stds(config_loss_kind(c), p->stds);
}

void config_image_norm(const struct config * c, struct image_norm * nm) {
    image_norm_default(nm);
    nm->bgr = c->input_bgr;
    for (int i = 0; i < 3; i++) {
        if (c->pixel_mean.n == 3) nm->mean[i] = c->pixel_mean.v[i];
        if (c->pixel_std.n == 3) nm->std[i] = c->pixel_std.v[i];
    }
}
