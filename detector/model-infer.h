// model-infer.h - the detector at test time: the network of a config in BN eval mode (running
// statistics folded into the convs, nothing trainable), its graph built once per input shape
// and kept, then [A]'s post-processing (model-post.h) to detections in original-image pixels.
//
//     struct infer * inf = infer_new(&config, n_classes, be, err, sizeof err);
//     ... load the weights: infer_model(inf) is a struct model whose tensors are placed ...
//     infer_copy_from(inf, &train_model, be);          // or from the training model's tensors
//     int n = infer_run(inf, chw, H, W, img_w, img_h, scale_w, scale_h, dets, err, sizeof err);
//     infer_free(inf);
//
// chw is one normalised image (3, H, W), H and W multiples of 32 (data-image.h's test-time
// rule gives it); img_w x img_h is the resized image inside the padding (boxes are clipped to
// it); scale_w, scale_h map the resized image to the original one. dets has room for
// infer_max_dets(inf) detections.
#ifndef DET_MODEL_INFER_H
#define DET_MODEL_INFER_H

#include "config.h"
#include "model-post.h"
#include "model.h"

struct infer;

struct infer * infer_new(const struct config * c, int n_classes, struct alrp_backend * be, char * err, size_t err_size);
void infer_free(struct infer * inf);
struct model * infer_model(struct infer * inf);
int  infer_max_dets(const struct infer * inf);
// Copies every tensor of src (same names and shapes: the training model of the same config)
// into the inference model through be. Returns 0, or -1 with a message.
int  infer_copy_from(struct infer * inf, const struct model * src, char * err, size_t err_size);
// One image: returns the number of detections written to dets (score descending), or -1 with a
// message (compute failure, NaN outputs).
int  infer_run(struct infer * inf, const float * chw, int H, int W, float img_w, float img_h,
               float scale_w, float scale_h, struct det_detection * dets, char * err, size_t err_size);
// seconds spent in the network and in post-processing, over every run so far; graphs built
struct infer_stats { double t_net, t_post, t_build; int64_t n_runs; int n_builds; };
void infer_get_stats(const struct infer * inf, struct infer_stats * s);

#endif // DET_MODEL_INFER_H
