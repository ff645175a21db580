// model-loss.h - the training step as ONE graph: images -> the network (model_forward) ->
// logits (N, A_total, C) and deltas (N, A_total, 4) -> the loss of the chosen kind -> the
// gradients -> the optimizer update (SGD, momentum 0.9, weight decay 1e-4; the lr is an input),
// built once per input shape and computed every step. No shape depends on the data: E_loc is
// computed for every anchor and the labels select the positives; the number of positives enters
// the score-based losses as a (1) input holding 1 / max(1, P).
//
//     struct loss_options lo;  loss_options_default(&lo, LOSS_ALRP);
//     lo.rank_group = 8;  lo.sb_period = alrp_sb_period(n_images, batch);
//     struct step * s = malloc(sizeof *s);
//     step_init(s, m, ctx_w, be, N, H, W, &lo, alrp_opt_default_params(ALRP_OPT_SGD), err, sizeof err);
//     alrp_backend_alloc_ctx_tensors(ctx_w, be);      // weights + optimizer state, one buffer
//     model_init_weights(m, be, seed);                // or alrp_load_tensors(...)
//     step_place(s, err, sizeof err);                 // optimizer reset, update nodes, activations
//     loop: step_run(s, images, labels, targets, lr, &out, err, sizeof err) ... out.total, out.cls ...
//     step_free(s);
//
// The losses (the recipes' defaults; loss_kind_stds gives the delta-target stds of each kind):
//   LOSS_ALRP   total = mean over groups g of (cls_g + w_SB * loc_g). The batch's N images are
//               split into N / rank_group groups of rank_group consecutive images (0: one
//               group, the whole batch); each group is one alrp_alrp_loss over its images'
//               logits, labels and E_loc, E_loc = 1 - GIoU of the predicted and target deltas
//               decoded on the unit anchor with stds (0.1, 0.1, 0.2, 0.2), for every anchor.
//               The mean over groups averages the gradients as data parallel training over
//               one GPU per group does ([A]: 4 GPUs x 8 images, each ranking its own).
//               w_SB is a (1) input from struct alrp_sb, updated on the host after every step
//               with the unscaled parts (means over groups) and P (sum over groups).
//               out.cls, out.loc are the means over groups, out.n_pos the sum.
//   LOSS_AP     total = mean over groups of AP_g + reg, reg = sum over positive anchors of
//               smooth L1 (beta 1) of the 4 deltas (stds as aLRP) / (4 max(1, P)), P over the batch
//               ([A]'s AP config: mean reduction over the positives' coordinates).
//               out.cls = mean of AP_g, out.loc = reg.
//   LOSS_FOCAL  total = cls + reg, mmdetection's RetinaNet: cls = sigmoid focal loss
//               (alpha 0.25, gamma 2) summed over every entry whose label is not -1, / max(1, P);
//               reg = L1 of the positives' deltas (stds 1.0) summed / max(1, P).
// Labels are int8 (N, A_total, C) as data-assign.c writes them (1 positive, 0 negative, -1
// ignored); P is the number of positive anchors.
#ifndef DETECTOR_MODEL_LOSS_H
#define DETECTOR_MODEL_LOSS_H

#include "model.h"

enum loss_kind { LOSS_ALRP, LOSS_AP, LOSS_FOCAL };

struct loss_options {
    enum loss_kind kind;
    int   rank_group;       // images ranked together (ranking losses); 0: the whole batch
    float delta;            // smoothing of the step function of the ranking losses: 1.0
    float focal_alpha;      // 0.25
    float focal_gamma;      // 2.0
    float smooth_l1_beta;   // AP Loss's regression: 1.0
    int64_t sb_period;      // aLRP self-balance: counted iterations between updates (one epoch)
    int   accum;            // micro-batches per update (1: none); see step_run
};

// the recipe's values for that kind (rank_group 0, sb_period 3665: one COCO epoch at batch 32)
void loss_options_default(struct loss_options * o, enum loss_kind kind);
// the stds the delta targets of that kind are encoded with: (0.1, 0.1, 0.2, 0.2) for the
// ranking losses, 1.0 for focal (means are 0)
void loss_kind_stds(enum loss_kind kind, float stds[4]);
const char * loss_kind_name(enum loss_kind kind);                      // "alrp", "ap", "focal"
int  loss_kind_from_name(const char * name, enum loss_kind * kind);    // 0, or -1 if unknown

// what one step computed, read back from the backend
struct step_out {
    int64_t step;           // the optimizer step just taken (1 for the first)
    float total;            // the loss that was minimised
    float cls, loc;         // its parts (aLRP: unscaled; total = cls + w_sb * loc)
    float w_sb;             // the self-balance weight used (aLRP; 1 otherwise)
    int64_t n_pos;          // positive anchors in the batch
    float grad_norm;        // global L2 norm of every parameter's gradient (of the update: 0 on a
                            // micro-batch that only accumulates)
    bool  applied;          // the update was applied (false on the first accum - 1 micro-batches)
};

struct step {
    struct loss_options lo;
    const struct model * m;
    struct alrp_backend * be;
    int64_t N, H, W, A, C;                  // batch, image size, anchors per image, classes
    int n_groups;                           // ranking groups (1 for focal)
    struct alrp_context * ctx;              // the graph's tensors (no data: the allocator's buffer)
    struct alrp_graph * g;
    struct alrp_optimizer * opt;
    struct alrp_gallocr * ga;
    struct model_out y;
    // inputs
    struct alrp_tensor * images;            // (N, 3, H, W)
    struct alrp_tensor * labels;            // (N, A, C) i8 (ranking losses)
    struct alrp_tensor * targets;           // (N, A, 4) delta targets
    struct alrp_tensor * w_sb;              // (1) aLRP
    struct alrp_tensor * pos_mask;          // (N * A, 1) 1 on positive anchors (AP, focal)
    struct alrp_tensor * inv_pos;           // (1) 1 / max(1, P) (AP, focal)
    struct alrp_tensor * cls_targets;       // (N, A, C) 1 on positive entries (focal)
    struct alrp_tensor * valid;             // (N, A, C) 1 where the label is not -1 (focal)
    // outputs
    struct alrp_tensor * total, * cls, * loc, * n_pos, * grad_norm;
    struct alrp_sb sb;                      // aLRP self-balance state (plain data: checkpoint it)
    // gradient accumulation (lo.accum > 1): per parameter a sum acc (in ctx_w, "<name>.grad_accum"),
    // the update reads (acc + g) * scale and the sum is then advanced by an SGD op on acc with its
    // own hyper-parameters: acc + g (lr -1) on a micro-batch that only accumulates, 0 (lr 1, wd 1,
    // gradient 0) on the one that applies; on the first, the model's update is the identity (lr 0,
    // momentum 1, weight decay 0, a step count past the first so the momentum is kept)
    int micro;                              // micro-batches accumulated since the last update
    int n_acc;
    struct alrp_tensor ** acc, ** acc_grad; // (n_acc) the sums, the raw gradients
    struct alrp_tensor * acc_hp;            // (ALRP_OPT_HP_COUNT) in ctx_w
    struct alrp_tensor * acc_scale;         // (1) 1 / accum when applying, else 0
    struct alrp_tensor * acc_keep;          // (1) 0 when applying, else 1
    float * host;                           // scratch for the host-made inputs
};

// Builds the step graph for images (N, 3, H, W) on model m (its tensors in ctx_w, not placed
// yet): forward, loss, backward, and the optimizer state (made in ctx_w). Returns 0, or -1 with
// a message in err (bad options, N not a multiple of rank_group, a model with nothing to train).
int  step_init(struct step * s, const struct model * m, struct alrp_context * ctx_w, struct alrp_backend * be,
               int64_t N, int64_t H, int64_t W, const struct loss_options * lo, struct alrp_opt_params op,
               char * err, size_t err_size);
// After ctx_w is placed in be (and the weights are there): zeroes the optimizer state, appends
// the update nodes and places the graph. Returns 0, or -1 with a message in err.
int  step_place(struct step * s, char * err, size_t err_size);
// One step: uploads images (N, 3, H, W), labels (N, A, C), targets (N, A, 4) and the host-made
// inputs, sets the lr, computes forward + backward + update, reads the results into *out and
// (aLRP) updates the self-balance weight. With lo.accum = k > 1 each call is one micro-batch:
// the first k - 1 calls of a group only add their gradients to the sums, the k-th applies the
// update with the mean of the k gradients (out->applied); lr is read on that call. Returns 0, or -1 with a message naming the step when
// the compute fails or a loss is not finite (the update has then been applied with that loss:
// reload the last checkpoint).
int  step_run(struct step * s, const float * images, const int8_t * labels, const float * targets, float lr,
              struct step_out * out, char * err, size_t err_size);
void step_free(struct step * s);

#endif // DETECTOR_MODEL_LOSS_H
