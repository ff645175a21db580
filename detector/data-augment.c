// data-augment.c - see data-augment.h: [A]'s training augmentation.
#include "data-augment.h"
#include "det-err.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void augment_params_default(struct augment_params * p) {
    memset(p, 0, sizeof(*p));
    p->photometric = true;
    p->brightness_delta = 32.0f;
    p->contrast_lo = 0.5f; p->contrast_hi = 1.5f;
    p->saturation_lo = 0.5f; p->saturation_hi = 1.5f;
    p->hue_delta = 18.0f;
    p->channel_swap = true;
    p->expand = true;
    p->expand_prob = 0.5f;
    p->expand_ratio_lo = 1.0f; p->expand_ratio_hi = 4.0f;
    p->crop = true;
    static const float modes[7] = { 1.0f, 0.1f, 0.3f, 0.5f, 0.7f, 0.9f, 0.0f };
    p->crop_n_modes = 7;
    memcpy(p->crop_modes, modes, sizeof(modes));
    p->crop_min_size = 0.3f;
    p->crop_tries = 50;
    p->flip = true;
    p->flip_prob = 0.5f;
}

void augment_params_none(struct augment_params * p) {
    augment_params_default(p);
    p->photometric = p->channel_swap = p->expand = p->crop = p->flip = false;
}

// numpy's random.uniform(lo, hi) and random.randint(2)
static double data__unif(struct alrp_rng * r, double lo, double hi) { return lo + (hi - lo) * alrp_rng_uniform(r); }
static int    data__coin(struct alrp_rng * r) { return alrp_rng_uniform(r) < 0.5; }

// OpenCV's float RGB -> HSV (H in degrees) and back
static void data__rgb2hsv(float * p) {
    float r = p[0], g = p[1], b = p[2];
    float v = fmaxf(fmaxf(r, g), b), vmin = fminf(fminf(r, g), b), diff = v - vmin;
    float s = diff / (fabsf(v) + FLT_EPSILON), h;
    diff = (float) (60.0 / (diff + FLT_EPSILON));
    if (v == r) h = (g - b) * diff;
    else if (v == g) h = (b - r) * diff + 120.0f;
    else h = (r - g) * diff + 240.0f;
    if (h < 0) h += 360.0f;
    p[0] = h; p[1] = s; p[2] = v;
}

static void data__hsv2rgb(float * p) {
    float h = p[0], s = p[1], v = p[2];
    if (s == 0) { p[0] = p[1] = p[2] = v; return; }
    static const int sector_rgb[6][3] = { { 0, 3, 1 }, { 2, 0, 1 }, { 1, 0, 3 }, { 1, 2, 0 }, { 3, 1, 0 }, { 0, 1, 2 } };
    h *= 6.0f / 360.0f;
    if (h < 0 || h >= 6) h -= 6.0f * floorf(h / 6.0f);   // OpenCV's loops, without looping
    int sector = (int) floorf(h);
    h -= (float) sector;
    if (sector < 0 || sector >= 6) { sector = 0; h = 0.0f; }
    float tab[4] = { v, v * (1.0f - s), v * (1.0f - s * h), v * (1.0f - s + s * h) };
    p[0] = tab[sector_rgb[sector][0]];
    p[1] = tab[sector_rgb[sector][1]];
    p[2] = tab[sector_rgb[sector][2]];
}

static void data__photometric(float * img, size_t n_px, const struct augment_params * p, struct alrp_rng * r) {
    if (data__coin(r)) {
        float d = (float) data__unif(r, -p->brightness_delta, p->brightness_delta);
        for (size_t i = 0; i < n_px * 3; i++) img[i] += d;
    }
    int mode = data__coin(r);   // numpy randint(2): 1 = contrast first
    if (mode == 1 && data__coin(r)) {
        float a = (float) data__unif(r, p->contrast_lo, p->contrast_hi);
        for (size_t i = 0; i < n_px * 3; i++) img[i] *= a;
    }
    int sat = data__coin(r);
    float sa = sat ? (float) data__unif(r, p->saturation_lo, p->saturation_hi) : 1.0f;
    int hue = data__coin(r);
    float hd = hue ? (float) data__unif(r, -p->hue_delta, p->hue_delta) : 0.0f;
    for (size_t i = 0; i < n_px; i++) {
        float * q = img + i * 3;
        data__rgb2hsv(q);
        if (sat) q[1] *= sa;
        if (hue) {
            q[0] += hd;
            if (q[0] > 360.0f) q[0] -= 360.0f;
            if (q[0] < 0.0f) q[0] += 360.0f;
        }
        data__hsv2rgb(q);
    }
    if (mode == 0 && data__coin(r)) {
        float a = (float) data__unif(r, p->contrast_lo, p->contrast_hi);
        for (size_t i = 0; i < n_px * 3; i++) img[i] *= a;
    }
    if (p->channel_swap && data__coin(r)) {
        int perm[3] = { 0, 1, 2 };   // Fisher-Yates, as numpy's permutation
        for (int i = 2; i > 0; i--) {
            int j = (int) (alrp_rng_uniform(r) * (i + 1));
            int t = perm[i]; perm[i] = perm[j]; perm[j] = t;
        }
        for (size_t i = 0; i < n_px; i++) {
            float * q = img + i * 3, t[3] = { q[perm[0]], q[perm[1]], q[perm[2]] };
            q[0] = t[0]; q[1] = t[1]; q[2] = t[2];
        }
    }
}

// mmdet's bbox_overlaps (iou, no +1, eps 1e-6) of the patch with one box, in double
static double data__iou(const double * a, const float * b) {
    double w = fmin(a[2], b[2]) - fmax(a[0], b[0]), h = fmin(a[3], b[3]) - fmax(a[1], b[1]);
    if (w <= 0 || h <= 0) return 0.0;
    double inter = w * h, u = (a[2] - a[0]) * (a[3] - a[1]) + ((double) b[2] - b[0]) * ((double) b[3] - b[1]) - inter;
    return inter / fmax(u, 1e-6);
}

// what the resize reads: the float image placed at (left, top) on a mean-filled canvas, seen
// through the crop window starting at (ox, oy)
struct data__src { const float * img; int w, h, left, top, ox, oy; float fill[3]; };

static void data__fetch(const void * ctx, int x, int y, float rgb[3]) {
    const struct data__src * s = (const struct data__src *) ctx;
    int ix = x + s->ox - s->left, iy = y + s->oy - s->top;
    if (ix >= 0 && iy >= 0 && ix < s->w && iy < s->h) {
        const float * q = s->img + ((size_t) iy * s->w + ix) * 3;
        rgb[0] = q[0]; rgb[1] = q[1]; rgb[2] = q[2];
    } else {
        rgb[0] = s->fill[0]; rgb[1] = s->fill[1]; rgb[2] = s->fill[2];
    }
}

int augment_train(const struct image * in, int n_gt, const float * boxes, const int32_t * cls,
                  const struct augment_params * p, struct alrp_rng * rng, int size,
                  const struct image_norm * nm, float * out_chw, float * out_boxes, int32_t * out_cls,
                  int * out_n, char * err, size_t err_size) {
    if (out_n) *out_n = 0;
    if (!in || !in->rgb || in->w < 1 || in->h < 1) return det_errf(err, err_size, "augment: no image");
    if (size < 1 || size > 16384) return det_errf(err, err_size, "augment: size %d is not in 1..16384", size);
    if (n_gt < 0 || (n_gt > 0 && (!boxes || !cls || !out_boxes || !out_cls)))
        return det_errf(err, err_size, "augment: bad gt arrays (n_gt %d)", n_gt);
    if (!p || !rng || !nm || !out_chw || !out_n) return det_errf(err, err_size, "augment: missing argument");
    for (int i = 0; i < 4 * n_gt; i++)
        if (!isfinite(boxes[i])) return det_errf(err, err_size, "augment: gt %d has a non-finite coordinate", i / 4);
    const int w = in->w, h = in->h;
    const size_t n_px = (size_t) w * h;
    float * img = (float *) malloc(sizeof(float) * n_px * 3);
    float * res = (float *) malloc(sizeof(float) * (size_t) size * size * 3);
    float * bx = (float *) malloc(sizeof(float) * 4 * (size_t) (n_gt ? n_gt : 1));
    int32_t * bc = (int32_t *) malloc(sizeof(int32_t) * (size_t) (n_gt ? n_gt : 1));
    if (!img || !res || !bx || !bc) {
        free(img); free(res); free(bx); free(bc);
        return det_errf(err, err_size, "augment: out of memory (%d x %d image)", w, h);
    }
    for (size_t i = 0; i < n_px * 3; i++) img[i] = (float) in->rgb[i];
    if (n_gt) memcpy(bx, boxes, sizeof(float) * 4 * (size_t) n_gt);
    if (n_gt) memcpy(bc, cls, sizeof(int32_t) * (size_t) n_gt);
    int n = n_gt;

    if (p->photometric) data__photometric(img, n_px, p, rng);

    // Expand: the canvas (cw x ch) with the image at (left, top)
    struct data__src src;
    memset(&src, 0, sizeof(src));
    src.img = img; src.w = w; src.h = h;
    for (int c = 0; c < 3; c++) src.fill[c] = nm->mean[nm->bgr ? 2 - c : c];
    int cw = w, ch = h;
    if (p->expand && !(alrp_rng_uniform(rng) > p->expand_prob)) {
        double ratio = data__unif(rng, p->expand_ratio_lo, p->expand_ratio_hi);
        int left = (int) data__unif(rng, 0, w * ratio - w), top = (int) data__unif(rng, 0, h * ratio - h);
        cw = (int) (w * ratio);
        ch = (int) (h * ratio);
        if (cw < left + w) cw = left + w;   // (cannot happen; keeps the image on the canvas)
        if (ch < top + h) ch = top + h;
        src.left = left;
        src.top = top;
        for (int i = 0; i < n; i++) {
            bx[4 * i + 0] += (float) left; bx[4 * i + 1] += (float) top;
            bx[4 * i + 2] += (float) left; bx[4 * i + 3] += (float) top;
        }
    }

    // MinIoURandomCrop on the canvas: the window [x0, x1) x [y0, y1)
    int x0 = 0, y0 = 0, x1 = cw, y1 = ch;
    if (p->crop && n > 0 && p->crop_n_modes > 0) {
        const int n_modes = p->crop_n_modes > AUGMENT_MAX_MODES ? AUGMENT_MAX_MODES : p->crop_n_modes;
        int done = 0;
        for (int m = 0; m < 1000 && !done; m++) {
            int mi = (int) (alrp_rng_uniform(rng) * n_modes);
            float mode = p->crop_modes[mi];
            if (mode == 1.0f) break;
            double min_iou = mode;
            for (int t = 0; t < p->crop_tries; t++) {
                double nw = data__unif(rng, p->crop_min_size * cw, cw), nh = data__unif(rng, p->crop_min_size * ch, ch);
                if (nh / nw < 0.5 || nh / nw > 2) continue;
                double lo = cw - nw, left = lo + (1.0 - lo) * alrp_rng_uniform(rng);
                lo = ch - nh;
                double top = lo + (1.0 - lo) * alrp_rng_uniform(rng);
                double patch[4] = { (double) (int) left, (double) (int) top, (double) (int) (left + nw), (double) (int) (top + nh) };
                if (patch[2] == patch[0] || patch[3] == patch[1]) continue;
                int ok = 1, any = 0;
                for (int i = 0; i < n && ok; i++) if (data__iou(patch, bx + 4 * i) < min_iou) ok = 0;
                if (!ok) continue;
                for (int i = 0; i < n; i++) {
                    const float * b = bx + 4 * i;
                    float cx = (b[0] + b[2]) / 2, cy = (b[1] + b[3]) / 2;
                    if (cx > patch[0] && cy > patch[1] && cx < patch[2] && cy < patch[3]) any = 1;
                }
                if (!any) continue;
                int k = 0;
                for (int i = 0; i < n; i++) {
                    const float * b = bx + 4 * i;
                    float cx = (b[0] + b[2]) / 2, cy = (b[1] + b[3]) / 2;
                    if (!(cx > patch[0] && cy > patch[1] && cx < patch[2] && cy < patch[3])) continue;
                    float nb[4] = { fmaxf(b[0], (float) patch[0]), fmaxf(b[1], (float) patch[1]),
                                    fminf(b[2], (float) patch[2]), fminf(b[3], (float) patch[3]) };
                    bx[4 * k + 0] = nb[0] - (float) patch[0]; bx[4 * k + 1] = nb[1] - (float) patch[1];
                    bx[4 * k + 2] = nb[2] - (float) patch[0]; bx[4 * k + 3] = nb[3] - (float) patch[1];
                    bc[k] = bc[i];
                    k++;
                }
                n = k;
                x0 = (int) patch[0]; y0 = (int) patch[1];
                x1 = (int) patch[2] < cw ? (int) patch[2] : cw;
                y1 = (int) patch[3] < ch ? (int) patch[3] : ch;
                done = 1;
                break;
            }
        }
    }
    src.ox = x0;
    src.oy = y0;
    const int rw = x1 - x0, rh = y1 - y0;

    // Resize to size x size, boxes scaled and clipped
    image_resize_bilinear_f(&src, data__fetch, rw, rh, res, size, size);
    const float sw = (float) ((double) size / rw), sh = (float) ((double) size / rh), S = (float) size;
    for (int i = 0; i < n; i++) {
        float * b = bx + 4 * i;
        b[0] = fminf(fmaxf(b[0] * sw, 0.0f), S); b[2] = fminf(fmaxf(b[2] * sw, 0.0f), S);
        b[1] = fminf(fmaxf(b[1] * sh, 0.0f), S); b[3] = fminf(fmaxf(b[3] * sh, 0.0f), S);
    }

    // Normalize, RandomFlip, to CHW
    int flip = p->flip && alrp_rng_uniform(rng) < p->flip_prob;
    const size_t plane = (size_t) size * size;
    for (int c = 0; c < 3; c++) {
        const int sc = nm->bgr ? 2 - c : c;
        const float mean = nm->mean[c], inv = (float) (1.0 / (double) nm->std[c]);
        float * o = out_chw + c * plane;
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++) {
                int xs = flip ? size - 1 - x : x;
                o[(size_t) y * size + x] = (res[((size_t) y * size + xs) * 3 + sc] - mean) * inv;
            }
    }
    for (int i = 0; i < n; i++) {
        float * b = bx + 4 * i;
        float a = b[0], d = b[2];
        if (flip) { b[0] = S - d; b[2] = S - a; }
        memcpy(out_boxes + 4 * i, b, sizeof(float) * 4);
        out_cls[i] = bc[i];
    }
    *out_n = n;
    free(img); free(res); free(bx); free(bc);
    return 0;
}

int augment_to_image(const float * chw, int w, int h, const struct image_norm * nm, struct image * im) {
    if (image_alloc(im, w, h)) return -1;
    const size_t plane = (size_t) w * h;
    for (int c = 0; c < 3; c++) {
        const int dc = nm->bgr ? 2 - c : c;
        for (size_t i = 0; i < plane; i++) {
            float v = chw[c * plane + i] * nm->std[c] + nm->mean[c];
            v = v < 0 ? 0 : v > 255 ? 255 : v;
            im->rgb[i * 3 + dc] = (uint8_t) (v + 0.5f);
        }
    }
    return 0;
}
