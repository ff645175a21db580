// model-resnet.h - ResNet / ResNeXt backbones with torchvision's structure and parameter names,
// returning C3, C4, C5 (strides 8, 16, 32) for the FPN.
//
// The network (torchvision's, which is also mmdetection's "pytorch" style):
//     stem:   conv1 7x7 stride 2 (3 -> base) + bn1 + ReLU, max pool 3x3 stride 2 pad 1
//     layerK: blocks[K-1] blocks of planes = base * 2^(K-1); the first block of layer2..4 has
//             stride 2, and a block whose input differs in shape from its output adds
//             downsample = 1x1 conv (stride s) + BN on the shortcut
//     bottleneck: conv1 1x1 (in -> width) + bn1 + ReLU, conv2 3x3 stride s groups g
//             (width -> width) + bn2 + ReLU, conv3 1x1 (width -> 4 planes) + bn3, add the
//             shortcut, ReLU; width = floor(planes * width_per_group / 64) * groups
//     basic:  conv1 3x3 stride s + bn1 + ReLU, conv2 3x3 + bn2, add the shortcut, ReLU
// Names: conv1.weight, bn1.{weight,bias,running_mean,running_var}, layer1.0.conv1.weight,
// layer1.0.bn1.*, layer1.0.downsample.0.weight, layer1.0.downsample.1.*, ... after a prefix
// ("backbone." inside the detector, as in mmdetection checkpoints; "" for torchvision files).
//
// Presets (resnet_config_from_name): resnet18, resnet34, resnet50, resnet101, resnet152,
// resnext50_32x4d, resnext101_32x8d, resnext101_64x4d (base width 64), and "small", the
// from-scratch backbone for CPU work on the shapes dataset:
//     small = torchvision's ResNet-18 layout at a quarter of the width and one BasicBlock per
//             stage: stem 7x7/2 16 channels + max pool, layer1 16, layer2 32 (C3), layer3 64
//             (C4), layer4 128 (C5); 0.31 M parameters, 0.10 GMAC (multiply-adds) per 256x256
//             image, 0.16 GMAC at 320x320. With its FPN and heads (model_options_for "small":
//             64 channels, 2 convs per branch; 9 anchors, 10 classes) the whole model is 0.77 M
//             parameters and 0.46 GMAC at 256x256 (0.71 at 320x320): a training step runs at
//             ~33 images/s on 2 AVX-512 cores (bench/bench-model).
//     base_width and the blocks per stage are config values, so the preset scales up or down.
//
// BN modes (cfg.bn), as in [A] (mmdetection's ResNet):
//     ALRP_BN_FROZEN  norm_eval: running statistics frozen, BN weight and bias trainable outside
//                     the frozen stages; every conv + BN (+ ReLU) is one fused conv2d_affine.
//     ALRP_BN_TRAIN   batch statistics, running statistics updated (momentum 0.1): training
//                     from scratch (the small backbone). Frozen stages still use frozen BN.
//     ALRP_BN_EVAL    inference: fused as FROZEN, and nothing is trainable.
// frozen_stages: -1 none, 0 the stem, k the stem and layer1..k: no parameters there at all (the
// convs and BN affines are buffers), BN frozen. [A] uses 1.
// [B]'s options (the seed's AP-Loss-based code; both false in the presets):
//     caffe      "caffe style" bottleneck: the block's stride is in conv1 (1x1 stride s) and
//                conv2 (3x3) has stride 1 (Detectron / the AP-Loss release's R50 and R101);
//                names and shapes are unchanged. [B]'s ResNeXt is torchvision's (false).
//     stem_bias  conv1 has a bias, "conv1.bias" (C): [B]'s R50 (its R101 and X101 have none);
//                with frozen BN it is folded into the BN shift: shift + scale * bias.
#ifndef DETECTOR_MODEL_RESNET_H
#define DETECTOR_MODEL_RESNET_H

#include "model-nn.h"

#define RESNET_MAX_BLOCKS 36   // per stage (ResNet-152's layer3)

enum resnet_block_type { RESNET_BASIC, RESNET_BOTTLENECK };

struct resnet_config {
    enum resnet_block_type block;
    int layers[4];          // blocks in layer1..layer4
    int groups;             // cardinality of the 3x3 convs: 1 (ResNet), 32 or 64 (ResNeXt)
    int width_per_group;    // 64 (ResNet); ResNeXt 32x8d: 8, 64x4d: 4
    int base_width;         // stem channels = layer1's planes (64 in torchvision)
    int frozen_stages;      // -1 none, 0 stem, k stem + layer1..k
    enum alrp_bn_mode bn;
    bool caffe;             // bottleneck stride in conv1 (the 1x1), not conv2: [B]'s R50 / R101
    bool stem_bias;         // conv1 has a bias ("conv1.bias"): [B]'s R50
};

// Fills cfg with the preset of that name (frozen_stages 1 and ALRP_BN_FROZEN, as [A], except
// "small": -1 and ALRP_BN_TRAIN). Returns 0, or -1 for an unknown name.
int resnet_config_from_name(const char * name, struct resnet_config * cfg);
// 0 if cfg describes a buildable network, else -1 with a one-line reason in err
int resnet_config_check(const struct resnet_config * cfg, char * err, size_t err_size);
// channels of C3, C4, C5 (out[0..2])
void resnet_out_channels(const struct resnet_config * cfg, int64_t out[3]);

struct resnet_block {
    struct nn_conv conv[3];
    struct nn_bn   bn[3];
    int n_convs;                // 3 (bottleneck) or 2 (basic)
    bool has_down;
    struct nn_conv down;        // downsample.0
    struct nn_bn   down_bn;     // downsample.1
};

struct resnet {
    struct resnet_config cfg;
    struct nn_conv conv1;
    struct nn_bn   bn1;
    struct resnet_block layer[4][RESNET_MAX_BLOCKS];
};

// Makes every tensor in ctx (a no_alloc context for the weights), registered in reg, named
// "<prefix>conv1.weight", ... cfg must pass resnet_config_check (stops with its message if not).
// Init (torchvision's): convs N(0, 2 / fan_out), BN weight 1, bias 0, mean 0, var 1.
void resnet_init(struct resnet * r, struct nn_registry * reg, struct alrp_context * ctx, const char * prefix,
                 const struct resnet_config * cfg);
// x (N, 3, H, W) -> out[0] = C3 (N, C3, H/8, W/8), out[1] = C4 (.., H/16, W/16),
// out[2] = C5 (.., H/32, W/32) (sizes exact when H and W are multiples of 32)
void resnet_forward(const struct resnet * r, struct alrp_context * ctx, struct alrp_tensor * x, struct alrp_tensor * out[3]);
// the pieces: x (N, 3, H, W) -> (N, base, H/4, W/4); and layer k (1..4) alone
struct alrp_tensor * resnet_stem_forward(const struct resnet * r, struct alrp_context * ctx, struct alrp_tensor * x);
struct alrp_tensor * resnet_layer_forward(const struct resnet * r, struct alrp_context * ctx, int k, struct alrp_tensor * x);

#endif // DETECTOR_MODEL_RESNET_H
