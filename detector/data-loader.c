// data-loader.c - see data-loader.h: worker threads filling a ring of batches.
//
// Work is one image (item) at a time: item q after the last loader_start belongs to batch
// seq = start + q / B, slot q % B. A batch lives in ring[seq % R] (R = prefetch + 1); workers
// may fill batch seq only while seq < released + R, where released is the first batch the
// consumer has not yet given back (a batch returned by loader_next is given back by the next
// call). Each item's result depends only on (seed, epoch, position), never on which worker
// ran it or when.
#include "data-loader.h"
#include "data-rng.h"
#include "det-err.h"

#include <pthread.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct data__slot {
    struct loader_batch b;
    int64_t seq;       // the batch it holds (-1: none)
    int     done;      // items finished
};

struct loader {
    struct loader_params p;
    int64_t n;                     // usable images
    int64_t * usable;              // (n) index into ds->images
    int64_t * gt_begin;            // (n + 1) into gt_boxes / gt_cls
    float * gt_boxes;              // x1 y1 x2 y2, original pixels
    int32_t * gt_cls;
    int max_gt;
    int B, R, C;
    int64_t A, bpe;
    int max_hw;                    // eval: largest padded side
    struct data__slot * ring;
    atomic_uchar * bad;            // (n) known unreadable
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    pthread_t * th;
    int n_th;                      // running
    int stop, started;
    int64_t start_seq, next_item, released, consumer_seq, held, cur_epoch;
    int fatal;
    char fatal_msg[1024];
    struct loader_stats st;
    // Feistel permutation
    int half_bits;
};

static double data__now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double) t.tv_sec + 1e-9 * (double) t.tv_nsec;
}

void loader_params_default(struct loader_params * p) {
    memset(p, 0, sizeof(*p));
    p->train = 1;
    p->batch = 8;
    p->size = 512;
    p->test_size = 500;
    p->test_max_size = 833;
    p->pad = 32;
    augment_params_default(&p->aug);
    image_norm_default(&p->norm);
    p->n_threads = 2;
    p->prefetch = 2;
}

// ---- the epoch order -------------------------------------------------------------------------

static uint64_t data__feistel(const struct loader * l, uint64_t epoch, uint64_t x) {
    const int hb = l->half_bits;
    const uint64_t mask = (1ull << hb) - 1;
    uint64_t L = x >> hb, Rr = x & mask;
    for (int r = 0; r < 4; r++) {
        uint64_t f = data_mix64(Rr ^ data_seed3(l->p.seed, epoch, (uint64_t) r, 0x0dde7ull)) & mask;
        uint64_t t = L ^ f;
        L = Rr;
        Rr = t;
    }
    return (L << hb) | Rr;
}

int64_t loader_order(const struct loader * l, int64_t epoch, int64_t pos) {
    if (!l->p.train) return pos;
    uint64_t x = (uint64_t) pos;
    do x = data__feistel(l, (uint64_t) epoch, x); while (x >= (uint64_t) l->n);
    return (int64_t) x;
}

int64_t loader_image_index(const struct loader * l, int64_t usable) {
    return usable >= 0 && usable < l->n ? l->usable[usable] : -1;
}

int64_t loader_n_images(const struct loader * l) { return l->n; }
int64_t loader_batches_per_epoch(const struct loader * l) { return l->bpe; }

// ---- setup -------------------------------------------------------------------------------------

static void data__free_ring(struct loader * l) {
    if (!l->ring) return;
    for (int i = 0; i < l->R; i++) {
        struct loader_batch * b = &l->ring[i].b;
        free(b->images); free(b->labels); free(b->targets); free(b->image_index); free(b->geom);
        free(b->skipped); free(b->n_gt); free(b->gt_boxes); free(b->gt_cls); free(b->gt_off);
    }
    free(l->ring);
    l->ring = NULL;
}

void loader_free(struct loader * l) {
    if (!l) return;
    if (l->started) {
        pthread_mutex_lock(&l->mu);
        l->stop = 1;
        pthread_cond_broadcast(&l->cv_work);
        pthread_mutex_unlock(&l->mu);
        for (int i = 0; i < l->n_th; i++) pthread_join(l->th[i], NULL);
    }
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv_work);
    pthread_cond_destroy(&l->cv_done);
    data__free_ring(l);
    free(l->th);
    free(l->usable); free(l->gt_begin); free(l->gt_boxes); free(l->gt_cls);
    free((void *) l->bad);
    free(l);
}

// mmdetection's COCO rules for one annotation: 1 and the x1 y1 x2 y2 box if usable
static int data__usable_ann(const struct coco_ann * a, const struct coco_image * im, float * box) {
    double x = a->bbox[0], y = a->bbox[1], w = a->bbox[2], h = a->bbox[3];
    if (a->iscrowd) return 0;
    if (a->area <= 0 || w < 1 || h < 1) return 0;
    double iw = fmin(x + w, (double) im->width) - fmax(x, 0.0), ih = fmin(y + h, (double) im->height) - fmax(y, 0.0);
    if (iw <= 0 || ih <= 0) return 0;
    box[0] = (float) x; box[1] = (float) y; box[2] = (float) (x + w); box[3] = (float) (y + h);
    return 1;
}

struct loader * loader_new(const struct loader_params * p, char * err, size_t err_size) {
    if (!p || !p->ds || !p->image_dir) { det_errf(err, err_size, "loader: no dataset or image folder"); return NULL; }
    const struct coco_dataset * ds = p->ds;
    if (p->train) {
        if (p->batch < 1 || p->size < 1 || p->size > 16384) {
            det_errf(err, err_size, "loader: batch %d and size %d must be >= 1", p->batch, p->size);
            return NULL;
        }
        if (!p->anchors || p->n_classes < 1) { det_errf(err, err_size, "loader: training needs anchors and n_classes >= 1"); return NULL; }
        if (p->n_classes < ds->n_categories) {
            det_errf(err, err_size, "loader: %s has %lld categories but n_classes is %d", ds->name, (long long) ds->n_categories,
                     p->n_classes);
            return NULL;
        }
    } else if (p->test_size < 1 || p->test_max_size < 1 || p->pad < 0) {
        det_errf(err, err_size, "loader: test sizes %d / %d and pad %d must be positive", p->test_size, p->test_max_size, p->pad);
        return NULL;
    }
    struct loader * l = (struct loader *) calloc(1, sizeof(*l));
    if (!l) { det_errf(err, err_size, "loader: out of memory"); return NULL; }
    l->p = *p;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv_work, NULL);
    pthread_cond_init(&l->cv_done, NULL);
    const int64_t ni = ds->n_images;
    l->usable = (int64_t *) malloc(sizeof(int64_t) * (size_t) (ni ? ni : 1));
    l->gt_begin = (int64_t *) malloc(sizeof(int64_t) * (size_t) (ni + 1));
    l->gt_boxes = (float *) malloc(sizeof(float) * 4 * (size_t) (ds->n_anns ? ds->n_anns : 1));
    l->gt_cls = (int32_t *) malloc(sizeof(int32_t) * (size_t) (ds->n_anns ? ds->n_anns : 1));
    if (!l->usable || !l->gt_begin || !l->gt_boxes || !l->gt_cls) goto oom;
    int64_t ng = 0;
    l->gt_begin[0] = 0;
    for (int64_t i = 0; i < ni; i++) {
        const struct coco_image * im = &ds->images[i];
        int64_t g0 = ng;
        for (int64_t j = 0; j < im->n_anns; j++) {
            const struct coco_ann * a = &ds->anns[ds->image_anns[im->ann_begin + j]];
            if (data__usable_ann(a, im, l->gt_boxes + 4 * ng)) l->gt_cls[ng++] = a->category;
        }
        if (p->train && (ng == g0 || im->width < 32 || im->height < 32)) { ng = g0; continue; }
        if (ng - g0 > l->max_gt) l->max_gt = (int) (ng - g0);
        l->usable[l->n++] = i;
        l->gt_begin[l->n] = ng;
    }
    if (l->n == 0) {
        det_errf(err, err_size, "%s: no usable image (%s)", ds->name,
                 p->train ? "training needs images of at least 32 x 32 pixels with a non-crowd box of at least 1 x 1 pixel" : "no images");
        loader_free(l);
        return NULL;
    }
    l->bad = (atomic_uchar *) calloc((size_t) l->n, sizeof(atomic_uchar));
    if (!l->bad) goto oom;
    l->B = p->train ? p->batch : 1;
    l->bpe = (l->n + l->B - 1) / l->B;
    l->R = (p->prefetch < 1 ? 1 : p->prefetch) + 1;
    for (l->half_bits = 1; (l->half_bits * 2 < 62) && ((int64_t) 1 << (2 * l->half_bits)) < l->n; l->half_bits++) {}
    int H, W;
    if (p->train) {
        l->A = p->anchors->n;
        l->C = p->n_classes;
        H = W = p->size;
    } else {
        int m = p->test_size > p->test_max_size ? p->test_size : p->test_max_size;
        int pad = p->pad > 1 ? p->pad : 1;
        l->max_hw = (m + 1 + pad - 1) / pad * pad;
        H = W = l->max_hw;
    }
    l->ring = (struct data__slot *) calloc((size_t) l->R, sizeof(struct data__slot));
    if (!l->ring) goto oom;
    const size_t B = (size_t) l->B, mg = (size_t) (l->max_gt ? l->max_gt : 1);
    for (int i = 0; i < l->R; i++) {
        struct loader_batch * b = &l->ring[i].b;
        l->ring[i].seq = -1;
        b->images = (float *) malloc(sizeof(float) * B * 3 * (size_t) H * (size_t) W);
        if (p->train) {
            b->labels = (int8_t *) malloc(B * (size_t) l->A * (size_t) l->C);
            b->targets = (float *) malloc(sizeof(float) * B * (size_t) l->A * 4);
            if (!b->labels || !b->targets) goto oom;
        }
        b->image_index = (int64_t *) calloc(B, sizeof(int64_t));
        b->geom = (struct test_geom *) calloc(B, sizeof(struct test_geom));
        b->skipped = (int *) calloc(B, sizeof(int));
        b->n_gt = (int *) calloc(B, sizeof(int));
        b->gt_off = (int *) calloc(B, sizeof(int));
        b->gt_boxes = (float *) calloc(B * mg * 4, sizeof(float));
        b->gt_cls = (int32_t *) calloc(B * mg, sizeof(int32_t));
        if (!b->images || !b->image_index || !b->geom || !b->skipped || !b->n_gt || !b->gt_off || !b->gt_boxes || !b->gt_cls) goto oom;
        b->n = l->B;
        b->H = H;
        b->W = W;
        for (size_t j = 0; j < B; j++) b->gt_off[j] = (int) (j * mg);
    }
    l->th = (pthread_t *) calloc((size_t) (p->n_threads < 1 ? 1 : p->n_threads), sizeof(pthread_t));
    if (!l->th) goto oom;
    l->held = -1;
    return l;
oom:
    det_errf(err, err_size, "loader: out of memory");
    loader_free(l);
    return NULL;
}

// ---- the workers -------------------------------------------------------------------------------

struct data__scratch { int32_t * gt_ind; };

static void data__set_fatal(struct loader * l, const char * msg) {
    pthread_mutex_lock(&l->mu);
    if (!l->fatal) snprintf(l->fatal_msg, sizeof(l->fatal_msg), "%s", msg);
    l->fatal = 1;
    pthread_cond_broadcast(&l->cv_done);
    pthread_mutex_unlock(&l->mu);
}

// loads usable image u; on failure warns once (the first time it fails) and returns -1
static int data__load(struct loader * l, int64_t u, struct image * im) {
    if (atomic_load(&l->bad[u])) return -1;
    const struct coco_image * ci = &l->p.ds->images[l->usable[u]];
    char path[4096], err[4400];
    snprintf(path, sizeof(path), "%s/%s", l->p.image_dir, ci->file_name);
    if (image_load(path, im, err, sizeof(err)) == 0) return 0;
    if (atomic_exchange(&l->bad[u], 1) == 0) fprintf(stderr, "warning: %s (skipped)\n", err);
    return -1;
}

// fills slot j of batch seq; 0, or -1 on a fatal error (reported)
static int data__item(struct loader * l, struct data__slot * s, int64_t seq, int j, struct data__scratch * sc,
                      int64_t * n_pos, int * skipped) {
    const struct loader_params * p = &l->p;
    struct loader_batch * b = &s->b;
    const int64_t epoch = seq / l->bpe, k = seq % l->bpe;
    int64_t pos = k * l->B + j;
    if (pos >= l->n) pos -= l->n;
    char err[512];
    struct image im = { 0, 0, NULL };
    *n_pos = 0;
    *skipped = 0;
    if (!p->train) {
        const int64_t u = pos;
        const struct coco_image * ci = &p->ds->images[l->usable[u]];
        b->image_index[j] = l->usable[u];
        int ng = (int) (l->gt_begin[u + 1] - l->gt_begin[u]);
        b->n_gt[j] = ng;
        memcpy(b->gt_boxes + 4 * (size_t) b->gt_off[j], l->gt_boxes + 4 * l->gt_begin[u], sizeof(float) * 4 * (size_t) ng);
        memcpy(b->gt_cls + b->gt_off[j], l->gt_cls + l->gt_begin[u], sizeof(int32_t) * (size_t) ng);
        int ok = data__load(l, u, &im) == 0;
        int w = ok ? im.w : ci->width, h = ok ? im.h : ci->height;
        image_test_geom(w > 0 ? w : 1, h > 0 ? h : 1, p->test_size, p->test_max_size, p->pad, &b->geom[j]);
        const struct test_geom * g = &b->geom[j];
        b->H = g->ph;
        b->W = g->pw;
        if (ok && image_to_input(&im, g, &p->norm, b->images) != 0) ok = 0;
        if (!ok) {
            memset(b->images, 0, sizeof(float) * 3 * (size_t) g->ph * (size_t) g->pw);
            b->skipped[j] = 1;
            *skipped = 1;
        } else {
            b->skipped[j] = 0;
        }
        image_free(&im);
        return 0;
    }
    const size_t plane = (size_t) p->size * p->size;
    for (int64_t att = 0; att < l->n; att++) {
        int64_t pp = (pos + att) % l->n, u = loader_order(l, epoch, pp);
        if (data__load(l, u, &im) != 0) { *skipped += 1; continue; }
        struct alrp_rng rng = { data_seed3(p->seed, (uint64_t) epoch, (uint64_t) pos, (uint64_t) att) };
        int ng = (int) (l->gt_begin[u + 1] - l->gt_begin[u]), on = 0;
        float * ob = b->gt_boxes + 4 * (size_t) b->gt_off[j];
        int32_t * oc = b->gt_cls + b->gt_off[j];
        if (augment_train(&im, ng, l->gt_boxes + 4 * l->gt_begin[u], l->gt_cls + l->gt_begin[u], &p->aug, &rng, p->size,
                          &p->norm, b->images + (size_t) j * 3 * plane, ob, oc, &on, err, sizeof(err))) {
            image_free(&im);
            data__set_fatal(l, err);
            return -1;
        }
        image_free(&im);
        b->n_gt[j] = on;
        b->image_index[j] = l->usable[u];
        struct assign_stats ast;
        if (assign_targets(p->anchors, on, ob, oc, l->C, &p->assign, b->labels + (size_t) j * l->A * l->C,
                           b->targets + (size_t) j * l->A * 4, sc->gt_ind, &ast, err, sizeof(err))) {
            data__set_fatal(l, err);
            return -1;
        }
        *n_pos = ast.n_pos;
        return 0;
    }
    char msg[900];
    snprintf(msg, sizeof(msg), "%s: no image in %s could be read (see the warnings above)", p->ds->name, p->image_dir);
    data__set_fatal(l, msg);
    return -1;
}

static void * data__worker(void * arg) {
    struct loader * l = (struct loader *) arg;
    struct data__scratch sc = { NULL };
    if (l->p.train) {
        sc.gt_ind = (int32_t *) malloc(sizeof(int32_t) * (size_t) (l->A ? l->A : 1));
        if (!sc.gt_ind) { data__set_fatal(l, "loader: out of memory"); return NULL; }
    }
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->stop && !l->fatal && l->start_seq + l->next_item / l->B >= l->released + l->R)
            pthread_cond_wait(&l->cv_work, &l->mu);
        if (l->stop || l->fatal) break;
        const int64_t q = l->next_item++;
        const int64_t seq = l->start_seq + q / l->B;
        const int j = (int) (q % l->B);
        struct data__slot * s = &l->ring[seq % l->R];
        if (s->seq != seq) { s->seq = seq; s->done = 0; s->b.n_pos = 0; }
        pthread_mutex_unlock(&l->mu);
        double t0 = data__now();
        int64_t n_pos;
        int skipped;
        int rc = data__item(l, s, seq, j, &sc, &n_pos, &skipped);
        double dt = data__now() - t0;
        pthread_mutex_lock(&l->mu);
        l->st.work_s += dt;
        l->st.skipped += skipped;
        if (rc) break;
        s->b.n_pos += n_pos;
        if (++s->done == l->B) pthread_cond_broadcast(&l->cv_done);
    }
    pthread_mutex_unlock(&l->mu);
    free(sc.gt_ind);
    return NULL;
}

static void data__stop(struct loader * l) {
    if (!l->started) return;
    pthread_mutex_lock(&l->mu);
    l->stop = 1;
    pthread_cond_broadcast(&l->cv_work);
    pthread_mutex_unlock(&l->mu);
    for (int i = 0; i < l->n_th; i++) pthread_join(l->th[i], NULL);
    l->n_th = 0;
    l->started = 0;
    l->stop = 0;
}

int loader_start(struct loader * l, int64_t epoch, int64_t first_batch, char * err, size_t err_size) {
    if (epoch < 0 || first_batch < 0 || first_batch > l->bpe)
        return det_errf(err, err_size, "loader_start: batch %lld of epoch %lld is outside 0..%lld", (long long) first_batch,
                        (long long) epoch, (long long) l->bpe);
    data__stop(l);
    if (l->fatal) return det_errf(err, err_size, "%s", l->fatal_msg);
    for (int i = 0; i < l->R; i++) l->ring[i].seq = -1;
    l->start_seq = epoch * l->bpe + first_batch;
    l->next_item = 0;
    l->released = l->consumer_seq = l->start_seq;
    l->held = -1;
    l->cur_epoch = epoch;
    const int nt = l->p.n_threads < 1 ? 1 : l->p.n_threads;
    for (int i = 0; i < nt; i++) {
        if (pthread_create(&l->th[l->n_th], NULL, data__worker, l) != 0) break;
        l->n_th++;
    }
    l->started = 1;
    if (l->n_th == 0) return det_errf(err, err_size, "loader: cannot start a thread");
    return 0;
}

int loader_next(struct loader * l, const struct loader_batch ** out, char * err, size_t err_size) {
    *out = NULL;
    if (!l->started && loader_start(l, 0, 0, err, err_size)) return -1;
    double t0 = data__now();
    pthread_mutex_lock(&l->mu);
    if (l->held >= 0) {   // give back the batch returned last time
        l->released = l->held + 1;
        l->held = -1;
        pthread_cond_broadcast(&l->cv_work);
    }
    const int64_t seq = l->consumer_seq;
    if (seq / l->bpe > l->cur_epoch) {
        l->cur_epoch = seq / l->bpe;
        pthread_mutex_unlock(&l->mu);
        return 1;
    }
    struct data__slot * s = &l->ring[seq % l->R];
    while (!l->fatal && !(s->seq == seq && s->done == l->B)) pthread_cond_wait(&l->cv_done, &l->mu);
    if (l->fatal) {
        pthread_mutex_unlock(&l->mu);
        return det_errf(err, err_size, "%s", l->fatal_msg);
    }
    s->b.epoch = seq / l->bpe;
    s->b.index = seq % l->bpe;
    l->held = seq;
    l->consumer_seq = seq + 1;
    l->st.batches++;
    l->st.wait_s += data__now() - t0;
    pthread_mutex_unlock(&l->mu);
    *out = &s->b;
    return 0;
}

void loader_get_stats(const struct loader * l, struct loader_stats * s) {
    pthread_mutex_lock((pthread_mutex_t *) &l->mu);
    *s = l->st;
    pthread_mutex_unlock((pthread_mutex_t *) &l->mu);
}
