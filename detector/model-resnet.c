// model-resnet.c - ResNet / ResNeXt backbones (structure and names: model-resnet.h)
#include "model-resnet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct { const char * name; enum resnet_block_type block; int layers[4], groups, width_per_group; } resnet_presets[] = {
    { "resnet18",         RESNET_BASIC,      { 2, 2,  2, 2 },  1, 64 },
    { "resnet34",         RESNET_BASIC,      { 3, 4,  6, 3 },  1, 64 },
    { "resnet50",         RESNET_BOTTLENECK, { 3, 4,  6, 3 },  1, 64 },
    { "resnet101",        RESNET_BOTTLENECK, { 3, 4, 23, 3 },  1, 64 },
    { "resnet152",        RESNET_BOTTLENECK, { 3, 8, 36, 3 },  1, 64 },
    { "resnext50_32x4d",  RESNET_BOTTLENECK, { 3, 4,  6, 3 }, 32,  4 },
    { "resnext101_32x8d", RESNET_BOTTLENECK, { 3, 4, 23, 3 }, 32,  8 },
    { "resnext101_64x4d", RESNET_BOTTLENECK, { 3, 4, 23, 3 }, 64,  4 },
};

int resnet_config_from_name(const char * name, struct resnet_config * cfg) {
    memset(cfg, 0, sizeof(*cfg));
    if (strcmp(name, "small") == 0) {
        *cfg = (struct resnet_config) { RESNET_BASIC, { 1, 1, 1, 1 }, 1, 64, 16, -1, ALRP_BN_TRAIN, false, false };
        return 0;
    }
    for (size_t i = 0; i < sizeof(resnet_presets) / sizeof(resnet_presets[0]); i++) {
        if (strcmp(name, resnet_presets[i].name) != 0) continue;
        cfg->block = resnet_presets[i].block;
        memcpy(cfg->layers, resnet_presets[i].layers, sizeof(cfg->layers));
        cfg->groups = resnet_presets[i].groups;
        cfg->width_per_group = resnet_presets[i].width_per_group;
        cfg->base_width = 64;
        cfg->frozen_stages = 1;
        cfg->bn = ALRP_BN_FROZEN;
        return 0;
    }
    return -1;
}

// the 3x3 convs' channels of a block with these planes
static int64_t resnet_width(const struct resnet_config * cfg, int64_t planes) {
    if (cfg->block == RESNET_BASIC) return planes;
    return (planes * cfg->width_per_group / 64) * cfg->groups;
}
static int resnet_expansion(const struct resnet_config * cfg) { return cfg->block == RESNET_BOTTLENECK ? 4 : 1; }

int resnet_config_check(const struct resnet_config * cfg, char * err, size_t err_size) {
    const char * why = NULL;
    if (cfg->block != RESNET_BASIC && cfg->block != RESNET_BOTTLENECK) why = "unknown block type";
    else if (cfg->base_width < 1 || cfg->groups < 1 || cfg->width_per_group < 1) why = "base_width, groups and width_per_group must be >= 1";
    else if (cfg->block == RESNET_BASIC && (cfg->groups != 1 || cfg->width_per_group != 64)) why = "basic blocks need groups 1 and width_per_group 64";
    else if (resnet_width(cfg, cfg->base_width) < 1) why = "the bottleneck width floor(base_width * width_per_group / 64) * groups is 0";
    else if (cfg->frozen_stages < -1 || cfg->frozen_stages > 4) why = "frozen_stages must be -1..4";
    else if (cfg->bn != ALRP_BN_TRAIN && cfg->bn != ALRP_BN_EVAL && cfg->bn != ALRP_BN_FROZEN) why = "unknown BN mode";
    else if (cfg->caffe && cfg->block != RESNET_BOTTLENECK) why = "caffe style needs bottleneck blocks";
    for (int k = 0; !why && k < 4; k++)
        if (cfg->layers[k] < 1 || cfg->layers[k] > RESNET_MAX_BLOCKS) why = "every stage needs 1..36 blocks";
    if (why && err) snprintf(err, err_size, "backbone: %s", why);
    return why ? -1 : 0;
}

void resnet_out_channels(const struct resnet_config * cfg, int64_t out[3]) {
    for (int k = 0; k < 3; k++) out[k] = (int64_t) cfg->base_width * (2 << k) * resnet_expansion(cfg);
}

// is stage s (0 = stem, 1..4 = layer1..4) frozen, and may its tensors train
static bool resnet_frozen(const struct resnet_config * cfg, int s) { return s <= cfg->frozen_stages; }
static bool resnet_trainable(const struct resnet_config * cfg, int s) { return cfg->bn != ALRP_BN_EVAL && !resnet_frozen(cfg, s); }
static enum alrp_bn_mode resnet_bn_mode(const struct resnet_config * cfg, int s) { return resnet_frozen(cfg, s) ? ALRP_BN_FROZEN : cfg->bn; }

void resnet_init(struct resnet * r, struct nn_registry * reg, struct alrp_context * ctx, const char * prefix,
                 const struct resnet_config * cfg) {
    char err[160], n[ALRP_MAX_NAME];
    if (resnet_config_check(cfg, err, sizeof err) != 0) { fprintf(stderr, "resnet_init: %s\n", err); abort(); }
    memset(r, 0, sizeof(*r));
    r->cfg = *cfg;
    const enum nn_init K = NN_INIT_KAIMING_FAN_OUT;
    bool tr = resnet_trainable(cfg, 0);
    r->conv1 = nn_conv_new(reg, ctx, prefix, "conv1", 3, cfg->base_width, 7, 2, 3, 1, cfg->stem_bias, tr, K, 0.0f, 0.0f);
    r->bn1 = nn_bn_new(reg, ctx, prefix, "bn1", cfg->base_width, tr);
    int64_t in = cfg->base_width;
    const int e = resnet_expansion(cfg);
    for (int k = 0; k < 4; k++) {
        tr = resnet_trainable(cfg, k + 1);
        int64_t planes = (int64_t) cfg->base_width << k, width = resnet_width(cfg, planes), out = planes * e;
        for (int j = 0; j < cfg->layers[k]; j++) {
            struct resnet_block * b = &r->layer[k][j];
            int stride = (k > 0 && j == 0) ? 2 : 1;
            char blk[32];
            snprintf(blk, sizeof blk, "layer%d.%d", k + 1, j);
            if (cfg->block == RESNET_BOTTLENECK) {
                b->n_convs = 3;
                const int64_t ci[3] = { in, width, width }, co[3] = { width, width, out };
                const int ks[3] = { 1, 3, 1 }, gs[3] = { 1, cfg->groups, 1 };
                const int ss[3] = { cfg->caffe ? stride : 1, cfg->caffe ? 1 : stride, 1 };
                for (int i = 0; i < 3; i++) {
                    snprintf(n, sizeof n, "%s.conv%d", blk, i + 1);
                    b->conv[i] = nn_conv_new(reg, ctx, prefix, n, ci[i], co[i], ks[i], ss[i], ks[i] / 2, gs[i], false, tr, K, 0.0f, 0.0f);
                    snprintf(n, sizeof n, "%s.bn%d", blk, i + 1);
                    b->bn[i] = nn_bn_new(reg, ctx, prefix, n, co[i], tr);
                }
            } else {
                b->n_convs = 2;
                for (int i = 0; i < 2; i++) {
                    snprintf(n, sizeof n, "%s.conv%d", blk, i + 1);
                    b->conv[i] = nn_conv_new(reg, ctx, prefix, n, i ? planes : in, planes, 3, i ? 1 : stride, 1, 1, false, tr, K, 0.0f, 0.0f);
                    snprintf(n, sizeof n, "%s.bn%d", blk, i + 1);
                    b->bn[i] = nn_bn_new(reg, ctx, prefix, n, planes, tr);
                }
            }
            b->has_down = stride != 1 || in != out;
            if (b->has_down) {
                snprintf(n, sizeof n, "%s.downsample.0", blk);
                b->down = nn_conv_new(reg, ctx, prefix, n, in, out, 1, stride, 0, 1, false, tr, K, 0.0f, 0.0f);
                snprintf(n, sizeof n, "%s.downsample.1", blk);
                b->down_bn = nn_bn_new(reg, ctx, prefix, n, out, tr);
            }
            in = out;
        }
    }
}

// x (N, C, H, W) -> relu(branch(x) + shortcut(x)) (N, C', H/s, W/s)
static struct alrp_tensor * resnet_block_forward(const struct resnet_block * b, struct alrp_context * ctx, enum alrp_bn_mode mode,
                                                 struct alrp_tensor * x) {
    struct alrp_tensor * y = x;
    for (int i = 0; i < b->n_convs; i++) y = nn_conv_bn_forward(ctx, &b->conv[i], &b->bn[i], mode, y, i + 1 < b->n_convs);
    struct alrp_tensor * id = b->has_down ? nn_conv_bn_forward(ctx, &b->down, &b->down_bn, mode, x, false) : x;
    return alrp_relu(ctx, alrp_add(ctx, y, id));
}

struct alrp_tensor * resnet_stem_forward(const struct resnet * r, struct alrp_context * ctx, struct alrp_tensor * x) {
    struct alrp_tensor * y = nn_conv_bn_forward(ctx, &r->conv1, &r->bn1, resnet_bn_mode(&r->cfg, 0), x, true);
    return alrp_max_pool2d(ctx, y, 3, 2, 1);
}

struct alrp_tensor * resnet_layer_forward(const struct resnet * r, struct alrp_context * ctx, int k, struct alrp_tensor * x) {
    if (k < 1 || k > 4) { fprintf(stderr, "resnet_layer_forward: layer %d is not 1..4\n", k); abort(); }
    enum alrp_bn_mode mode = resnet_bn_mode(&r->cfg, k);
    for (int j = 0; j < r->cfg.layers[k - 1]; j++) x = resnet_block_forward(&r->layer[k - 1][j], ctx, mode, x);
    return x;
}

void resnet_forward(const struct resnet * r, struct alrp_context * ctx, struct alrp_tensor * x, struct alrp_tensor * out[3]) {
    struct alrp_tensor * c2 = resnet_layer_forward(r, ctx, 1, resnet_stem_forward(r, ctx, x));  // (N, C2, H/4, W/4)
    out[0] = resnet_layer_forward(r, ctx, 2, c2);      // C3 (N, C3, H/8, W/8)
    out[1] = resnet_layer_forward(r, ctx, 3, out[0]);  // C4 (N, C4, H/16, W/16)
    out[2] = resnet_layer_forward(r, ctx, 4, out[1]);  // C5 (N, C5, H/32, W/32)
}
