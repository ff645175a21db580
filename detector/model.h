// model.h - the RetinaNet network: backbone (model-resnet) -> FPN P3-P7 (model-fpn) -> heads
// (model-head), built from a small options struct into caller-given contexts.
//
//     struct model_options o;
//     model_options_for(&o, "resnet50", 80, 9);                  // [A]'s RetinaNet, or "small"
//     struct model * m = malloc(sizeof *m);                       // ~40 KB: keep it off the stack
//     ctx_w = alrp_init({ model_weights_mem_size(&o), NULL, true });
//     if (model_init(m, ctx_w, &o, err, sizeof err)) ...          // makes every weight tensor
//     buf_w = alrp_backend_alloc_ctx_tensors(ctx_w, be);          // (after the optimizer's state)
//     model_init_weights(m, be, seed);                            // or alrp_load_tensors(be, path,
//                                                                 //    model_n_tensors(m), model_tensors(m), ...)
//     struct model_out y = model_forward(m, ctx_c, images);      // images (N, 3, H, W), H, W multiples of 32
//     ... y.logits (N, A_total, C), y.deltas (N, A_total, 4) ...
//     model_free(m);
//
// Tensor names are mmdetection's: "backbone.conv1.weight", "backbone.layer1.0.conv1.weight", ...,
// "neck.lateral_convs.0.conv.weight", "neck.fpn_convs.4.conv.bias", "bbox_head.cls_convs.0.conv.weight",
// "bbox_head.retina_cls.bias", ... so an mmdetection RetinaNet checkpoint (converted to
// safetensors) loads as it is, and a torchvision ImageNet backbone loads into the backbone part
// once its names get the "backbone." prefix.
#ifndef DETECTOR_MODEL_H
#define DETECTOR_MODEL_H

#include "model-fpn.h"
#include "model-head.h"
#include "model-nn.h"
#include "model-resnet.h"

struct model_options {
    struct resnet_config backbone;  // kind, widths, frozen stages, BN mode (model-resnet.h)
    int64_t fpn_channels;           // 256 in [A]
    int64_t head_channels;          // 256 in [A]
    int head_convs;                 // convs per head branch before the output conv: 4 in [A]
    int n_anchors;                  // anchors per location (2 or 3 for the ATSS configs, 9 or 6 else)
    int n_classes;                  // 80 for COCO
    bool p7_relu;                   // [B]: P7 on ReLU(P6) (model-fpn.h); false in [A]
    bool p6_from_p5;                // P6 from P5 (torchvision's LastLevelP6P7); false: from C5 ([A])
};

// [A]'s RetinaNet (FPN and head 256 channels, 4 head convs) on a preset backbone
// (resnet_config_from_name), or for "small" the CPU model: the small backbone, FPN and head
// 64 channels, 2 head convs. Returns 0, or -1 for an unknown backbone name.
int  model_options_for(struct model_options * o, const char * backbone, int n_classes, int n_anchors);
// 0 if o describes a buildable model, else -1 with a one-line reason in err
int  model_options_check(const struct model_options * o, char * err, size_t err_size);
// bytes for a no_alloc weights context: the model's tensors plus two optimizer-state tensors per
// parameter (SGD momentum, or AdamW's two moments)
size_t model_weights_mem_size(const struct model_options * o);

struct model {
    struct model_options opt;
    bool trainable;                 // false in BN eval mode (inference): no tensor is a parameter
    struct nn_registry reg;         // every tensor, parameters and buffers, in creation order
    struct resnet backbone;
    struct fpn neck;
    struct head head;
};

// Makes the tensors in ctx (no_alloc: placed later in a backend buffer). Returns 0, or -1 with a
// message in err for bad options. model_free releases the tensor list (not the context).
int  model_init(struct model * m, struct alrp_context * ctx, const struct model_options * o, char * err, size_t err_size);
void model_free(struct model * m);
// every tensor (parameters and buffers: BN running statistics, frozen layers), for checkpoints
int  model_n_tensors(const struct model * m);
struct alrp_tensor * const * model_tensors(const struct model * m);
struct alrp_tensor * model_find(const struct model * m, const char * name);   // NULL if none
int64_t model_n_values(const struct model * m, bool trainable_only);
// initial values ([A]'s rules: model-resnet.h, model-fpn.h, model-head.h), uploaded through be;
// the tensors must be placed. Returns 0, or -1 (message on stderr).
int  model_init_weights(const struct model * m, struct alrp_backend * be, uint64_t seed);
// 0 when every value of every tensor is finite; else -1 with "tensor 'NAME' has VALUE at index
// I" in err (a checkpoint written by a diverged run, or a corrupt file). The tensors must be placed.
int  model_check_finite(const struct model * m, struct alrp_backend * be, char * err, size_t err_size);

struct model_out {
    struct alrp_tensor * c[3];      // C3, C4, C5
    struct alrp_tensor * p[5];      // P3 .. P7 (N, fpn_channels, H/8 .. H/128)
    struct alrp_tensor * logits;    // (N, A_total, n_classes)
    struct alrp_tensor * deltas;    // (N, A_total, 4)
    int64_t level_anchors[5];       // anchors of each level in A_total (H_l W_l A), P3 first
};
// images (N, 3, H, W), H and W multiples of 32 -> the graph's outputs (nothing is computed)
struct model_out model_forward(const struct model * m, struct alrp_context * ctx, struct alrp_tensor * images);

// multiply-adds of the graph's forward convolutions (the FLOPs of the network are ~2x this)
int64_t model_graph_macs(const struct alrp_graph * g);

#endif // DETECTOR_MODEL_H
