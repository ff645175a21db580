// run-ckpt.h - checkpoints: one safetensors file holding everything a run needs to continue
// exactly or a model needs to detect, written atomically (path.tmp, fsync, rename: a failed or
// interrupted write leaves the previous file intact).
//
// Tensors: every model tensor (parameters and buffers, mmdetection names) and, in a training
// checkpoint, the optimizer's state ("<param>.momentum_buffer"). Metadata (strings):
//   format "alrp-detector-1", kind "last" | "best", config (the whole config as config_print
//   writes it), classes ("id<TAB>name" lines, class index order), dataset, step (updates
//   done), epoch and batch (the next batch to train: the data order is a function of the seed
//   and the epoch, so this is the whole loader state), the self-balance state (sb_*), seed,
//   best_ap and best_epoch, images_seen.
//
//     struct ckpt_meta m;  ckpt_meta_init(&m);  ... fill ...
//     ckpt_save(path, be, &model, opt, &m, err, sizeof err);
//     ckpt_read(path, &m, err, sizeof err);      // metadata only: build the model from m.config
//     ckpt_load(path, be, &model, opt, err, sizeof err);   // the tensors
//     ckpt_meta_free(&m);
#ifndef DET_RUN_CKPT_H
#define DET_RUN_CKPT_H

#include "config.h"
#include "model.h"

#define CKPT_FORMAT "alrp-detector-1"

struct ckpt_meta {
    char kind[8];               // "last" or "best"
    struct config config;
    char dataset[1024];
    int n_classes;
    int64_t * cat_ids;          // n_classes, owned
    char ** cat_names;          // n_classes, owned
    int64_t step, epoch, batch; // updates done; the next (epoch, batch) to train
    int64_t images_seen;
    struct alrp_sb sb;
    uint64_t seed;
    double best_ap;             // -1: not evaluated yet
    int64_t best_epoch;
};

void ckpt_meta_init(struct ckpt_meta * m);
void ckpt_meta_free(struct ckpt_meta * m);
// copies n categories (ids and names) into m
int  ckpt_meta_set_classes(struct ckpt_meta * m, int n, const int64_t * ids, const char * const * names);

// opt may be NULL (a model-only checkpoint: "best", or for inference). 0, or -1 with a message.
int  ckpt_save(const char * path, struct alrp_backend * be, const struct model * model,
               const struct alrp_optimizer * opt, const struct ckpt_meta * m, char * err, size_t err_size);
// reads and checks the metadata (a safetensors file without ours is "not a checkpoint of this
// program"). 0, or -1 with a message.
int  ckpt_read(const char * path, struct ckpt_meta * m, char * err, size_t err_size);
// loads the model tensors (and, with opt, the optimizer state) into placed tensors in one read
// of the file; a shape mismatch names the tensor and both shapes. The step count is metadata
// (ckpt_read): the caller sets it (alrp_optimizer_set_n_steps).
// 0 when every weight is finite; else -1 and one line naming path and the first bad value
int  ckpt_check_finite(const char * path, const struct model * model, struct alrp_backend * be, char * err, size_t err_size);
// (ckpt_load checks it too)
int  ckpt_load(const char * path, struct alrp_backend * be, struct model * model, struct alrp_optimizer * opt,
               char * err, size_t err_size);

#endif // DET_RUN_CKPT_H
