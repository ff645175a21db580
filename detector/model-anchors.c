// model-anchors.c - RetinaNet anchors on the feature pyramid; the rules are in model-anchors.h.
#include "det-err.h"
#include "model-anchors.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF   // a*b+c as two roundings, as PyTorch computes it
#endif


int anchors_config_preset(struct anchors_config * c, int per_loc) {
    memset(c, 0, sizeof(*c));
    c->n_levels = 5;
    for (int l = 0; l < 5; l++) c->strides[l] = 8 << l;
    c->octave_base_scale = 4.0f;
    switch (per_loc) {
    case 6: c->scales_per_octave = 2; break;
    case 9: c->scales_per_octave = 3; break;
    case 2: c->scales_per_octave = 2; c->n_ratios = 1; c->ratios[0] = 1.0f; return 0;
    case 3: c->scales_per_octave = 3; c->n_ratios = 1; c->ratios[0] = 1.0f; return 0;
    default: return -1;
    }
    c->n_ratios = 3;
    c->ratios[0] = 0.5f;
    c->ratios[1] = 1.0f;
    c->ratios[2] = 2.0f;
    return 0;
}

int anchors_feat_size(int size, int stride) {
    return stride > 0 && size > 0 ? (int) (((int64_t) size + stride - 1) / stride) : 0;
}

static int anchors__check(const struct anchors_config * c, char * err, size_t err_size) {
    if (c->n_levels < 1 || c->n_levels > ANCHORS_MAX_LEVELS) {
        return det_errf(err, err_size, "anchors: %d levels (must be 1..%d)", c->n_levels, ANCHORS_MAX_LEVELS);
    }
    if (c->scales_per_octave < 1 || c->n_ratios < 1 || c->scales_per_octave * c->n_ratios > ANCHORS_MAX_PER_LOC) {
        return det_errf(err, err_size, "anchors: %d ratios x %d scales per octave (1..%d anchors per location)",
                            c->n_ratios, c->scales_per_octave, ANCHORS_MAX_PER_LOC);
    }
    if (!(c->octave_base_scale > 0.0f) || !isfinite(c->octave_base_scale)) {
        return det_errf(err, err_size, "anchors: octave_base_scale %g (must be > 0)",
                            (double) c->octave_base_scale);
    }
    for (int r = 0; r < c->n_ratios; r++) {
        if (!(c->ratios[r] > 0.0f) || !isfinite(c->ratios[r])) {
            return det_errf(err, err_size, "anchors: ratio %d is %g (must be > 0)", r, (double) c->ratios[r]);
        }
    }
    for (int l = 0; l < c->n_levels; l++) {
        if (c->strides[l] < 1 || c->strides[l] > (1 << 20)) {
            return det_errf(err, err_size, "anchors: stride %d at level %d (must be 1..%d)",
                                c->strides[l], l, 1 << 20);
        }
    }
    return 0;
}

int anchors_init(struct anchors * a, const struct anchors_config * c, const int * feat_h,
                 const int * feat_w, char * err, size_t err_size) {
    memset(a, 0, sizeof(*a));
    if (anchors__check(c, err, err_size)) return -1;
    const int per_loc = c->n_ratios * c->scales_per_octave;
    a->n_levels = c->n_levels;
    a->per_loc = per_loc;
    int64_t n = 0;
    for (int l = 0; l < c->n_levels; l++) {
        if (feat_h[l] < 1 || feat_w[l] < 1) {
            return det_errf(err, err_size, "anchors: level %d has a %d x %d feature map (must be >= 1 x 1)",
                                l, feat_h[l], feat_w[l]);
        }
        // shifts s * x must stay exact in float (< 2^24)
        if ((int64_t) c->strides[l] * feat_h[l] > (1 << 24) || (int64_t) c->strides[l] * feat_w[l] > (1 << 24)) {
            return det_errf(err, err_size, "anchors: level %d: %d x %d cells of stride %d exceed 2^24 pixels",
                                l, feat_h[l], feat_w[l], c->strides[l]);
        }
        a->stride[l] = c->strides[l];
        a->feat_h[l] = feat_h[l];
        a->feat_w[l] = feat_w[l];
        a->offset[l] = n;
        n += (int64_t) feat_h[l] * feat_w[l] * per_loc;
        if (n > INT32_MAX) {
            return det_errf(err, err_size, "anchors: more than %d anchors", INT32_MAX);
        }
    }
    a->offset[c->n_levels] = n;
    a->n = n;

    // the scales: numpy float64, then a float32 tensor
    float scales[ANCHORS_MAX_PER_LOC];
    for (int k = 0; k < c->scales_per_octave; k++) {
        double octave = pow(2.0, (double) k / (double) c->scales_per_octave);
        scales[k] = (float) (octave * (double) c->octave_base_scale);
    }
    double base_d[ANCHORS_MAX_LEVELS][ANCHORS_MAX_PER_LOC][4];   // [B]'s, before rounding
    for (int l = 0; l < c->n_levels; l++) {
        const float size = (float) c->strides[l];
        float lo[2] = { INFINITY, INFINITY }, hi[2] = { -INFINITY, -INFINITY };
        for (int r = 0; r < c->n_ratios; r++) {
            const float h_ratio = sqrtf(c->ratios[r]);
            const float w_ratio = 1.0f / h_ratio;
            for (int k = 0; k < c->scales_per_octave; k++) {
                const float w = size * w_ratio * scales[k];   // (size * w_ratio) * scale
                const float h = size * h_ratio * scales[k];
                float * b = a->base[l][r * c->scales_per_octave + k];
                if (c->plus_one) {
                    // [B]: reference window [0, 0, s - 1, s - 1], ratio then scale, double
                    const double sd = (double) c->strides[l], ctr = 0.5 * (sd - 1.0);
                    const double ws = sqrt(sd * sd / (double) c->ratios[r]), hs = ws * (double) c->ratios[r];
                    const double rx1 = ctr - 0.5 * (ws - 1.0), rx2 = ctr + 0.5 * (ws - 1.0);
                    const double ry1 = ctr - 0.5 * (hs - 1.0), ry2 = ctr + 0.5 * (hs - 1.0);
                    const double w1 = rx2 - rx1 + 1.0, h1 = ry2 - ry1 + 1.0;
                    const double cx = rx1 + 0.5 * (w1 - 1.0), cy = ry1 + 0.5 * (h1 - 1.0);
                    const double sc = (double) c->octave_base_scale * pow(2.0, (double) k / (double) c->scales_per_octave);
                    const double ws2 = w1 * sc, hs2 = h1 * sc;
                    double * e = base_d[l][r * c->scales_per_octave + k];
                    e[0] = cx - 0.5 * (ws2 - 1.0);
                    e[1] = cy - 0.5 * (hs2 - 1.0);
                    e[2] = cx + 0.5 * (ws2 - 1.0);
                    e[3] = cy + 0.5 * (hs2 - 1.0);
                    for (int q = 0; q < 4; q++) b[q] = (float) e[q];
                } else {
                    b[0] = 0.0f - 0.5f * w;
                    b[1] = 0.0f - 0.5f * h;
                    b[2] = 0.0f + 0.5f * w;
                    b[3] = 0.0f + 0.5f * h;
                }
                lo[0] = fminf(lo[0], b[0]); lo[1] = fminf(lo[1], b[1]);
                hi[0] = fmaxf(hi[0], b[2]); hi[1] = fmaxf(hi[1], b[3]);
            }
        }
        a->base_lo[l][0] = lo[0]; a->base_lo[l][1] = lo[1];
        a->base_hi[l][0] = hi[0]; a->base_hi[l][1] = hi[1];
    }

    a->boxes = (float *) malloc(sizeof(float) * 4 * (size_t) (n ? n : 1));
    a->centres = (float *) malloc(sizeof(float) * 2 * (size_t) (n ? n : 1));
    a->planes = (float *) malloc(sizeof(float) * 5 * (size_t) (n ? n : 1));
    if (!a->boxes || !a->centres || !a->planes) {
        anchors_free(a);
        return det_errf(err, err_size, "anchors: out of memory for %lld anchors", (long long) n);
    }
    // boxes (n, 4), centres (n, 2): level, row y, column x, base anchor
    for (int l = 0; l < c->n_levels; l++) {
        const int s = a->stride[l];
        for (int y = 0; y < a->feat_h[l]; y++) {
            const float sy = (float) (s * y);
            for (int x = 0; x < a->feat_w[l]; x++) {
                const float sx = (float) (s * x);
                for (int k = 0; k < per_loc; k++) {
                    const int64_t i = anchors_index(a, l, y, x, k);
                    const float * b = a->base[l][k];
                    float * o = a->boxes + 4 * i;
                    if (c->plus_one) {
                        const double * e = base_d[l][k];
                        o[0] = (float) (e[0] + (double) sx);
                        o[1] = (float) (e[1] + (double) sy);
                        o[2] = (float) (e[2] + (double) sx);
                        o[3] = (float) (e[3] + (double) sy);
                    } else {
                        o[0] = b[0] + sx;
                        o[1] = b[1] + sy;
                        o[2] = b[2] + sx;
                        o[3] = b[3] + sy;
                    }
                    a->centres[2 * i + 0] = (o[0] + o[2]) / 2.0f;
                    a->centres[2 * i + 1] = (o[1] + o[3]) / 2.0f;
                    for (int c = 0; c < 4; c++) a->planes[c * n + i] = o[c];
                    a->planes[4 * n + i] = (o[2] - o[0]) * (o[3] - o[1]);
                }
            }
        }
    }
    return 0;
}

int anchors_init_image(struct anchors * a, const struct anchors_config * c, int img_h, int img_w,
                       char * err, size_t err_size) {
    memset(a, 0, sizeof(*a));
    if (anchors__check(c, err, err_size)) return -1;
    if (img_h < 1 || img_w < 1) {
        return det_errf(err, err_size, "anchors: image of %d x %d pixels (must be >= 1 x 1)", img_h, img_w);
    }
    int fh[ANCHORS_MAX_LEVELS], fw[ANCHORS_MAX_LEVELS];
    for (int l = 0; l < c->n_levels; l++) {
        fh[l] = anchors_feat_size(img_h, c->strides[l]);
        fw[l] = anchors_feat_size(img_w, c->strides[l]);
    }
    return anchors_init(a, c, fh, fw, err, err_size);
}

void anchors_free(struct anchors * a) {
    free(a->boxes);
    free(a->centres);
    free(a->planes);
    a->boxes = NULL;
    a->centres = NULL;
    a->planes = NULL;
    a->n = 0;
}
