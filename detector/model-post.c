// model-post.c - RetinaNet post-processing: per-level top scores, decode, class-wise NMS; the
// rules are in model-post.h. Needs model-anchors.c, model-boxes.c and alrp.h's implementation
// in the same program.
#include "det-err.h"
#include "model-post.h"
#include "model-boxes.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif


void post_params_default(struct post_params * p) {
    p->nms_pre = 1000;
    p->score_thr = 0.05f;
    p->nms_iou = 0.5;
    p->max_per_img = 100;
    p->stds[0] = 0.1f; p->stds[1] = 0.1f; p->stds[2] = 0.2f; p->stds[3] = 0.2f;
    p->style = POST_MMDET;
}

static inline float post__sigmoid(float x) {
    return 1.0f / (1.0f + expf(-x));
}

struct post__key {
    float   score;
    int64_t k;
};

// best-class score descending, then anchor index
static int post__by_score(const void * x_, const void * y_) {
    const struct post__key * x = (const struct post__key *) x_, * y = (const struct post__key *) y_;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return (x->k > y->k) - (x->k < y->k);
}

static int post__check(const struct anchors * a, int n_classes, const float * logits, const float * deltas,
                       float img_w, float img_h, float scale_w, float scale_h, const struct post_params * p,
                       const struct det_detection * out, char * err, size_t err_size) {
    if (!a || (a->n > 0 && !a->boxes)) return det_errf(err, err_size, "post: anchors are not initialised");
    if (n_classes < 1) return det_errf(err, err_size, "post: %d classes", n_classes);
    if (a->n > 0 && (!logits || !deltas || !out))
        return det_errf(err, err_size, "post: missing logits, deltas or output");
    if (!p) return det_errf(err, err_size, "post: no parameters");
    if (!(img_w > 0.0f) || !(img_h > 0.0f) || !isfinite(img_w) || !isfinite(img_h)) {
        return det_errf(err, err_size, "post: image size %g x %g (must be > 0)", (double) img_w, (double) img_h);
    }
    if (!(scale_w > 0.0f) || !(scale_h > 0.0f) || !isfinite(scale_w) || !isfinite(scale_h)) {
        return det_errf(err, err_size, "post: scale factors %g, %g (must be > 0)", (double) scale_w, (double) scale_h);
    }
    if (!isfinite(p->score_thr) || !(p->nms_iou == p->nms_iou))
        return det_errf(err, err_size, "post: bad score_thr or nms_iou");
    for (int c = 0; c < 4; c++) {
        if (!(p->stds[c] > 0.0f) || !isfinite(p->stds[c]))
            return det_errf(err, err_size, "post: std %d is %g (must be > 0)", c, (double) p->stds[c]);
    }
    return 0;
}

// [B]'s rules (model-post.h): pairs per level, +1 decoding in double, class-wise NMS
static int post__detect_seed(const struct anchors * a, int n_classes, const float * logits, const float * deltas,
                             float img_w, float img_h, float scale_w, float scale_h, const struct post_params * p,
                             struct det_detection * out, char * err, size_t err_size) {
    const int64_t C = n_classes;
    int64_t max_level = 0, cap = 0;
    for (int l = 0; l < a->n_levels; l++) {
        const int64_t nl = (a->offset[l + 1] - a->offset[l]) * C;
        max_level = nl > max_level ? nl : max_level;
        cap += p->nms_pre > 0 && nl > p->nms_pre ? p->nms_pre : nl;
    }
    struct post__key * key = (struct post__key *) malloc(sizeof(struct post__key) * (size_t) (max_level ? max_level : 1));
    float * box = (float *) malloc(sizeof(float) * 4 * (size_t) (cap ? cap : 1));
    float * score = (float *) malloc(sizeof(float) * (size_t) (cap ? cap : 1));
    int32_t * cls = (int32_t *) malloc(sizeof(int32_t) * (size_t) (cap ? cap : 1));
    int64_t * keep = (int64_t *) malloc(sizeof(int64_t) * (size_t) (cap ? cap : 1));
    int rc = -1;
    if (!key || !box || !score || !cls || !keep) { det_errf(err, err_size, "post: out of memory"); goto done; }
    int64_t n = 0;
    for (int l = 0; l < a->n_levels; l++) {
        const float thr = l + 1 < a->n_levels ? p->score_thr : 0.0f;
        int64_t m = 0;
        for (int64_t j = a->offset[l] * C; j < a->offset[l + 1] * C; j++) {
            if (logits[j] != logits[j]) { det_errf(err, err_size, "post: anchor %lld has a NaN logit", (long long) (j / C)); goto done; }
            const float s = post__sigmoid(logits[j]);
            if (s > thr) { key[m].score = s; key[m].k = j; m++; }
        }
        qsort(key, (size_t) m, sizeof(*key), post__by_score);
        if (p->nms_pre > 0 && m > p->nms_pre) m = p->nms_pre;
        for (int64_t i = 0; i < m; i++, n++) {
            const int64_t k = key[i].k / C;
            const float * an = a->boxes + 4 * k, * d = deltas + 4 * k;
            const double w = (double) an[2] - an[0] + 1.0, h = (double) an[3] - an[1] + 1.0;
            const double cx = an[0] + 0.5 * (w - 1.0), cy = an[1] + 0.5 * (h - 1.0);
            const double px = cx + (double) d[0] * p->stds[0] * w, py = cy + (double) d[1] * p->stds[1] * h;
            const double pw = exp((double) d[2] * p->stds[2]) * w, ph = exp((double) d[3] * p->stds[3]) * h;
            const double hw = 0.5 * fmax(pw - 1.0, 0.0), hh = 0.5 * fmax(ph - 1.0, 0.0);
            double b[4] = { px - hw, py - hh, px + hw, py + hh };
            for (int q = 0; q < 4; q++) {
                const double hi = (q % 2 ? (double) img_h : (double) img_w) - 1.0;
                b[q] = fmin(fmax(b[q], 0.0), hi);
                box[4 * n + q] = (float) (b[q] / (q % 2 ? (double) scale_h : (double) scale_w));
            }
            score[n] = key[i].score;
            cls[n] = (int32_t) (key[i].k % C);
        }
    }
    const int64_t n_keep = boxes_nms_batched(n, box, score, cls, p->nms_iou, keep, err, err_size);
    if (n_keep < 0) goto done;
    const int64_t n_out = p->max_per_img > 0 && n_keep > p->max_per_img ? p->max_per_img : n_keep;
    for (int64_t i = 0; i < n_out; i++) {
        out[i].cls = cls[keep[i]];
        out[i].score = score[keep[i]];
        memcpy(out[i].box, box + 4 * keep[i], sizeof(float) * 4);
    }
    rc = (int) n_out;
done:
    free(key); free(box); free(score); free(cls); free(keep);
    return rc;
}

int post_detect(const struct anchors * a, int n_classes, const float * logits, const float * deltas,
                float img_w, float img_h, float scale_w, float scale_h, const struct post_params * p,
                struct det_detection * out, char * err, size_t err_size) {
    if (post__check(a, n_classes, logits, deltas, img_w, img_h, scale_w, scale_h, p, out, err, err_size)) return -1;
    if (p->style == POST_SEED) {
        if (a->n == 0) return 0;
        return post__detect_seed(a, n_classes, logits, deltas, img_w, img_h, scale_w, scale_h, p, out, err, err_size);
    }
    const int64_t n = a->n, C = n_classes;
    if (n == 0) return 0;
    int64_t max_level = 0;
    for (int l = 0; l < a->n_levels; l++) {
        const int64_t nl = a->offset[l + 1] - a->offset[l];
        max_level = nl > max_level ? nl : max_level;
    }
    struct post__key * key = (struct post__key *) malloc(sizeof(struct post__key) * (size_t) max_level);
    int64_t * sel = (int64_t *) malloc(sizeof(int64_t) * (size_t) n);
    float * sel_anchor = NULL, * sel_delta = NULL, * sel_box = NULL, * cand_box = NULL, * cand_score = NULL;
    int32_t * cand_cls = NULL;
    int64_t * keep = NULL;
    int rc = -1;
    if (!key || !sel) goto oom;

    // 1. per level: the anchors that can give a candidate, cut to the top nms_pre
    int64_t n_sel = 0;
    for (int l = 0; l < a->n_levels; l++) {
        const int64_t b = a->offset[l], e = a->offset[l + 1];
        int64_t m = 0;
        for (int64_t k = b; k < e; k++) {
            const float * x = logits + k * C;
            float mx = x[0];
            int bad = x[0] != x[0];
            for (int64_t c = 1; c < C; c++) { mx = x[c] > mx ? x[c] : mx; bad |= x[c] != x[c]; }
            if (bad) { det_errf(err, err_size, "post: anchor %lld has a NaN logit", (long long) k); goto fail; }
            const float s = post__sigmoid(mx);
            if (s > p->score_thr) { key[m].score = s; key[m].k = k; m++; }
        }
        if (p->nms_pre > 0 && e - b > p->nms_pre) {
            qsort(key, (size_t) m, sizeof(*key), post__by_score);
            if (m > p->nms_pre) m = p->nms_pre;
        }
        for (int64_t i = 0; i < m; i++) sel[n_sel++] = key[i].k;
    }

    // 2, 3. decode, clip, rescale
    sel_anchor = (float *) malloc(sizeof(float) * 4 * (size_t) (n_sel ? n_sel : 1));
    sel_delta = (float *) malloc(sizeof(float) * 4 * (size_t) (n_sel ? n_sel : 1));
    sel_box = (float *) malloc(sizeof(float) * 4 * (size_t) (n_sel ? n_sel : 1));
    if (!sel_anchor || !sel_delta || !sel_box) goto oom;
    for (int64_t i = 0; i < n_sel; i++) {
        memcpy(sel_anchor + 4 * i, a->boxes + 4 * sel[i], sizeof(float) * 4);
        memcpy(sel_delta + 4 * i, deltas + 4 * sel[i], sizeof(float) * 4);
    }
    boxes_decode(n_sel, sel_anchor, sel_delta, p->stds, sel_box);
    boxes_clip(n_sel, sel_box, img_w, img_h);
    boxes_rescale(n_sel, sel_box, scale_w, scale_h);

    // 4. the (anchor, class) candidates
    int64_t n_cand = 0;
    for (int64_t i = 0; i < n_sel; i++) {
        const float * x = logits + sel[i] * C;
        for (int64_t c = 0; c < C; c++) n_cand += post__sigmoid(x[c]) > p->score_thr;
    }
    cand_box = (float *) malloc(sizeof(float) * 4 * (size_t) (n_cand ? n_cand : 1));
    cand_score = (float *) malloc(sizeof(float) * (size_t) (n_cand ? n_cand : 1));
    cand_cls = (int32_t *) malloc(sizeof(int32_t) * (size_t) (n_cand ? n_cand : 1));
    keep = (int64_t *) malloc(sizeof(int64_t) * (size_t) (n_cand ? n_cand : 1));
    if (!cand_box || !cand_score || !cand_cls || !keep) goto oom;
    int64_t j = 0;
    for (int64_t i = 0; i < n_sel; i++) {
        const float * x = logits + sel[i] * C;
        for (int64_t c = 0; c < C; c++) {
            const float s = post__sigmoid(x[c]);
            if (!(s > p->score_thr)) continue;
            memcpy(cand_box + 4 * j, sel_box + 4 * i, sizeof(float) * 4);
            cand_score[j] = s;
            cand_cls[j] = (int32_t) c;
            j++;
        }
    }

    // 5. class-wise NMS, the first max_per_img
    const int64_t n_keep = boxes_nms_batched_top(n_cand, cand_box, cand_score, cand_cls, p->nms_iou,
                                                 p->max_per_img, keep, err, err_size);
    if (n_keep < 0) goto fail;
    const int64_t n_out = p->max_per_img > 0 && n_keep > p->max_per_img ? p->max_per_img : n_keep;
    for (int64_t i = 0; i < n_out; i++) {
        const int64_t q = keep[i];
        out[i].cls = cand_cls[q];
        out[i].score = cand_score[q];
        memcpy(out[i].box, cand_box + 4 * q, sizeof(float) * 4);
    }
    rc = (int) n_out;
    goto fail;
oom:
    det_errf(err, err_size, "post: out of memory");
fail:
    free(key);
    free(sel);
    free(sel_anchor);
    free(sel_delta);
    free(sel_box);
    free(cand_box);
    free(cand_score);
    free(cand_cls);
    free(keep);
    return rc;
}
