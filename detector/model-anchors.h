// model-anchors.h - RetinaNet anchors on the feature pyramid (P3-P7), made the way mmdetection
// v2's AnchorGenerator makes them for the official aLRP Loss configs.
//
//     struct anchors_config c;  anchors_config_preset(&c, 6);     // or 2, 3, 9
//     struct anchors a;
//     if (anchors_init_image(&a, &c, 512, 512, err, sizeof(err)) != 0) { puts(err); ... }
//     // a.boxes (a.n, 4), a.centres (a.n, 2), a.planes (5, a.n); level l is
//     // [a.offset[l], a.offset[l + 1])
//     anchors_free(&a);
//
// Level l has stride s_l and a feature map of H_l x W_l cells. Its base anchors are centred on
// (0, 0): centre offset 0, so every anchor is centred on the top-left corner of its cell (at
// (s_l x, s_l y)), with no +1 and no rounding. One base anchor per (ratio, scale) pair, ratio
// outer and scale inner (index = r * scales_per_octave + k, mmdet's "scale_major" order):
//     scale_k = octave_base_scale * 2^(k / scales_per_octave)    (double, then float)
//     h_r = sqrt(ratio_r), w_r = 1 / h_r                          (float; ratio = height / width)
//     w = (s_l * w_r) * scale_k, h = (s_l * h_r) * scale_k        (float, in this order)
//     base = (-w / 2, -h / 2, w / 2, h / 2)
// The anchors of level l are the base anchors shifted by (s_l x, s_l y, s_l x, s_l y) (a float
// add), in the order: row y, column x, base anchor. Levels follow each other (P3 first).
// Everything is float arithmetic in PyTorch's order, so the anchors agree bit for bit with the
// PyTorch code. Centres are (x1 + x2) / 2 and (y1 + y2) / 2 in float, as the ATSS assigner
// computes them (they may differ from s_l x by a rounding).
//
// [B]'s anchors (plus_one, the seed's AP-Loss-based code; its generate_anchors without the
// rounding of Detectron's): the reference window of level l is [0, 0, s_l - 1, s_l - 1] with the
// +1 convention (w = x2 - x1 + 1, centre x1 + (w - 1) / 2 = (s_l - 1) / 2); for each ratio r,
// ws = sqrt(s_l^2 / r), hs = ws r, then each scale k multiplies ws, hs by scale_k and the anchor
// is centre -+ (ws - 1) / 2, centre -+ (hs - 1) / 2. All in double; the shifts s_l x are added in
// double and the result rounded to float once. Order as above (ratio outer, scale inner).
//
// Feature map sizes: ResNet + FPN halve the input with ceil at every stride-2 layer, so a
// (padded) input of H x W gives ceil(H / s_l) x ceil(W / s_l) cells at level l.

#ifndef DET_MODEL_ANCHORS_H
#define DET_MODEL_ANCHORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ANCHORS_MAX_LEVELS  8
#define ANCHORS_MAX_PER_LOC 16    // base anchors per location (ratios x scales)

struct anchors_config {
    int   n_levels;                        // 5 for P3-P7
    int   strides[ANCHORS_MAX_LEVELS];     // 8, 16, 32, 64, 128; also the base size
    float octave_base_scale;               // 4
    int   scales_per_octave;               // 2 or 3
    int   n_ratios;
    float ratios[ANCHORS_MAX_PER_LOC];     // height / width
    bool  plus_one;                        // [B]'s Detectron-style anchors (below); false: [A]'s
};

// The configs of the recipes, by anchors per location:
//   6: ratios 0.5, 1, 2 x scales_per_octave 2 (aLRP and AP Loss with the MaxIoU assigner)
//   2: ratio 1, scales_per_octave 2 (aLRP + ATSS at scale 500)
//   3: ratio 1, scales_per_octave 3 (aLRP + ATSS at scale 800)
//   9: ratios 0.5, 1, 2 x scales_per_octave 3 (mmdetection's RetinaNet default, the focal baseline)
// all with octave_base_scale 4 and strides 8..128. Returns 0, or -1 for another count.
int anchors_config_preset(struct anchors_config * c, int per_loc);

struct anchors {
    int     n_levels;
    int     per_loc;                                  // A: base anchors per location
    int     stride[ANCHORS_MAX_LEVELS];
    int     feat_h[ANCHORS_MAX_LEVELS];
    int     feat_w[ANCHORS_MAX_LEVELS];
    int64_t offset[ANCHORS_MAX_LEVELS + 1];           // first anchor of each level; offset[n_levels] = n
    float   base[ANCHORS_MAX_LEVELS][ANCHORS_MAX_PER_LOC][4];   // base anchors of each level
    float   base_lo[ANCHORS_MAX_LEVELS][2];           // min over the base anchors of x1, y1
    float   base_hi[ANCHORS_MAX_LEVELS][2];           // max over the base anchors of x2, y2
    int64_t n;                                        // all anchors
    float * boxes;                                    // (n, 4) x1 y1 x2 y2
    float * centres;                                  // (n, 2) cx cy
    float * planes;                                   // (5, n): x1, y1, x2, y2 and area
                                                      // (x2 - x1) * (y2 - y1), one plane each,
                                                      // for loops over many anchors at a time
};

// Anchors for the given feature sizes (n_levels of them, level order). Returns 0, or -1 with a
// one-line message (bad config, sizes < 1, more than INT32_MAX anchors, out of memory); on
// error *a holds nothing to free.
int  anchors_init(struct anchors * a, const struct anchors_config * c, const int * feat_h,
                  const int * feat_w, char * err, size_t err_size);
// Same, with the feature sizes of an input of img_h x img_w pixels (anchors_feat_size).
int  anchors_init_image(struct anchors * a, const struct anchors_config * c, int img_h, int img_w,
                        char * err, size_t err_size);
void anchors_free(struct anchors * a);

// ceil(size / stride): cells of a level for an input side of size pixels
int  anchors_feat_size(int size, int stride);
// the anchor index of (level, row y, column x, base anchor k)
static inline int64_t anchors_index(const struct anchors * a, int level, int y, int x, int k) {
    return a->offset[level] + ((int64_t) y * a->feat_w[level] + x) * a->per_loc + k;
}

#endif
