// data-loader.h - background threads that turn a COCO-layout dataset into batches: read and
// decode, augment ([A]'s SSD-style pipeline, data-augment.h) and build the training targets
// (data-assign.h), or apply the test-time rule (data-image.h), so the compute never waits.
//
//     struct loader_params lp;  loader_params_default(&lp);
//     lp.ds = &ds; lp.image_dir = "data/shapes/train2017"; lp.train = 1; lp.batch = 8; lp.size = 256;
//     lp.anchors = &anchors; assign_params_default(&lp.assign, ASSIGN_ATSS); lp.n_classes = ds.n_categories;
//     struct loader * l = loader_new(&lp, err, sizeof err);
//     for (int64_t e = 0; e < epochs; e++) {
//         loader_start(l, e, 0, err, sizeof err);              // or (e, k) to resume at batch k
//         const struct loader_batch * b;
//         int rc;
//         while ((rc = loader_next(l, &b, err, sizeof err)) == 0) step(b->images, b->labels, b->targets);
//         if (rc < 0) { puts(err); ... }                      // 1: the epoch is over
//     }
//     loader_free(l);
//
// Training (train = 1): the usable images are those of at least 32 x 32 pixels (the annotation's
// width and height; mmdetection's filter) with at least one usable gt: not crowd, w >= 1,
// h >= 1, area > 0 and overlapping the image (mmdetection's COCO parser; crowd boxes are
// dropped: [A] loads them as ignore boxes but its pipeline never uses them). The order of epoch
// e is a permutation of them from (seed, e) (a 4-round Feistel network on the next power of 4,
// cycle-walked into [0, n)). Batch k of an epoch holds positions k B .. k B + B - 1; past the
// end the positions wrap to the start of the same epoch's order (as mmdetection's sampler pads
// the last batch), so every batch is full and the number of batches is ceil(n / B). The
// augmentation stream of the image at position p of epoch e is seeded from (seed, e, p), so a
// run resumed with loader_start(e, k) sees exactly the batches of an uninterrupted one, with
// any number of threads. Labels (B, A, C) int8 and delta targets (B, A, 4) are assign_targets'
// output for the anchors given; class = index of the annotation's category in ds->categories.
//
// Evaluation (train = 0): every image in dataset order, one per batch (batch is ignored), the
// test-time rule (short side test_size, long side <= test_max_size, padded to pad); H x W is that
// image's padded size; geom maps boxes back; no targets; gt lists hold the image's usable gts
// in original pixels.
//
// Bad images: a file that is missing, unreadable or corrupt prints one line on stderr, once per
// file: "warning: PATH: not a readable image (...) (skipped)". In training it is replaced by the
// next readable image of the same epoch's order (positions p + 1, p + 2, ..., with the stream
// (seed, e, p) advanced by the attempt number), so the result is still the same for any thread
// count; in evaluation the batch comes back with skipped[0] = 1 and a zero image (geometry from
// the annotation's size). Only when no image at all can be read does loader_next fail.
#ifndef DET_DATA_LOADER_H
#define DET_DATA_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "coco.h"
#include "data-assign.h"
#include "data-augment.h"
#include "data-image.h"
#include "model-anchors.h"

struct loader_params {
    const struct coco_dataset * ds;
    const char * image_dir;          // folder of the file names
    int train;
    int batch, size;                 // train: batch images of size x size
    int test_size, test_max_size, pad;   // eval
    struct augment_params aug;
    struct image_norm norm;
    const struct anchors * anchors;  // train targets (anchors of a size x size input)
    struct assign_params assign;
    int n_classes;
    int n_threads;                   // workers (>= 1)
    int prefetch;                    // batches prepared ahead (>= 1)
    uint64_t seed;
};

struct loader_batch {
    int n, H, W;
    float * images;                  // (n, 3, H, W)
    int8_t * labels;                 // (n, A, C) train only
    float * targets;                 // (n, A, 4) train only
    int64_t n_pos;                   // positives in labels
    int64_t * image_index;           // (n) index into ds->images
    struct test_geom * geom;         // (n) eval
    int * skipped;                   // (n) eval: 1 when the image could not be read
    int * n_gt;                      // (n) gts per image: augmented (train) or original (eval)
    float * gt_boxes;                // x1 y1 x2 y2; image i's at gt_boxes + 4 * gt_off[i]
    int32_t * gt_cls;                // image i's at gt_cls + gt_off[i]
    int * gt_off;
    int64_t epoch, index;            // batch `index` of epoch `epoch`
};

struct loader_stats {
    double  wait_s;                  // time loader_next spent blocked
    double  work_s;                  // worker time (all threads together)
    int64_t batches;                 // returned by loader_next
    int64_t skipped;                 // bad images met (each meeting counts)
};

// defaults: train, batch 8, size 512, test 500 / 833, pad 32, [A]'s augmentation and
// normalisation, 2 threads, prefetch 2, seed 0; ds, image_dir, anchors, assign, n_classes unset
void loader_params_default(struct loader_params * p);

struct loader;
struct loader * loader_new(const struct loader_params * p, char * err, size_t err_size);
int64_t loader_n_images(const struct loader * l);
int64_t loader_batches_per_epoch(const struct loader * l);
// (re)positions at batch first_batch of epoch epoch (0 <= first_batch <= batches per epoch);
// loader_next without it starts at (0, 0). Batches run on into the next epochs.
int  loader_start(struct loader * l, int64_t epoch, int64_t first_batch, char * err, size_t err_size);
// 0: *b is the next batch (valid until the next call); 1: the epoch is over (the next call gives
// batch 0 of the next epoch); -1: an error (message in err)
int  loader_next(struct loader * l, const struct loader_batch ** b, char * err, size_t err_size);
void loader_get_stats(const struct loader * l, struct loader_stats * s);
void loader_free(struct loader * l);

// The image at position pos of epoch e's training order (an index into the usable images, see
// loader_image_index), for tests and for resuming.
int64_t loader_order(const struct loader * l, int64_t epoch, int64_t pos);
int64_t loader_image_index(const struct loader * l, int64_t usable);   // -> index into ds->images

#endif // DET_DATA_LOADER_H
