// weights.h - loading weights into the detector from this project's safetensors files or from
// PyTorch checkpoints (.pth, read in C by weights-pth.c), with the name maps of weights-map.h.
//
//     char err[512];
//     if (weights_load(m, be, "retinanet_r50.pth", WEIGHTS_AUTO, 0, stderr, err, sizeof err)) { puts(err); ... }
//     // stderr: "weights: retinanet_r50.pth: pth (zip, wrapper 'state_dict' of 3 keys), mmdet names:
//     //          320 tensors loaded, 53 num_batches_tracked dropped, 0 unused, 0 missing"
//
// What is checked, before any tensor is written (so a failed load leaves the model as it was):
//   - a checkpoint of a model this project does not build (DCN, FoveaBox, Faster R-CNN ...) is
//     refused, naming what it is;
//   - every expected model tensor (the whole model, or with backbone_only the "backbone."
//     ones) must be in the file with its exact shape; a shape mismatch is an error naming the
//     tensor (ours and the file's name) and both shapes; missing tensors are listed and are an
//     error;
//   - a file tensor that maps to one of our names the model does not have is an error (another
//     depth or architecture), except with backbone_only for names outside "backbone.";
//     tensors the map does not use (torchvision's fc.*) are listed as unused; num_batches_tracked
//     is dropped.
// Values of any float or integer dtype are converted to f32 and uploaded through the backend.
#ifndef DETECTOR_WEIGHTS_H
#define DETECTOR_WEIGHTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "alrp.h"
#include "model.h"
#include "weights-map.h"

enum weights_from { WEIGHTS_AUTO, WEIGHTS_OURS, WEIGHTS_TORCHVISION, WEIGHTS_MMDET, WEIGHTS_SEED };

// "auto", "ours", "torchvision", "mmdet", "seed" <-> the enum; parse returns 0 or -1
const char * weights_from_name(enum weights_from from);
int weights_from_parse(const char * s, enum weights_from * out);

// One tensor of a weights file under our name.
struct weights_entry {
    char name[ALRP_ST_MAX_NAME];            // ours (WMAP_MAPPED), else the file's
    const struct alrp_st_tensor * t;        // the file's tensor (its name is the file's)
    enum wmap_result what;
};

// A weights file opened and mapped: entries in the file's order.
struct weights_file {
    struct alrp_st_file * st;               // one of the two is set
    struct pth_file * pth;
    enum wmap_source source;                // resolved (AUTO guessed)
    char format[96];                        // "safetensors", "pth (zip, wrapper 'state_dict' of 3 keys, 'module.' removed)"
    struct weights_entry * e;
    int n;
    int n_mapped, n_dropped, n_unused;
};

// Opens path (safetensors or .pth, told apart by their first bytes), refuses other
// architectures, maps every name (AUTO: guessed from the names). 0, or -1 with one line in err.
int  weights_open(struct weights_file * w, const char * path, enum weights_from from, char * err, size_t err_size);
void weights_close(struct weights_file * w);
// the mapped entry of that name of ours, or NULL
const struct weights_entry * weights_find(const struct weights_file * w, const char * name);

// Loads path (.safetensors in our names, or .pth of the given source; AUTO guesses from the
// keys) into the model's placed tensors through be. backbone_only: only the backbone part is
// expected (train --weights BACKBONE: an ImageNet torchvision/mmdet backbone; fc.* and other
// non-backbone keys are reported as unused, not errors). Prints to log (may be NULL) one line
// with counts, and the unused and missing tensors (names); a shape mismatch is an error naming
// the tensor and both shapes. Returns 0 or -1 with one line in err.
int weights_load(struct model * m, struct alrp_backend * be, const char * path, enum weights_from from, int backbone_only,
                 FILE * log, char * err, size_t err_size);

#endif // DETECTOR_WEIGHTS_H
