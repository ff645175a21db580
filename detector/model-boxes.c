// model-boxes.c - box decoding, clipping, rescaling and NMS; the rules are in model-boxes.h.
// Needs alrp.h's implementation (the box coder) in the same program.
#include "det-err.h"
#include "model-boxes.h"

#include "alrp.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF   // a*b+c as two roundings, as PyTorch computes it
#endif


void boxes_decode(int64_t n, const float * anchors, const float * deltas, const float * stds,
                  float * boxes) {
    alrp_box_decode_f32(n, anchors, deltas, NULL, stds, ALRP_BOX_MAX_RATIO, boxes);
}

void boxes_clip(int64_t n, float * boxes, float img_w, float img_h) {
    for (int64_t i = 0; i < n; i++) {
        float * b = boxes + 4 * i;
        b[0] = fminf(fmaxf(b[0], 0.0f), img_w);
        b[1] = fminf(fmaxf(b[1], 0.0f), img_h);
        b[2] = fminf(fmaxf(b[2], 0.0f), img_w);
        b[3] = fminf(fmaxf(b[3], 0.0f), img_h);
    }
}

void boxes_rescale(int64_t n, float * boxes, float scale_w, float scale_h) {
    for (int64_t i = 0; i < n; i++) {
        float * b = boxes + 4 * i;
        b[0] = b[0] / scale_w;
        b[1] = b[1] / scale_h;
        b[2] = b[2] / scale_w;
        b[3] = b[3] / scale_h;
    }
}

// ============================================================================================
// ===== NMS
// ============================================================================================

struct boxes__key {
    float   score;
    int32_t cls;
    int64_t i;
};

// score descending, then index: the order of a stable descending sort
static int boxes__by_score(const void * x_, const void * y_) {
    const struct boxes__key * x = (const struct boxes__key *) x_, * y = (const struct boxes__key *) y_;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

// class, then the score order
static int boxes__by_class(const void * x_, const void * y_) {
    const struct boxes__key * x = (const struct boxes__key *) x_, * y = (const struct boxes__key *) y_;
    if (x->cls != y->cls) return x->cls < y->cls ? -1 : 1;
    return boxes__by_score(x_, y_);
}

static int boxes__check(int64_t n, const float * boxes, const float * scores, const int64_t * keep,
                        char * err, size_t err_size) {
    if (n < 0 || (n > 0 && (!boxes || !scores || !keep))) {
        return det_errf(err, err_size, "nms: %lld boxes and missing arrays", (long long) n);
    }
    for (int64_t i = 0; i < n; i++) {
        if (isnan(scores[i])) return det_errf(err, err_size, "nms: box %lld has a NaN score", (long long) i);
        for (int c = 0; c < 4; c++) {
            if (isnan(boxes[4 * i + c]))
                return det_errf(err, err_size, "nms: box %lld has a NaN coordinate", (long long) i);
        }
    }
    return 0;
}

// Greedy NMS over the m boxes key[0..m) (already in visiting order); b (n, 4) and area (n,) are
// indexed by key[].i. Marks the kept ones in kept[key[].i]; returns their count.
static int64_t boxes__greedy(int64_t m, const struct boxes__key * key, const float * b, const float * area,
                             double iou_thr, uint8_t * supp, uint8_t * kept) {
    int64_t n_keep = 0;
    for (int64_t p = 0; p < m; p++) supp[p] = 0;
    for (int64_t p = 0; p < m; p++) {
        if (supp[p]) continue;
        const int64_t i = key[p].i;
        kept[i] = 1;
        n_keep++;
        const float * bi = b + 4 * i;
        const float ai = area[i];
        for (int64_t q = p + 1; q < m; q++) {
            if (supp[q]) continue;
            const int64_t j = key[q].i;
            const float * bj = b + 4 * j;
            const float w = fmaxf(fminf(bi[2], bj[2]) - fmaxf(bi[0], bj[0]), 0.0f);
            const float h = fmaxf(fminf(bi[3], bj[3]) - fmaxf(bi[1], bj[1]), 0.0f);
            const float inter = w * h;
            const float iou = inter / ((ai + area[j]) - inter);
            if ((double) iou > iou_thr) supp[q] = 1;
        }
    }
    return n_keep;
}

// NMS of boxes b (n, 4); classes NULL = one class. by_class: the class-by-class form (only valid
// when the classes cannot overlap). keep receives the kept indices in score order.
static int64_t boxes__nms(int64_t n, const float * b, const float * scores, const int32_t * classes, int by_class,
                          double iou_thr, int64_t * keep, char * err, size_t err_size) {
    if (n == 0) return 0;
    struct boxes__key * key = (struct boxes__key *) malloc(sizeof(struct boxes__key) * (size_t) n);
    float * area = (float *) malloc(sizeof(float) * (size_t) n);
    uint8_t * supp = (uint8_t *) malloc((size_t) n);
    uint8_t * kept = (uint8_t *) calloc((size_t) n, 1);
    int64_t n_keep = -1;
    if (!key || !area || !supp || !kept) {
        det_errf(err, err_size, "nms: out of memory for %lld boxes", (long long) n);
        goto done;
    }
    for (int64_t i = 0; i < n; i++) {
        key[i].score = scores[i];
        key[i].cls = classes ? classes[i] : 0;
        key[i].i = i;
        area[i] = (b[4 * i + 2] - b[4 * i + 0]) * (b[4 * i + 3] - b[4 * i + 1]);
    }
    if (by_class) {
        qsort(key, (size_t) n, sizeof(*key), boxes__by_class);
        n_keep = 0;
        for (int64_t s = 0; s < n;) {
            int64_t e = s + 1;
            while (e < n && key[e].cls == key[s].cls) e++;
            n_keep += boxes__greedy(e - s, key + s, b, area, iou_thr, supp, kept);
            s = e;
        }
        qsort(key, (size_t) n, sizeof(*key), boxes__by_score);
    } else {
        qsort(key, (size_t) n, sizeof(*key), boxes__by_score);
        n_keep = boxes__greedy(n, key, b, area, iou_thr, supp, kept);
    }
    int64_t k = 0;
    for (int64_t p = 0; p < n; p++) if (kept[key[p].i]) keep[k++] = key[p].i;
done:
    free(key);
    free(area);
    free(supp);
    free(kept);
    return n_keep;
}

int64_t boxes_nms(int64_t n, const float * boxes, const float * scores, double iou_thr,
                  int64_t * keep, char * err, size_t err_size) {
    if (boxes__check(n, boxes, scores, keep, err, err_size)) return -1;
    return boxes__nms(n, boxes, scores, NULL, 0, iou_thr, keep, err, err_size);
}

// boxes moved by class * (max coordinate + 1) -> moved (n, 4); *disjoint = 1 if the classes
// cannot overlap after the move
static void boxes__offset(int64_t n, const float * boxes, const int32_t * classes, float * moved, int * disjoint) {
    float lo = INFINITY, hi = -INFINITY;
    int32_t max_cls = 0;
    for (int64_t i = 0; i < 4 * n; i++) { lo = fminf(lo, boxes[i]); hi = fmaxf(hi, boxes[i]); }
    for (int64_t i = 0; i < n; i++) max_cls = classes[i] > max_cls ? classes[i] : max_cls;
    const float step = hi + 1.0f;
    for (int64_t i = 0; i < n; i++) {
        const float off = (float) classes[i] * step;
        for (int c = 0; c < 4; c++) moved[4 * i + c] = boxes[4 * i + c] + off;
    }
    // class c lies in [c * step, c * step + hi]; a gap of 1 between classes stays a gap while the
    // moved coordinates are exact to well under 1 (below 2^22)
    *disjoint = lo >= 0.0f && isfinite(hi) && (double) step * (max_cls + 1) < 4194304.0;
}

// The first max_keep boxes that class-wise NMS keeps, without running it to the end: a box is
// kept iff no kept box of its class that comes before it in score order overlaps it by more
// than iou_thr, so visiting every box once in score order and comparing it with the kept boxes
// of its class gives the same kept boxes in the same order, and the visit can stop at the
// max_keep-th. b are the moved boxes (classes disjoint).
static int64_t boxes__nms_top(int64_t n, const float * b, const float * scores, const int32_t * classes,
                              double iou_thr, int64_t max_keep, int64_t * keep, char * err, size_t err_size) {
    struct boxes__key * key = (struct boxes__key *) malloc(sizeof(struct boxes__key) * (size_t) n);
    float * kept_box = (float *) malloc(sizeof(float) * 5 * (size_t) max_keep);   // x1 y1 x2 y2 area
    int32_t * kept_cls = (int32_t *) malloc(sizeof(int32_t) * (size_t) max_keep);
    int64_t n_keep = -1;
    if (!key || !kept_box || !kept_cls) {
        det_errf(err, err_size, "nms: out of memory for %lld boxes", (long long) n);
        goto done;
    }
    for (int64_t i = 0; i < n; i++) { key[i].score = scores[i]; key[i].cls = classes[i]; key[i].i = i; }
    qsort(key, (size_t) n, sizeof(*key), boxes__by_score);
    n_keep = 0;
    for (int64_t p = 0; p < n && n_keep < max_keep; p++) {
        const int64_t j = key[p].i;
        const float * bj = b + 4 * j;
        const float aj = (bj[2] - bj[0]) * (bj[3] - bj[1]);
        int suppressed = 0;
        for (int64_t q = 0; q < n_keep && !suppressed; q++) {
            if (kept_cls[q] != key[p].cls) continue;
            const float * bi = kept_box + 5 * q;   // the kept box is the one that suppresses: same operand order as boxes__greedy
            const float w = fmaxf(fminf(bi[2], bj[2]) - fmaxf(bi[0], bj[0]), 0.0f);
            const float h = fmaxf(fminf(bi[3], bj[3]) - fmaxf(bi[1], bj[1]), 0.0f);
            const float inter = w * h;
            const float iou = inter / ((bi[4] + aj) - inter);
            suppressed = (double) iou > iou_thr;
        }
        if (suppressed) continue;
        memcpy(kept_box + 5 * n_keep, bj, sizeof(float) * 4);
        kept_box[5 * n_keep + 4] = aj;
        kept_cls[n_keep] = key[p].cls;
        keep[n_keep++] = j;
    }
done:
    free(key);
    free(kept_box);
    free(kept_cls);
    return n_keep;
}

static int64_t boxes__batched(int64_t n, const float * boxes, const float * scores, const int32_t * classes,
                              double iou_thr, int64_t max_keep, int64_t * keep, int naive, char * err, size_t err_size) {
    if (boxes__check(n, boxes, scores, keep, err, err_size)) return -1;
    if (n > 0 && !classes) return det_errf(err, err_size, "nms: no classes");
    for (int64_t i = 0; i < n; i++) {
        if (classes[i] < 0)
            return det_errf(err, err_size, "nms: box %lld has class %d (must be >= 0)",
                              (long long) i, (int) classes[i]);
    }
    if (n == 0) return 0;
    float * moved = (float *) malloc(sizeof(float) * 4 * (size_t) n);
    if (!moved) return det_errf(err, err_size, "nms: out of memory for %lld boxes", (long long) n);
    int disjoint;
    boxes__offset(n, boxes, classes, moved, &disjoint);
    int64_t r = max_keep > 0 && max_keep < n && disjoint && !naive
                    ? boxes__nms_top(n, moved, scores, classes, iou_thr, max_keep, keep, err, err_size)
                    : boxes__nms(n, moved, scores, classes, disjoint && !naive, iou_thr, keep, err, err_size);
    if (max_keep > 0 && r > max_keep) r = max_keep;
    free(moved);
    return r;
}

int64_t boxes_nms_batched(int64_t n, const float * boxes, const float * scores,
                          const int32_t * classes, double iou_thr, int64_t * keep,
                          char * err, size_t err_size) {
    return boxes__batched(n, boxes, scores, classes, iou_thr, 0, keep, 0, err, err_size);
}

int64_t boxes_nms_batched_top(int64_t n, const float * boxes, const float * scores,
                              const int32_t * classes, double iou_thr, int64_t max_keep, int64_t * keep,
                              char * err, size_t err_size) {
    return boxes__batched(n, boxes, scores, classes, iou_thr, max_keep, keep, 0, err, err_size);
}

int64_t boxes_nms_batched_naive(int64_t n, const float * boxes, const float * scores,
                                const int32_t * classes, double iou_thr, int64_t * keep,
                                char * err, size_t err_size) {
    return boxes__batched(n, boxes, scores, classes, iou_thr, 0, keep, 1, err, err_size);
}
