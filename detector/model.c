// model.c - RetinaNet: backbone -> FPN -> heads (model.h)
#include "model.h"

#include <stdio.h>
#include <string.h>

int model_options_for(struct model_options * o, const char * backbone, int n_classes, int n_anchors) {
    memset(o, 0, sizeof(*o));
    if (resnet_config_from_name(backbone, &o->backbone) != 0) return -1;
    bool small = strcmp(backbone, "small") == 0;
    o->fpn_channels = small ? 64 : 256;
    o->head_channels = small ? 64 : 256;
    o->head_convs = small ? 2 : 4;
    o->n_anchors = n_anchors;
    o->n_classes = n_classes;
    return 0;
}

int model_options_check(const struct model_options * o, char * err, size_t err_size) {
    if (resnet_config_check(&o->backbone, err, err_size) != 0) return -1;
    const char * why = NULL;
    if (o->fpn_channels < 1 || o->head_channels < 1) why = "fpn_channels and head_channels must be >= 1";
    else if (o->head_convs < 0 || o->head_convs > HEAD_MAX_CONVS) why = "head_convs must be 0..8";
    else if (o->n_anchors < 1 || o->n_classes < 1) why = "n_anchors and n_classes must be >= 1";
    if (why && err) snprintf(err, err_size, "model: %s", why);
    return why ? -1 : 0;
}

size_t model_weights_mem_size(const struct model_options * o) {
    int64_t n = 5 + 4 * 5 + 16 + 4 * (int64_t) o->head_convs + 4;   // stem, downsamples, FPN, head
    n += o->backbone.stem_bias;
    for (int k = 0; k < 4; k++) n += (int64_t) o->backbone.layers[k] * (o->backbone.block == RESNET_BOTTLENECK ? 15 : 10);
    // the tensors, up to two state tensors each, the optimizer's own lists and struct
    return (size_t) (3 * n + 32) * alrp_tensor_overhead() + (size_t) n * 32 + 8192;
}

int model_init(struct model * m, struct alrp_context * ctx, const struct model_options * o, char * err, size_t err_size) {
    if (model_options_check(o, err, err_size) != 0) return -1;
    memset(m, 0, sizeof(*m));
    m->opt = *o;
    m->trainable = o->backbone.bn != ALRP_BN_EVAL;
    resnet_init(&m->backbone, &m->reg, ctx, "backbone.", &o->backbone);
    int64_t cin[3];
    resnet_out_channels(&o->backbone, cin);
    fpn_init(&m->neck, &m->reg, ctx, "neck.", cin, o->fpn_channels, m->trainable, o->p6_from_p5);
    m->neck.p7_relu = o->p7_relu;
    head_init(&m->head, &m->reg, ctx, "bbox_head.", o->fpn_channels, o->head_channels, o->head_convs, o->n_anchors, o->n_classes, m->trainable);
    return 0;
}

void model_free(struct model * m) { nn_registry_free(&m->reg); }

int model_n_tensors(const struct model * m) { return m->reg.n; }
struct alrp_tensor * const * model_tensors(const struct model * m) { return m->reg.tensors; }
struct alrp_tensor * model_find(const struct model * m, const char * name) { return nn_registry_find(&m->reg, name); }
int64_t model_n_values(const struct model * m, bool trainable_only) { return nn_registry_n_values(&m->reg, trainable_only); }

int model_init_weights(const struct model * m, struct alrp_backend * be, uint64_t seed) {
    return nn_registry_init(&m->reg, be, seed);
}

int model_check_finite(const struct model * m, struct alrp_backend * be, char * err, size_t err_size) {
    int64_t cap = 0;
    float * v = NULL;
    int rc = 0;
    for (int i = 0; i < model_n_tensors(m) && rc == 0; i++) {
        const struct alrp_tensor * t = model_tensors(m)[i];
        if (t->type != ALRP_TYPE_F32) continue;
        const int64_t n = alrp_nelements(t);
        if (n > cap) {
            float * nv = (float *) realloc(v, sizeof(float) * (size_t) n);
            if (!nv) { snprintf(err, err_size, "out of memory checking the weights"); rc = -1; break; }
            v = nv; cap = n;
        }
        alrp_backend_get_f32(be, t, v);
        for (int64_t j = 0; j < n; j++)
            if (!isfinite(v[j])) {
                snprintf(err, err_size, "tensor '%s' has %g at index %lld", t->name, (double) v[j], (long long) j);
                rc = -1;
                break;
            }
    }
    free(v);
    return rc;
}

struct model_out model_forward(const struct model * m, struct alrp_context * ctx, struct alrp_tensor * images) {
    struct model_out y;
    memset(&y, 0, sizeof(y));
    resnet_forward(&m->backbone, ctx, images, y.c);                                  // C3..C5
    fpn_forward(&m->neck, ctx, y.c, y.p);                                            // P3..P7
    head_forward(&m->head, ctx, y.p, 5, &y.logits, &y.deltas, y.level_anchors);     // (N, A_total, C), (N, A_total, 4)
    return y;
}

int64_t model_graph_macs(const struct alrp_graph * g) {
    int64_t macs = 0;
    for (int i = 0; i < alrp_graph_n_nodes(g); i++) {
        const struct alrp_tensor * t = alrp_graph_node(g, i);
        if (t->op != ALRP_OP_CONV2D && t->op != ALRP_OP_CONV2D_AFFINE) continue;
        const struct alrp_tensor * w = t->src[1];   // (O, I/groups, kH, kW)
        macs += alrp_nelements(t) * alrp_dim(w, 1) * alrp_dim(w, 2) * alrp_dim(w, 3);
    }
    return macs;
}
