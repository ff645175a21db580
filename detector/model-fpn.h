// model-fpn.h - the feature pyramid of RetinaNet as [A] defines it (mmdetection's FPN with
// start_level 1, add_extra_convs 'on_input', 5 outputs, no ReLU before the extra convs):
//
//     L5 = lateral_convs.2(C5), L4 = lateral_convs.1(C4) + up2(L5), L3 = lateral_convs.0(C3) + up2(L4)
//         (1x1 convs to `channels`; up2 = nearest upsampling by 2, then add)
//     P3..P5 = fpn_convs.0..2(L3..L5)        3x3 convs, pad 1
//     P6 = fpn_convs.3(C5)                   3x3 stride 2 on the backbone's C5 ('on_input')
//     P7 = fpn_convs.4(P6)                   3x3 stride 2 on P6, no ReLU in between
// [B] (the seed's code, as the RetinaNet paper) puts a ReLU between P6 and P7's conv: set
// f->p7_relu after fpn_init (P6 itself, the output, stays without it). p6_from_p5 (fpn_init)
// takes P6 from P5 instead ('on_output', torchvision's LastLevelP6P7(256, 256), whose P7 also
// has the ReLU): fpn_convs.3 is then channels -> channels.
// Every conv has a bias and no activation. Names "<prefix>lateral_convs.i.conv.weight/bias",
// "<prefix>fpn_convs.i.conv.weight/bias" (prefix "neck." in the detector). Init: xavier-uniform
// weights, zero biases.
#ifndef DETECTOR_MODEL_FPN_H
#define DETECTOR_MODEL_FPN_H

#include "model-nn.h"

struct fpn {
    bool p7_relu;             // [B]: P7 = fpn_convs.4(ReLU(P6)); false ([A]) after fpn_init
    bool p6_from_p5;          // P6 = fpn_convs.3(P5) (torchvision); false: from C5 ([A])
    int64_t in_channels[3];   // of C3, C4, C5
    int64_t channels;         // of every output (256 in [A])
    struct nn_conv lateral[3];
    struct nn_conv output[5]; // P3, P4, P5, then the extra P6, P7
};

void fpn_init(struct fpn * f, struct nn_registry * reg, struct alrp_context * ctx, const char * prefix,
              const int64_t in_channels[3], int64_t channels, bool trainable, bool p6_from_p5);
// c[0..2] = C3 (N, in0, H3, W3), C4 (.., H3/2, W3/2), C5 (.., H3/4, W3/4): each level exactly half
// the one below (images whose sides are multiples of 32), else it stops with a message.
// -> p[0..4] = P3..P7 (N, channels, ...), strides 8 .. 128; P6 and P7 round up odd sizes.
void fpn_forward(const struct fpn * f, struct alrp_context * ctx, struct alrp_tensor * const c[3], struct alrp_tensor * p[5]);

#endif // DETECTOR_MODEL_FPN_H
