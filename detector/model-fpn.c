// model-fpn.c - FPN P3-P7 (definition: model-fpn.h)
#include "model-fpn.h"

#include <stdio.h>
#include <stdlib.h>

void fpn_init(struct fpn * f, struct nn_registry * reg, struct alrp_context * ctx, const char * prefix,
              const int64_t in_channels[3], int64_t channels, bool trainable, bool p6_from_p5) {
    char n[ALRP_MAX_NAME];
    const enum nn_init X = NN_INIT_XAVIER_UNIFORM;
    f->channels = channels;
    f->p7_relu = false;
    f->p6_from_p5 = p6_from_p5;
    for (int i = 0; i < 3; i++) {
        f->in_channels[i] = in_channels[i];
        snprintf(n, sizeof n, "lateral_convs.%d.conv", i);
        f->lateral[i] = nn_conv_new(reg, ctx, prefix, n, in_channels[i], channels, 1, 1, 0, 1, true, trainable, X, 0.0f, 0.0f);
        snprintf(n, sizeof n, "fpn_convs.%d.conv", i);
        f->output[i] = nn_conv_new(reg, ctx, prefix, n, channels, channels, 3, 1, 1, 1, true, trainable, X, 0.0f, 0.0f);
    }
    f->output[3] = nn_conv_new(reg, ctx, prefix, "fpn_convs.3.conv", p6_from_p5 ? channels : in_channels[2], channels, 3, 2, 1, 1, true, trainable, X, 0.0f, 0.0f);
    f->output[4] = nn_conv_new(reg, ctx, prefix, "fpn_convs.4.conv", channels, channels, 3, 2, 1, 1, true, trainable, X, 0.0f, 0.0f);
}

void fpn_forward(const struct fpn * f, struct alrp_context * ctx, struct alrp_tensor * const c[3], struct alrp_tensor * p[5]) {
    for (int i = 0; i < 2; i++) {
        if (alrp_dim(c[i], 2) != 2 * alrp_dim(c[i + 1], 2) || alrp_dim(c[i], 3) != 2 * alrp_dim(c[i + 1], 3)) {
            fprintf(stderr, "fpn_forward: C%d is %lldx%lld and C%d %lldx%lld: the top-down path needs each level exactly twice "
                    "the next (pad images to a multiple of 32)\n", i + 3, (long long) alrp_dim(c[i], 2), (long long) alrp_dim(c[i], 3),
                    i + 4, (long long) alrp_dim(c[i + 1], 2), (long long) alrp_dim(c[i + 1], 3));
            abort();
        }
    }
    struct alrp_tensor * lat[3];
    lat[2] = nn_conv_forward(ctx, &f->lateral[2], c[2], false);                                   // (N, ch, H5, W5)
    for (int i = 1; i >= 0; i--)                                                                  // (N, ch, 2 H, 2 W)
        lat[i] = alrp_add(ctx, nn_conv_forward(ctx, &f->lateral[i], c[i], false), alrp_upsample_nearest(ctx, lat[i + 1], 2));
    for (int i = 0; i < 3; i++) p[i] = nn_conv_forward(ctx, &f->output[i], lat[i], false);       // P3..P5
    p[3] = nn_conv_forward(ctx, &f->output[3], f->p6_from_p5 ? p[2] : c[2], false);                // P6 (N, ch, ceil(H5/2), ..)
    p[4] = nn_conv_forward(ctx, &f->output[4], f->p7_relu ? alrp_relu(ctx, p[3]) : p[3], false);                                       // P7 (N, ch, ceil(H6/2), ..)
}
