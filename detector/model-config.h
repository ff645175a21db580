// model-config.h - from a config (config.h) to the option structs of each stage: the network
// (model.h), the loss (model-loss.h), the assigner (data-assign.h), the anchors
// (model-anchors.h) and the post-processing (model-post.h). One place decides how every key
// reaches the code, so train, eval and infer build the same model from the same config.
//
//     struct model_options mo;
//     if (config_model_options(&c, n_classes, ALRP_BN_EVAL, &mo, err, sizeof err)) ...   // inference
//     struct loss_options lo;  config_loss_options(&c, &d, &lo);
//     struct assign_params ap; config_assign_params(&c, &ap);
//     struct post_params pp;   config_post_params(&c, &pp);
#ifndef DET_MODEL_CONFIG_H
#define DET_MODEL_CONFIG_H

#include "config.h"
#include "data-assign.h"
#include "data-image.h"
#include "model-loss.h"
#include "model-post.h"

// The network of config c for n_classes. bn: the BN mode to build with; pass -1 for the
// config's own training mode (bn = frozen | train), ALRP_BN_EVAL for inference (running
// statistics folded into the convs, nothing trainable). Returns 0, or -1 with a message.
int  config_model_options(const struct config * c, int n_classes, int bn, struct model_options * o,
                          char * err, size_t err_size);
// loss kind, smoothing, focal values, rank group, the self-balance period (d->sb_period; a
// period no run reaches when self_balance is off)
void config_loss_options(const struct config * c, const struct config_derived * d, struct loss_options * o);
// the assigner of the config, with the delta-target stds of its loss
void config_assign_params(const struct config * c, struct assign_params * p);
// the test-time post-processing: nms_pre, score_thr, nms_iou, max_per_img, the loss's stds
void config_post_params(const struct config * c, struct post_params * p);
// the input normalisation: pixel_mean, pixel_std, input_bgr ([A]'s RGB mean/std by default)
void config_image_norm(const struct config * c, struct image_norm * nm);
// the loss kind of the config's loss key
enum loss_kind config_loss_kind(const struct config * c);

#endif // DET_MODEL_CONFIG_H
