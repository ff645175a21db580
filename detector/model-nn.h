// model-nn.h - the pieces the detector's networks are made of: named weight tensors that carry
// their initialisation rule, a registry that lists them (what checkpoints save and load, in
// creation order), and conv / batch-norm layers built from them.
//
//     struct nn_registry reg = { 0 };
//     struct nn_conv c = nn_conv_new(&reg, ctx_w, "neck.", "fpn_convs.0.conv", 256, 256, 3, 1, 1, 1,
//                                    true, true, NN_INIT_XAVIER_UNIFORM, 0.0f, 0.0f);
//     ... alrp_backend_alloc_ctx_tensors(ctx_w, be); nn_registry_init(&reg, be, seed);
//     struct alrp_tensor * y = nn_conv_forward(ctx_c, &c, x, false);
//     nn_registry_free(&reg);
//
// Weight tensors are made in a no_alloc context (their data is placed in a backend buffer later)
// and named "<prefix><name>" with PyTorch's parameter names, so weights load by name from
// safetensors files written from PyTorch state dicts. Trainable tensors are alrp_set_param'ed;
// the rest (BN running statistics, frozen layers) are buffers: listed, saved and loaded, but
// they get no gradient.
#ifndef DETECTOR_MODEL_NN_H
#define DETECTOR_MODEL_NN_H

#include "alrp.h"

#define NN_BN_EPS      1e-5f   // torch.nn.BatchNorm2d's defaults
#define NN_BN_MOMENTUM 0.1f

enum nn_init {
    NN_INIT_CONST,            // every value = a
    NN_INIT_NORMAL,           // N(0, a^2)
    NN_INIT_KAIMING_FAN_OUT,  // N(0, 2 / fan_out), fan_out = O kH kW: torchvision's ResNet convs
    NN_INIT_XAVIER_UNIFORM,   // U(-b, b), b = sqrt(6 / (fan_in + fan_out)), fan_in = I kH kW
};

struct nn_entry { struct alrp_tensor * t; enum nn_init init; float a; };

// Zero-initialise ({ 0 }) before the first nn_tensor call; nn_registry_free releases the lists.
struct nn_registry {
    struct nn_entry     * entries;
    struct alrp_tensor ** tensors;   // the same tensors as a plain array (for alrp_save/load_tensors)
    int n, cap;
};

// A new f32 tensor "<prefix><name>" of the given PyTorch shape in ctx, registered with its
// initialisation; trainable marks it as a parameter. Stops with a message if the name is too long.
struct alrp_tensor * nn_tensor(struct nn_registry * reg, struct alrp_context * ctx, const char * prefix, const char * name,
                               int n_dims, const int64_t * shape, bool trainable, enum nn_init init, float a);
void nn_registry_free(struct nn_registry * reg);
// the tensor of that full name, or NULL
struct alrp_tensor * nn_registry_find(const struct nn_registry * reg, const char * name);
// number of values, of every tensor or of the trainable ones
int64_t nn_registry_n_values(const struct nn_registry * reg, bool trainable_only);
// Draws every tensor's initial values on the host and uploads them through be (the tensors must
// be placed: alrp_backend_alloc_ctx_tensors). Each tensor has its own random stream, seeded by
// seed and its name, so a tensor's initial values do not depend on what else the network holds.
// Returns 0, or -1 when out of host memory (message on stderr).
int nn_registry_init(const struct nn_registry * reg, struct alrp_backend * be, uint64_t seed);

// ---- layers ---------------------------------------------------------------------------------
// A conv "<name>.weight" (O, I/groups, k, k) and, with bias, "<name>.bias" (O) initialised to
// bias_value. The weight's init is (init, a).
struct nn_conv { struct alrp_tensor * w, * b; int stride, pad, groups; };
struct nn_conv nn_conv_new(struct nn_registry * reg, struct alrp_context * ctx, const char * prefix, const char * name,
                           int64_t in, int64_t out, int k, int stride, int pad, int groups, bool bias,
                           bool trainable, enum nn_init init, float a, float bias_value);
// x (N, I, H, W) -> relu?(conv(x) + b) (N, O, H', W')
struct alrp_tensor * nn_conv_forward(struct alrp_context * ctx, const struct nn_conv * c, struct alrp_tensor * x, bool relu);

// A 2-d batch norm "<name>.weight", ".bias" (trainable or not: 1 and 0) and the buffers
// ".running_mean", ".running_var" (0 and 1), all (C).
struct nn_bn { struct alrp_tensor * weight, * bias, * running_mean, * running_var; };
struct nn_bn nn_bn_new(struct nn_registry * reg, struct alrp_context * ctx, const char * prefix, const char * name,
                       int64_t channels, bool trainable);

// conv + batch norm + optional ReLU, x (N, I, H, W) -> (N, O, H', W') (a conv bias, [B]'s stem,
// is added before the BN; with frozen BN it is folded into the shift):
//   ALRP_BN_TRAIN: conv2d, batch_norm with batch statistics (running statistics updated), relu;
//   ALRP_BN_FROZEN, ALRP_BN_EVAL: one fused conv2d_affine, with the BN's running statistics
//   folded into a per-channel scale and shift (the BN weight and bias keep their gradients).
struct alrp_tensor * nn_conv_bn_forward(struct alrp_context * ctx, const struct nn_conv * c, const struct nn_bn * bn,
                                        enum alrp_bn_mode mode, struct alrp_tensor * x, bool relu);

#endif // DETECTOR_MODEL_NN_H
