// config.h - training and test configs: small text files of `key = value` lines (models/*).
//
//     struct config c;
//     char err[1024];
//     if (config_load("models/alrp500_r50_atss", &c, err, sizeof err) != 0) { puts(err); ... }
//     if (config_set(&c, "batch=8", err, sizeof err) != 0) ...        // command-line overrides
//     if (config_check(&c, err, sizeof err) != 0) ...                 // after the last override
//     struct config_derived d;
//     config_derive(&c, n_images, n_classes, &d, err, sizeof err);    // from the dataset
//     config_print(stdout, &c, &d);
//
// File format: one `key = value` per line; `#` starts a comment (a whole line or the end of
// one); blank lines are fine; every key may appear at most once and keys that are left out keep
// their defaults. Values are typed: int, float, bool (true|false), one name of a fixed set
// (`loss = alrp`), a comma-separated list (`lr_steps = 60, 80`), or text (`published_ap`). The
// keys, their types, defaults, ranges and help lines are one table in config.c
// (config_n_keys / config_key_at), from which the parser, the error messages and config_print
// are all made. config_print writes a file that config_load reads back to the same config.
//
// Errors: every function returns 0, or -1 with one line in err (never aborts, never prints),
// naming where the problem is: `models/shapes:7: unknown key 'lrr' (valid keys: ...)` for a
// file, `override 'batch=0': ...` for config_set.
//
// Derived values are not config keys (config_derive): the number of classes and images come from
// the dataset, anchors per location from the anchor keys, the lr from base_lr / base_batch, the
// iterations per epoch and the self-balance period from the dataset size and the batch. One
// iteration is one optimizer update, which takes batch x accum images:
//     iters_per_epoch = ceil(n_images / (batch * accum))     (the last, partial batch counts, as
//                                                             in mmdetection's sampler)
//     sb_period       = iters_per_epoch                      (w_SB is updated once per epoch)
//     lr              = lr if given, else base_lr * batch * accum / base_batch   (linear scaling)
// COCO train2017 (117,266 images with a box) at batch 32 gives 3665 iterations per epoch. The
// official code ([A]) hard-codes the self-balance period at 3665 whatever the batch and
// dataset, so its batch-16 scale-800 recipes (7330 iterations per epoch) update w_SB twice per
// epoch; here the period is always one epoch of the run's own dataset and batch.
#ifndef DETECTOR_CONFIG_H
#define DETECTOR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model-anchors.h"

#define CONFIG_MAX_LIST 16      // entries in a list value (= ANCHORS_MAX_PER_LOC for the ratios)
#define CONFIG_MAX_TEXT 64      // bytes of a text value, with its NUL

enum config_type {
    CONFIG_INT,
    CONFIG_FLOAT,
    CONFIG_BOOL,
    CONFIG_ENUM,        // one name of key->choices, stored as its index (an int)
    CONFIG_INTS,        // struct config_ints
    CONFIG_FLOATS,      // struct config_floats
    CONFIG_TEXT,        // char[CONFIG_MAX_TEXT]
};

// the enum keys' values, in the order of their choices in config.c
enum config_backbone { CONFIG_BACKBONE_RESNET50, CONFIG_BACKBONE_RESNET101, CONFIG_BACKBONE_RESNEXT101_32X8D,
                       CONFIG_BACKBONE_RESNEXT101_64X4D, CONFIG_BACKBONE_SMALL };
enum config_bn       { CONFIG_BN_FROZEN, CONFIG_BN_TRAIN };
enum config_assigner { CONFIG_ASSIGNER_MAXIOU, CONFIG_ASSIGNER_ATSS };
enum config_loss     { CONFIG_LOSS_ALRP, CONFIG_LOSS_AP, CONFIG_LOSS_FOCAL };
enum config_optimizer { CONFIG_OPT_SGD, CONFIG_OPT_ADAMW };
enum config_resnet_style { CONFIG_RESNET_PYTORCH, CONFIG_RESNET_CAFFE };
enum config_post_style   { CONFIG_POST_MMDET, CONFIG_POST_SEED };

struct config_ints   { int n; int   v[CONFIG_MAX_LIST]; };
struct config_floats { int n; float v[CONFIG_MAX_LIST]; };

struct config {
    // model
    int   backbone;                     // enum config_backbone
    int   base_width;                   // stem and layer1 channels; 0: the backbone's own
    int   frozen_stages;                // -1 none, 0 the stem, k the stem and layer1..k
    int   bn;                           // enum config_bn
    int   fpn_channels;
    int   head_channels;
    int   head_convs;
    // anchors and assignment
    int   assigner;                     // enum config_assigner
    struct config_floats anchor_ratios; // height / width
    int   scales_per_octave;
    float octave_base_scale;
    // loss
    int   loss;                         // enum config_loss
    float delta;                        // the ranking losses' smoothing (step function width)
    bool  self_balance;
    float sb_init;
    float focal_alpha;
    float focal_gamma;
    // optimisation
    int   batch;                        // images per step, all devices together
    int   rank_group;                   // images ranked together (one GPU's images in [A])
    int   accum;                        // steps accumulated into one update
    float lr;                           // 0: derived from base_lr (the file leaves it empty)
    float base_lr;
    int   base_batch;
    int   optimizer;                    // enum config_optimizer
    float momentum;
    float weight_decay;
    int   warmup_iters;
    float warmup_ratio;
    int   epochs;
    struct config_ints lr_steps;        // epochs after which the lr is multiplied by 0.1
    // data and test
    int   size;                         // training images are resized to size x size
    bool  aug_photometric;              // training augmentation stages ([A]'s SSD pipeline)
    bool  aug_expand;
    bool  aug_crop;
    bool  aug_flip;
    int   test_size;                    // test: short side
    int   test_max_size;                // test: long side at most
    float score_thr;
    float nms_iou;
    int   nms_pre;
    int   max_per_img;
    // run
    int   ckpt_every;                   // updates between checkpoints (0: epoch ends only)
    int   eval_every;                   // epochs (0: only the last)
    int   seed;
    char  published_ap[CONFIG_MAX_TEXT];
    // [B]'s variant (the seed's AP-Loss-based code) and the input normalisation; the defaults
    // are [A]'s (docs/weights.md). Keep this block last.
    int   resnet_style;                 // enum config_resnet_style: bottleneck stride in the 3x3 (pytorch) or the 1x1 (caffe)
    bool  stem_bias;                    // conv1 has a bias ([B]'s R50)
    bool  p7_relu;                      // P7 = conv(ReLU(P6)) ([B])
    bool  p6_from_p5;                   // P6 = conv(P5) (torchvision); false: conv(C5) ([A])
    bool  anchor_plus_one;              // [B]'s Detectron-style anchors, +1 convention
    int   post_style;                   // enum config_post_style: mmdet ([A]) or seed ([B])
    bool  input_bgr;                    // network input channels B, G, R (else R, G, B)
    struct config_floats pixel_mean;    // subtracted from the 0..255 pixel values, in input channel order
    struct config_floats pixel_std;     // then divided by these
};

// one entry of the key table
struct config_key {
    const char * name;
    enum config_type type;
    size_t offset;                      // of the value in struct config
    const char * def;                   // the default, as it would be written in a file
    const char * const * choices;       // CONFIG_ENUM: NULL-terminated names
    double min, max;                    // numbers and list entries: inclusive range
    bool min_open;                      // the range excludes min (a float > min)
    bool empty_ok;                      // CONFIG_FLOAT: an empty value is 0 ("derive it");
                                        // lists: may be empty
    const char * help;
};

int  config_n_keys(void);
const struct config_key * config_key_at(int i);
const struct config_key * config_key_find(const char * name);   // NULL if none
// the name of value v of an enum key ("?" if out of range)
const char * config_choice(const char * key, int v);

void config_defaults(struct config * c);
// Reads a file (at most 1 MiB) into c, starting from the defaults, then config_check's it.
int  config_load(const char * path, struct config * c, char * err, size_t err_size);
// The same on text in memory (n bytes, NUL bytes are an error); name is used in messages.
int  config_parse(const char * text, size_t n, const char * name, struct config * c, char * err, size_t err_size);
// One override, "key=value" (spaces around '=' allowed). Checks that value alone; cross-key
// rules are config_check's, after the last override.
int  config_set(struct config * c, const char * kv, char * err, size_t err_size);
// Rules between keys: rank_group divides batch, batch x accum <= 65536, lr_steps increasing,
// test_max_size >= test_size, size a multiple of 32, at most ANCHORS_MAX_PER_LOC anchors per
// location, nothing frozen in the small backbone (it trains from scratch). Steps after the last
// epoch are allowed (they never apply), so `epochs=2` works on any recipe.
int  config_check(const struct config * c, char * err, size_t err_size);

struct config_derived {
    int64_t n_images;                   // training images (the dataset's)
    int     n_classes;                  // the dataset's
    int     n_anchors;                  // per location: anchor ratios x scales per octave
    int     eff_batch;                  // batch * accum: images per update
    int64_t iters_per_epoch;            // ceil(n_images / eff_batch)
    int64_t total_iters;                // iters_per_epoch * epochs
    int64_t sb_period;                  // = iters_per_epoch
    float   lr;                         // the explicit lr, or base_lr * eff_batch / base_batch
    bool    lr_scaled;                  // lr came from base_lr (not given)
};
int  config_derive(const struct config * c, int64_t n_images, int n_classes, struct config_derived * d,
                   char * err, size_t err_size);
// The lr at update `iter` (0-based): step decay x0.1 at each of lr_steps (epoch boundaries),
// times [A]'s linear warmup over the first warmup_iters updates from warmup_ratio x lr.
double config_lr_at(const struct config * c, const struct config_derived * d, int64_t iter);
// anchors of the pyramid P3-P7 (strides 8..128) from the anchor keys
void config_anchors(const struct config * c, struct anchors_config * a);

// A table of every key, one `key = value  # help` line each (loadable by config_load), then
// the derived values as comments when d is not NULL.
void config_print(FILE * f, const struct config * c, const struct config_derived * d);
// every key with its type, default and help, one line each (for --help)
void config_print_help(FILE * f);
// value of key k of c as it is written in a file (shortest text that reads back the same)
void config_format_value(const struct config * c, const struct config_key * k, char * buf, size_t size);
// true if every key of a and b holds the same value
bool config_equal(const struct config * a, const struct config * b);

#endif // DETECTOR_CONFIG_H
