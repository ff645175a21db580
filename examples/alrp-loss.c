// aLRP Loss on plain arrays, no graph: a synthetic RetinaNet-like batch (anchor-major logits,
// 80 classes), E_loc from box deltas through GIoU, the loss parts and their updates, the
// balance check (Theorem 2), AP Loss for comparison, and the self-balance weight over a few
// iterations. Runs in a few milliseconds.
//
//     make demo        (or: build/examples/alrp-loss)
#include "alrp.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define N_CLASSES 80

static struct alrp_rng rng = { 2020 }; // fixed seed

int main(void) {
    const int64_t n_anchors = 2 * 5456;            // 2 images, 512x512, 1 anchor per location
    const int64_t n = n_anchors * N_CLASSES;       // one logit per (anchor, class)
    float  * logits = (float *) malloc(sizeof(float) * (size_t) n);
    int8_t * labels = (int8_t *) malloc((size_t) n);
    float  * grad   = (float *) malloc(sizeof(float) * (size_t) n);

    // labels: ~0.3% positive anchors (one positive class entry, the other 79 negative),
    // ~1% ignored anchors (all 80 entries -1), the rest negative
    for (int64_t a = 0; a < n_anchors; a++) {
        double u = alrp_rng_uniform(&rng);
        int8_t fill = u < 0.01 ? -1 : 0;
        int cls = u > 0.997 ? (int) (alrp_rng_uniform(&rng) * N_CLASSES) : -1;
        for (int c = 0; c < N_CLASSES; c++) {
            int64_t i = a * N_CLASSES + c;
            labels[i] = c == cls ? 1 : fill;
            logits[i] = labels[i] == 1 ? (float) (-1.0 + 1.5 * alrp_rng_normal(&rng)) : (float) (-6.0 + 1.5 * alrp_rng_normal(&rng));
        }
    }
    int64_t n_pos = alrp_loss_count_positives(n, labels);

    // box regression outputs of the positives and their targets, as (dx, dy, dw, dh) deltas
    // normalised by the aLRP stds; E_loc = 1 - GIoU of the two boxes decoded on the unit anchor
    float stds[4] = ALRP_BOX_STDS_ALRP;
    float * pred_d = (float *) malloc(sizeof(float) * 4 * (size_t) n_pos);
    float * tgt_d  = (float *) malloc(sizeof(float) * 4 * (size_t) n_pos);
    float * loc_err = (float *) malloc(sizeof(float) * (size_t) n_pos);
    float * grad_loc = (float *) malloc(sizeof(float) * (size_t) n_pos);
    float * grad_d = (float *) calloc(4 * (size_t) n_pos, sizeof(float));
    for (int64_t k = 0; k < 4 * n_pos; k++) { tgt_d[k] = (float) alrp_rng_normal(&rng); pred_d[k] = tgt_d[k] + (float) (0.8 * alrp_rng_normal(&rng)); }
    alrp_loc_err_giou_f32(n_pos, pred_d, tgt_d, stds, loc_err);

    struct timespec ts0, ts1;
    clock_gettime(CLOCK_MONOTONIC, &ts0);
    float loss_cls, loss_loc;
    int64_t ret = alrp_loss_alrp_f32(n, logits, labels, loc_err, 1.0f, &loss_cls, &loss_loc, grad, grad_loc);
    clock_gettime(CLOCK_MONOTONIC, &ts1);
    double ms = 1e3 * (double) (ts1.tv_sec - ts0.tv_sec) + 1e-6 * (double) (ts1.tv_nsec - ts0.tv_nsec);
    if (ret < 0) return 1;

    // the balance check: the update pushes positives up and negatives down by the same total
    double sum_pos = 0.0, sum_neg = 0.0;
    int64_t n_neg_moved = 0;
    for (int64_t i = 0; i < n; i++) {
        if (labels[i] == 1) sum_pos += fabs(grad[i]);
        if (labels[i] == 0) { sum_neg += grad[i]; n_neg_moved += grad[i] != 0.0f; }
    }
    printf("entries %lld (%lld anchors x %d classes), positives %lld, negatives with an update %lld\n",
           (long long) n, (long long) n_anchors, N_CLASSES, (long long) n_pos, (long long) n_neg_moved);
    printf("aLRP: loss_cls %.6f  loss_loc %.6f   (%.1f ms, %d cores)\n", loss_cls, loss_loc, ms, alrp_n_cores());
    printf("balance: sum |g| over positives %.6f = sum g over negatives %.6f (rel diff %.1e)\n",
           sum_pos, sum_neg, fabs(sum_pos - sum_neg) / (sum_pos > 0 ? sum_pos : 1.0));

    // self-balance: L = loss_cls + w * loss_loc; w only scales the regression branch
    struct alrp_sb sb;
    alrp_sb_init(&sb, alrp_sb_period(8, 2));       // a toy "epoch" of 8 images at batch 2
    printf("self-balance: period %lld iterations, w %.2f\n", (long long) sb.period, alrp_sb_weight(&sb));
    for (int it = 0; it < 8; it++) {
        if (it > 0) {   // the next "iteration": scores drift a little
            for (int64_t i = 0; i < n; i++) logits[i] += (float) (labels[i] == 1 ? 0.05 : -0.02);
            ret = alrp_loss_alrp_f32(n, logits, labels, loc_err, 1.0f, &loss_cls, &loss_loc, grad, grad_loc);
        }
        float w = alrp_sb_weight(&sb);
        printf("  iter %d: loss_cls %.4f  loss_loc %.4f  w_SB %.3f  total %.4f\n", it, loss_cls, loss_loc, w, loss_cls + w * loss_loc);
        if (alrp_sb_update(&sb, loss_cls, loss_loc, ret)) printf("  -> w_SB recomputed: %.3f\n", alrp_sb_weight(&sb));
    }

    // the regression update: w_SB * d(loss_loc)/d(E_loc), through GIoU and the decoder
    for (int64_t k = 0; k < n_pos; k++) grad_loc[k] *= alrp_sb_weight(&sb);
    alrp_loc_err_giou_backward_f32(n_pos, pred_d, tgt_d, stds, grad_loc, grad_d);
    double gn = 0.0;
    for (int64_t k = 0; k < 4 * n_pos; k++) gn += (double) grad_d[k] * grad_d[k];
    printf("regression: |dL/d(box deltas)| = %.5f over %lld positives\n", sqrt(gn), (long long) n_pos);

    float loss_ap;
    alrp_loss_ap_f32(n, logits, labels, 1.0f, &loss_ap, grad);
    printf("AP Loss on the same scores: %.6f\n", loss_ap);

    free(logits); free(labels); free(grad); free(pred_d); free(tgt_d); free(loc_err); free(grad_loc); free(grad_d);
    return 0;
}
