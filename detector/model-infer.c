// model-infer.c - the network at test time, one graph per input shape, and post-processing
// (model-infer.h)
#include "model-infer.h"

#include "model-config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define INFER_MAX_NODES 32768

struct infer {
    struct config cfg;
    struct alrp_backend * be;
    struct model m;
    struct alrp_context * ctx_w;
    struct alrp_buffer * buf_w;
    struct post_params pp;
    struct anchors_config ac;
    int n_classes;
    // the graph of the current shape
    int H, W;
    struct alrp_context * ctx;
    struct alrp_graph * g;
    struct alrp_gallocr * ga;
    struct alrp_tensor * images;
    struct model_out y;
    struct anchors anchors;
    float * logits, * deltas;
    struct infer_stats st;
};

static double infer__now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

struct infer * infer_new(const struct config * c, int n_classes, struct alrp_backend * be, char * err, size_t err_size) {
    struct infer * inf = (struct infer *) calloc(1, sizeof(*inf));
    if (!inf) { snprintf(err, err_size, "infer: out of memory"); return NULL; }
    inf->cfg = *c;
    inf->be = be;
    inf->n_classes = n_classes;
    config_post_params(c, &inf->pp);
    config_anchors(c, &inf->ac);
    struct model_options o;
    if (config_model_options(c, n_classes, ALRP_BN_EVAL, &o, err, err_size)) { free(inf); return NULL; }
    struct alrp_init_params ip = { model_weights_mem_size(&o), NULL, true };
    inf->ctx_w = alrp_init(ip);
    if (!inf->ctx_w || model_init(&inf->m, inf->ctx_w, &o, err, err_size)) {
        if (inf->ctx_w) alrp_free(inf->ctx_w);
        free(inf);
        return NULL;
    }
    inf->buf_w = alrp_backend_alloc_ctx_tensors(inf->ctx_w, be);
    if (!inf->buf_w) {
        snprintf(err, err_size, "infer: out of memory for the weights (%.1f M values)", (double) model_n_values(&inf->m, false) / 1e6);
        model_free(&inf->m);
        alrp_free(inf->ctx_w);
        free(inf);
        return NULL;
    }
    return inf;
}

static void infer__drop_graph(struct infer * inf) {
    if (inf->ga) alrp_gallocr_free(inf->ga);
    if (inf->ctx) alrp_free(inf->ctx);
    anchors_free(&inf->anchors);
    free(inf->logits);
    free(inf->deltas);
    inf->ga = NULL; inf->ctx = NULL; inf->g = NULL; inf->logits = inf->deltas = NULL;
    memset(&inf->anchors, 0, sizeof(inf->anchors));
    inf->H = inf->W = 0;
}

void infer_free(struct infer * inf) {
    if (!inf) return;
    infer__drop_graph(inf);
    model_free(&inf->m);
    if (inf->buf_w) alrp_buffer_free(inf->buf_w);
    alrp_free(inf->ctx_w);
    free(inf);
}

struct model * infer_model(struct infer * inf) { return &inf->m; }
int infer_max_dets(const struct infer * inf) {
    return inf->pp.max_per_img > 0 ? inf->pp.max_per_img : 1 << 20;
}
void infer_get_stats(const struct infer * inf, struct infer_stats * s) { *s = inf->st; }

int infer_copy_from(struct infer * inf, const struct model * src, char * err, size_t err_size) {
    const int n = model_n_tensors(&inf->m);
    struct alrp_tensor * const * ts = model_tensors(&inf->m);
    size_t cap = 0;
    void * tmp = NULL;
    for (int i = 0; i < n; i++) {
        const struct alrp_tensor * s = model_find(src, ts[i]->name);
        if (!s || alrp_nbytes(s) != alrp_nbytes(ts[i])) {
            snprintf(err, err_size, "infer: tensor '%s' is %s in the training model", ts[i]->name, s ? "of another size" : "missing");
            free(tmp);
            return -1;
        }
        const size_t nb = alrp_nbytes(s);
        if (nb > cap) {
            void * t2 = realloc(tmp, nb);
            if (!t2) { free(tmp); snprintf(err, err_size, "infer: out of memory"); return -1; }
            tmp = t2; cap = nb;
        }
        alrp_backend_tensor_get(inf->be, s, tmp, 0, nb);
        alrp_backend_tensor_set(inf->be, ts[i], tmp, 0, nb);
    }
    free(tmp);
    return 0;
}

// the graph of images (1, 3, H, W)
static int infer__build(struct infer * inf, int H, int W, char * err, size_t err_size) {
    infer__drop_graph(inf);
    const double t0 = infer__now();
    struct alrp_init_params ip = { alrp_tensor_overhead() * INFER_MAX_NODES + alrp_graph_overhead(INFER_MAX_NODES) + (1 << 20), NULL, true };
    inf->ctx = alrp_init(ip);
    if (!inf->ctx) { snprintf(err, err_size, "infer: out of memory"); return -1; }
    inf->images = alrp_set_name(alrp_new_tensor_4d(inf->ctx, 1, 3, H, W), "images");
    alrp_set_input(inf->images);
    inf->y = model_forward(&inf->m, inf->ctx, inf->images);
    alrp_set_output(inf->y.logits);
    alrp_set_output(inf->y.deltas);
    inf->g = alrp_new_graph(inf->ctx, INFER_MAX_NODES);
    alrp_build_forward(inf->g, inf->y.logits);
    alrp_build_forward(inf->g, inf->y.deltas);
    inf->ga = alrp_gallocr_new(inf->be);
    if (!inf->ga || !alrp_gallocr_reserve(inf->ga, inf->g) || !alrp_gallocr_alloc_graph(inf->ga, inf->g)) {
        snprintf(err, err_size, "infer: out of memory for the activations of a %dx%d image", W, H);
        infer__drop_graph(inf);
        return -1;
    }
    if (anchors_init_image(&inf->anchors, &inf->ac, H, W, err, err_size)) { infer__drop_graph(inf); return -1; }
    const int64_t A = alrp_dim(inf->y.logits, 1);
    if (A != inf->anchors.n) {
        snprintf(err, err_size, "infer: %lld anchors but the network gives %lld outputs", (long long) inf->anchors.n, (long long) A);
        infer__drop_graph(inf);
        return -1;
    }
    inf->logits = (float *) malloc(sizeof(float) * (size_t) (A * inf->n_classes));
    inf->deltas = (float *) malloc(sizeof(float) * (size_t) (A * 4));
    if (!inf->logits || !inf->deltas) { snprintf(err, err_size, "infer: out of memory"); infer__drop_graph(inf); return -1; }
    inf->H = H; inf->W = W;
    inf->st.t_build += infer__now() - t0;
    inf->st.n_builds++;
    return 0;
}

int infer_run(struct infer * inf, const float * chw, int H, int W, float img_w, float img_h,
              float scale_w, float scale_h, struct det_detection * dets, char * err, size_t err_size) {
    if (H <= 0 || W <= 0 || H % 32 || W % 32) {
        snprintf(err, err_size, "infer: input %dx%d: sides must be positive multiples of 32", W, H);
        return -1;
    }
    if ((H != inf->H || W != inf->W) && infer__build(inf, H, W, err, err_size)) return -1;
    const double t0 = infer__now();
    alrp_backend_set_f32(inf->be, inf->images, chw);
    const enum alrp_status st = alrp_backend_graph_compute(inf->be, inf->g);
    if (st != ALRP_STATUS_SUCCESS) { snprintf(err, err_size, "infer: the network's compute failed (status %d)", (int) st); return -1; }
    alrp_backend_get_f32(inf->be, inf->y.logits, inf->logits);
    alrp_backend_get_f32(inf->be, inf->y.deltas, inf->deltas);
    const double t1 = infer__now();
    const int n = post_detect(&inf->anchors, inf->n_classes, inf->logits, inf->deltas, img_w, img_h, scale_w, scale_h,
                              &inf->pp, dets, err, err_size);
    inf->st.t_net += t1 - t0;
    inf->st.t_post += infer__now() - t1;
    inf->st.n_runs++;
    return n;
}
