// run-eval.h - detecting every image of a split and scoring it: shared by `./detector eval`,
// the evaluations during training and the end-of-training report.
#ifndef DET_RUN_EVAL_H
#define DET_RUN_EVAL_H

#include "coco-eval.h"
#include "coco-results.h"
#include "config.h"
#include "image.h"
#include "model-infer.h"

// the classes of a model: class index k is category id ids[k] (names[k])
struct run_classes { int n; const int64_t * ids; const char * const * names; };

// the first images of a split with their detections, kept for a picture
#define RUN_PREVIEW_MAX 16
struct run_preview {
    int n, want;                        // kept, wanted (<= RUN_PREVIEW_MAX)
    struct image img[RUN_PREVIEW_MAX];  // the original images
    int n_det[RUN_PREVIEW_MAX];
    struct det_detection * det[RUN_PREVIEW_MAX];
};
void run_preview_free(struct run_preview * pv);

// Detects every image of ds (eval-mode loader: the config's test-time rule) with inf into
// *dets (coco_det, ids and indices of ds; malloc'ed), *n_dets. A category id of the model that ds
// does not have is an error naming it. pv (may be NULL) keeps the first pv->want images.
int run_detect_split(struct infer * inf, const struct config * c, const struct coco_dataset * ds, const char * image_dir,
                     const struct run_classes * cls, int n_threads, struct coco_det ** dets, int64_t * n_dets,
                     struct run_preview * pv, char * err, size_t err_size);

// the backend of --device (cpu | cuda) with n_threads CPU threads; NULL and a message when
// the device is not available
struct alrp_backend * run_backend_new(const char * device, int n_threads, char * err, size_t err_size);

struct run_args;
struct run_env;
struct ckpt_meta;
// The model of a weights file: our checkpoint carries its config and classes (key=value
// overrides of a apply on top); anything else (.pth, a bare safetensors file) takes the config
// of --config and the classes of ds (NULL: an error).
int run_open_model(const struct run_args * a, const struct run_env * env, const char * weights,
                   const struct coco_dataset * ds, struct ckpt_meta * meta, char * err, size_t err_size);
// loads weights into the inference model: our checkpoint, a bare safetensors file or a .pth
// (weights.h)
int run_load_weights(struct infer * inf, struct alrp_backend * be, const char * weights, char * err, size_t err_size);

#endif // DET_RUN_EVAL_H
