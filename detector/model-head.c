// model-head.c - RetinaNet heads (definition: model-head.h)
#include "model-head.h"

#include <stdio.h>
#include <stdlib.h>

void head_init(struct head * h, struct nn_registry * reg, struct alrp_context * ctx, const char * prefix,
               int64_t in_channels, int64_t channels, int n_convs, int n_anchors, int n_classes, bool trainable) {
    if (n_convs < 0 || n_convs > HEAD_MAX_CONVS || n_anchors < 1 || n_classes < 1 || in_channels < 1 || channels < 1) {
        fprintf(stderr, "head_init: bad head (%d convs of %lld channels, %d anchors, %d classes)\n", n_convs, (long long) channels, n_anchors, n_classes);
        abort();
    }
    char n[ALRP_MAX_NAME];
    const enum nn_init G = NN_INIT_NORMAL;
    h->in_channels = in_channels; h->channels = channels;
    h->n_convs = n_convs; h->n_anchors = n_anchors; h->n_classes = n_classes;
    for (int i = 0; i < n_convs; i++) {
        int64_t in = i == 0 ? in_channels : channels;
        snprintf(n, sizeof n, "cls_convs.%d.conv", i);
        h->cls_convs[i] = nn_conv_new(reg, ctx, prefix, n, in, channels, 3, 1, 1, 1, true, trainable, G, 0.01f, 0.0f);
        snprintf(n, sizeof n, "reg_convs.%d.conv", i);
        h->reg_convs[i] = nn_conv_new(reg, ctx, prefix, n, in, channels, 3, 1, 1, 1, true, trainable, G, 0.01f, 0.0f);
    }
    int64_t feat = n_convs ? channels : in_channels;
    h->cls_out = nn_conv_new(reg, ctx, prefix, "retina_cls", feat, (int64_t) n_anchors * n_classes, 3, 1, 1, 1, true, trainable, G, 0.01f, HEAD_PRIOR_BIAS);
    h->reg_out = nn_conv_new(reg, ctx, prefix, "retina_reg", feat, (int64_t) n_anchors * 4, 3, 1, 1, 1, true, trainable, G, 0.01f, 0.0f);
}

// y (N, A K, H, W) -> (N, H W A, K)
static struct alrp_tensor * head_flatten(struct alrp_context * ctx, struct alrp_tensor * y, int64_t k) {
    static const int nhwc[4] = { 0, 2, 3, 1 };
    int64_t s[3] = { alrp_dim(y, 0), alrp_dim(y, 1) / k * alrp_dim(y, 2) * alrp_dim(y, 3), k };
    return alrp_reshape(ctx, alrp_permute(ctx, y, nhwc), 3, s);
}

void head_forward(const struct head * h, struct alrp_context * ctx, struct alrp_tensor * const * p, int n_levels,
                  struct alrp_tensor ** logits, struct alrp_tensor ** deltas, int64_t * level_anchors) {
    if (n_levels < 1 || n_levels > HEAD_MAX_LEVELS) { fprintf(stderr, "head_forward: %d levels (1..%d)\n", n_levels, HEAD_MAX_LEVELS); abort(); }
    struct alrp_tensor * cls[HEAD_MAX_LEVELS], * reg[HEAD_MAX_LEVELS];
    for (int l = 0; l < n_levels; l++) {
        struct alrp_tensor * c = p[l], * r = p[l];                      // (N, in, H, W)
        for (int i = 0; i < h->n_convs; i++) {                           // (N, channels, H, W)
            c = nn_conv_forward(ctx, &h->cls_convs[i], c, true);
            r = nn_conv_forward(ctx, &h->reg_convs[i], r, true);
        }
        cls[l] = head_flatten(ctx, nn_conv_forward(ctx, &h->cls_out, c, false), h->n_classes);  // (N, H W A, C)
        reg[l] = head_flatten(ctx, nn_conv_forward(ctx, &h->reg_out, r, false), 4);             // (N, H W A, 4)
        if (level_anchors) level_anchors[l] = alrp_dim(cls[l], 1);
    }
    *logits = alrp_concat(ctx, n_levels, cls, 1);   // (N, A_total, C)
    *deltas = alrp_concat(ctx, n_levels, reg, 1);   // (N, A_total, 4)
}
