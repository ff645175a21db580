// bench-assign: anchor assignment for one 512 x 512 training image with 100 ground truths, on
// one core, the fast assigners against their naive references (full gt x anchor matrices), in
// the same run: best IoU per anchor and per gt, MaxIoU, ATSS, and the whole targets step
// (labels for 80 classes, delta targets).
//
// Gts are COCO-like: sides log-uniform in [8, 400] pixels, anywhere in the image. Each time is
// the best of several runs.
//
//     build/bench/bench-assign
#include "alrp.h"
#include "../detector/model-anchors.c"
#include "../detector/data-assign.c"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static double uniform(void) {
    rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27;
    return (double) ((rng * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
}

#define N_GT 100
#define SIZE 512

enum bench_what { BEST, MAXIOU, ATSS, TARGETS_MAXIOU, TARGETS_ATSS };

struct bench_case {
    const struct anchors * a;
    const float * gts;
    const int32_t * cls;
    int naive;
    float * f;
    int32_t * gi;
    int8_t * labels;
    float * deltas;
};

static int run_once(enum bench_what w, struct bench_case * c) {
    char err[256];
    float gt_best[N_GT];
    struct assign_maxiou_params p;
    assign_maxiou_params_default(&p);
    struct assign_params tp;
    int rc = 0;
    switch (w) {
    case BEST:
        rc = c->naive ? assign_best_iou_naive(c->a->n, c->a->boxes, N_GT, c->gts, c->f, c->gi, gt_best, err, sizeof(err))
                      : assign_best_iou(c->a, N_GT, c->gts, c->f, c->gi, gt_best, err, sizeof(err));
        break;
    case MAXIOU:
        rc = c->naive ? assign_maxiou_naive(c->a->n, c->a->boxes, N_GT, c->gts, &p, c->gi, c->f, err, sizeof(err))
                      : assign_maxiou(c->a, N_GT, c->gts, &p, c->gi, c->f, err, sizeof(err));
        break;
    case ATSS:
        rc = c->naive ? assign_atss_naive(c->a->n, c->a->boxes, c->a->centres, c->a->n_levels, c->a->offset, N_GT, c->gts, 9, c->gi, err, sizeof(err))
                      : assign_atss(c->a, N_GT, c->gts, 9, c->gi, err, sizeof(err));
        break;
    case TARGETS_MAXIOU:
    case TARGETS_ATSS:
        assign_params_default(&tp, w == TARGETS_ATSS ? ASSIGN_ATSS : ASSIGN_MAXIOU);
        tp.naive = c->naive;
        rc = assign_targets(c->a, N_GT, c->gts, c->cls, 80, &tp, c->labels, c->deltas, c->gi, NULL, err, sizeof(err));
        break;
    }
    if (rc) fprintf(stderr, "bench-assign: %s\n", err);
    return rc;
}

// best of reps runs (at least min_s seconds in all), in ms
static double time_ms(enum bench_what w, struct bench_case * c, int reps, double min_s) {
    double best = 1e30, total = 0;
    for (int r = 0; r < 1000 && (r < reps || total < min_s); r++) {
        const double t0 = now_s();
        if (run_once(w, c)) exit(1);
        const double t = now_s() - t0;
        best = t < best ? t : best;
        total += t;
    }
    return best * 1e3;
}

int main(void) {
    float gts[4 * N_GT];
    int32_t cls[N_GT];
    for (int g = 0; g < N_GT; g++) {
        const double w = 8.0 * pow(50.0, uniform()), h = 8.0 * pow(50.0, uniform());
        const double x = uniform() * (SIZE - w * 0.5), y = uniform() * (SIZE - h * 0.5);
        gts[4 * g + 0] = (float) x;
        gts[4 * g + 1] = (float) y;
        gts[4 * g + 2] = (float) fmin(x + w, SIZE);
        gts[4 * g + 3] = (float) fmin(y + h, SIZE);
        cls[g] = g % 80;
    }
    printf("%d x %d image, %d gts (sides log-uniform in [8, 400] px), one core; best of several runs\n", SIZE, SIZE, N_GT);
    printf("%-34s %9s %10s %11s %7s\n", "", "anchors", "fast ms", "naive ms", "ratio");
    const struct { const char * name; enum bench_what w; int per_loc; } rows[] = {
        { "best IoU per anchor and gt", BEST, 9 },
        { "best IoU per anchor and gt", BEST, 6 },
        { "MaxIoU assigner", MAXIOU, 9 },
        { "MaxIoU assigner", MAXIOU, 6 },
        { "ATSS assigner", ATSS, 9 },
        { "ATSS assigner", ATSS, 2 },
        { "targets (MaxIoU, 80 classes)", TARGETS_MAXIOU, 6 },
        { "targets (ATSS, 80 classes)", TARGETS_ATSS, 2 },
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct anchors_config cfg;
        struct anchors a;
        char err[256];
        anchors_config_preset(&cfg, rows[i].per_loc);
        if (anchors_init_image(&a, &cfg, SIZE, SIZE, err, sizeof(err))) { fprintf(stderr, "%s\n", err); return 1; }
        struct bench_case c = { &a, gts, cls, 0, NULL, NULL, NULL, NULL };
        c.f = (float *) malloc(sizeof(float) * (size_t) a.n);
        c.gi = (int32_t *) malloc(sizeof(int32_t) * (size_t) a.n);
        c.labels = (int8_t *) malloc((size_t) a.n * 80);
        c.deltas = (float *) malloc(sizeof(float) * 4 * (size_t) a.n);
        int32_t * fast_gi = (int32_t *) malloc(sizeof(int32_t) * (size_t) a.n);
        const double t_fast = time_ms(rows[i].w, &c, 20, 0.2);
        memcpy(fast_gi, c.gi, sizeof(int32_t) * (size_t) a.n);
        c.naive = 1;
        const double t_naive = time_ms(rows[i].w, &c, 3, 0.0);
        const int same = memcmp(fast_gi, c.gi, sizeof(int32_t) * (size_t) a.n) == 0;
        char label[64];
        snprintf(label, sizeof(label), "%s, %d/loc", rows[i].name, rows[i].per_loc);
        printf("%-34s %9lld %10.2f %11.2f %6.1fx%s\n", label, (long long) a.n, t_fast, t_naive, t_naive / t_fast,
               same ? "" : "  (results differ!)");
        free(c.f); free(c.gi); free(c.labels); free(c.deltas); free(fast_gi);
        anchors_free(&a);
        if (!same) return 1;
    }
    return 0;
}
