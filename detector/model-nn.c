// model-nn.c - named weight tensors, their registry and initialisation, conv and BN layers
#include "model-nn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void nn_registry_add(struct nn_registry * reg, struct alrp_tensor * t, enum nn_init init, float a) {
    if (reg->n == reg->cap) {
        int cap = reg->cap ? 2 * reg->cap : 256;
        struct nn_entry * e = (struct nn_entry *) realloc(reg->entries, sizeof(*e) * (size_t) cap);
        struct alrp_tensor ** ts = (struct alrp_tensor **) realloc(reg->tensors, sizeof(*ts) * (size_t) cap);
        if (!e || !ts) { fprintf(stderr, "nn_tensor: out of memory for %d tensors\n", cap); abort(); }
        reg->entries = e; reg->tensors = ts; reg->cap = cap;
    }
    reg->entries[reg->n] = (struct nn_entry) { t, init, a };
    reg->tensors[reg->n] = t;
    reg->n++;
}

struct alrp_tensor * nn_tensor(struct nn_registry * reg, struct alrp_context * ctx, const char * prefix, const char * name,
                               int n_dims, const int64_t * shape, bool trainable, enum nn_init init, float a) {
    char full[ALRP_MAX_NAME];
    int len = snprintf(full, sizeof full, "%s%s", prefix ? prefix : "", name);
    if (len < 0 || len >= (int) sizeof full) { fprintf(stderr, "nn_tensor: name '%s%s' is longer than %d bytes\n", prefix ? prefix : "", name, ALRP_MAX_NAME - 1); abort(); }
    struct alrp_tensor * t = alrp_set_name(alrp_new_tensor(ctx, ALRP_TYPE_F32, n_dims, shape), full);
    if (trainable) alrp_set_param(ctx, t);
    nn_registry_add(reg, t, init, a);
    return t;
}

void nn_registry_free(struct nn_registry * reg) {
    free(reg->entries);
    free(reg->tensors);
    memset(reg, 0, sizeof(*reg));
}

struct alrp_tensor * nn_registry_find(const struct nn_registry * reg, const char * name) {
    for (int i = 0; i < reg->n; i++) if (strcmp(reg->tensors[i]->name, name) == 0) return reg->tensors[i];
    return NULL;
}

int64_t nn_registry_n_values(const struct nn_registry * reg, bool trainable_only) {
    int64_t n = 0;
    for (int i = 0; i < reg->n; i++)
        if (!trainable_only || (reg->tensors[i]->flags & ALRP_FLAG_PARAM)) n += alrp_nelements(reg->tensors[i]);
    return n;
}

// PyTorch's fans: a weight (O, I, kH, kW) has fan_in = I kH kW and fan_out = O kH kW
static void nn_fans(const struct alrp_tensor * t, double * fan_in, double * fan_out) {
    int nd = t->n_dims;
    double rf = 1.0;
    for (int d = 2; d < nd; d++) rf *= (double) alrp_dim(t, d);
    *fan_out = (double) alrp_dim(t, 0) * rf;
    *fan_in = nd >= 2 ? (double) alrp_dim(t, 1) * rf : *fan_out;
}

// one stream per tensor: the seed mixed with the FNV-1a hash of the name
static uint64_t nn_stream_seed(uint64_t seed, const char * name) {
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char * p = (const unsigned char *) name; *p; p++) { h ^= *p; h *= 1099511628211ull; }
    struct alrp_rng r = { seed ^ h };
    return alrp_rng_u64(&r);
}

int nn_registry_init(const struct nn_registry * reg, struct alrp_backend * be, uint64_t seed) {
    float * v = NULL;
    int64_t cap = 0;
    for (int i = 0; i < reg->n; i++) {
        const struct nn_entry * e = &reg->entries[i];
        int64_t n = alrp_nelements(e->t);
        if (n > cap) {
            free(v);
            cap = n;
            v = (float *) malloc(sizeof(float) * (size_t) cap);
            if (!v) { fprintf(stderr, "nn_registry_init: out of memory\n"); return -1; }
        }
        struct alrp_rng r = { nn_stream_seed(seed, e->t->name) };
        double fan_in, fan_out;
        nn_fans(e->t, &fan_in, &fan_out);
        switch (e->init) {
        case NN_INIT_CONST:
            for (int64_t k = 0; k < n; k++) v[k] = e->a;
            break;
        case NN_INIT_NORMAL:
            for (int64_t k = 0; k < n; k++) v[k] = (float) (e->a * alrp_rng_normal(&r));
            break;
        case NN_INIT_KAIMING_FAN_OUT: {
            double std = sqrt(2.0 / fan_out);
            for (int64_t k = 0; k < n; k++) v[k] = (float) (std * alrp_rng_normal(&r));
            break;
        }
        case NN_INIT_XAVIER_UNIFORM: {
            double b = sqrt(6.0 / (fan_in + fan_out));
            for (int64_t k = 0; k < n; k++) v[k] = (float) (b * (2.0 * alrp_rng_uniform(&r) - 1.0));
            break;
        }
        }
        alrp_backend_set_f32(be, e->t, v);
    }
    free(v);
    return 0;
}

// ---- layers ---------------------------------------------------------------------------------

struct nn_conv nn_conv_new(struct nn_registry * reg, struct alrp_context * ctx, const char * prefix, const char * name,
                           int64_t in, int64_t out, int k, int stride, int pad, int groups, bool bias,
                           bool trainable, enum nn_init init, float a, float bias_value) {
    char n[ALRP_MAX_NAME];
    struct nn_conv c = { NULL, NULL, stride, pad, groups };
    int64_t sw[4] = { out, in / groups, k, k }, sb[1] = { out };
    snprintf(n, sizeof n, "%s.weight", name);
    c.w = nn_tensor(reg, ctx, prefix, n, 4, sw, trainable, init, a);
    if (bias) {
        snprintf(n, sizeof n, "%s.bias", name);
        c.b = nn_tensor(reg, ctx, prefix, n, 1, sb, trainable, NN_INIT_CONST, bias_value);
    }
    return c;
}

struct alrp_tensor * nn_conv_forward(struct alrp_context * ctx, const struct nn_conv * c, struct alrp_tensor * x, bool relu) {
    struct alrp_tensor * y = alrp_conv2d(ctx, x, c->w, c->b, c->stride, c->pad, 1, c->groups);
    return relu ? alrp_relu(ctx, y) : y;
}

struct nn_bn nn_bn_new(struct nn_registry * reg, struct alrp_context * ctx, const char * prefix, const char * name,
                       int64_t channels, bool trainable) {
    char n[ALRP_MAX_NAME];
    int64_t s[1] = { channels };
    struct nn_bn bn;
    snprintf(n, sizeof n, "%s.weight", name);       bn.weight       = nn_tensor(reg, ctx, prefix, n, 1, s, trainable, NN_INIT_CONST, 1.0f);
    snprintf(n, sizeof n, "%s.bias", name);         bn.bias         = nn_tensor(reg, ctx, prefix, n, 1, s, trainable, NN_INIT_CONST, 0.0f);
    snprintf(n, sizeof n, "%s.running_mean", name); bn.running_mean = nn_tensor(reg, ctx, prefix, n, 1, s, false, NN_INIT_CONST, 0.0f);
    snprintf(n, sizeof n, "%s.running_var", name);  bn.running_var  = nn_tensor(reg, ctx, prefix, n, 1, s, false, NN_INIT_CONST, 1.0f);
    return bn;
}

struct alrp_tensor * nn_conv_bn_forward(struct alrp_context * ctx, const struct nn_conv * c, const struct nn_bn * bn,
                                        enum alrp_bn_mode mode, struct alrp_tensor * x, bool relu) {
    if (mode == ALRP_BN_TRAIN) {
        struct alrp_tensor * y = alrp_conv2d(ctx, x, c->w, c->b, c->stride, c->pad, 1, c->groups);
        y = alrp_batch_norm(ctx, y, bn->weight, bn->bias, bn->running_mean, bn->running_var, ALRP_BN_TRAIN, NN_BN_MOMENTUM, NN_BN_EPS);
        return relu ? alrp_relu(ctx, y) : y;
    }
    struct alrp_tensor * scale, * shift;
    alrp_frozen_bn_affine(ctx, bn->weight, bn->bias, bn->running_mean, bn->running_var, NN_BN_EPS, &scale, &shift);
    if (c->b) shift = alrp_add(ctx, shift, alrp_mul(ctx, scale, c->b));   // BN(conv + b) = scale conv + (shift + scale b)
    return alrp_conv2d_affine(ctx, x, c->w, scale, shift, relu, c->stride, c->pad, 1, c->groups);
}
