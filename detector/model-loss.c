// model-loss.c - the training step as one graph (model-loss.h): network, loss, backward and the
// optimizer update, built once per input shape. Tensor data is reached only through the backend.
#include "model-loss.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void loss_options_default(struct loss_options * o, enum loss_kind kind) {
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->rank_group = 0;
    o->delta = 1.0f;
    o->focal_alpha = 0.25f;
    o->focal_gamma = 2.0f;
    o->smooth_l1_beta = 1.0f;
    o->sb_period = 3665;
    o->accum = 1;
}

void loss_kind_stds(enum loss_kind kind, float stds[4]) {
    const float r[4] = ALRP_BOX_STDS_ALRP;
    for (int i = 0; i < 4; i++) stds[i] = kind == LOSS_FOCAL ? 1.0f : r[i];
}

const char * loss_kind_name(enum loss_kind kind) {
    switch (kind) {
        case LOSS_ALRP:  return "alrp";
        case LOSS_AP:    return "ap";
        case LOSS_FOCAL: return "focal";
    }
    return "?";
}

int loss_kind_from_name(const char * name, enum loss_kind * kind) {
    static const enum loss_kind all[3] = { LOSS_ALRP, LOSS_AP, LOSS_FOCAL };
    for (int i = 0; i < 3; i++) {
        if (strcmp(name, loss_kind_name(all[i])) == 0) { *kind = all[i]; return 0; }
    }
    return -1;
}

static struct alrp_tensor * step_input(struct alrp_context * ctx, enum alrp_type type, int n_dims, const int64_t * shape, const char * name) {
    struct alrp_tensor * t = alrp_set_name(alrp_new_tensor(ctx, type, n_dims, shape), name);
    alrp_set_input(t);
    return t;
}

// the ranking loss of group k: images [k R, (k + 1) R) of logits (N, A, C), labels, and E_loc (N A)
static struct alrp_rank_loss step_rank_group(struct step * s, struct alrp_tensor * eloc, int k) {
    const int64_t R = s->N / s->n_groups;
    struct alrp_tensor * lg = s->y.logits, * lb = s->labels, * el = eloc;
    if (s->n_groups > 1) {
        lg = alrp_slice(s->ctx, lg, 0, k * R, R);                 // (R, A, C)
        lb = alrp_slice(s->ctx, lb, 0, k * R, R);                 // (R, A, C) i8
        if (el) el = alrp_slice(s->ctx, el, 0, k * R * s->A, R * s->A);   // (R A)
    }
    if (s->lo.kind == LOSS_ALRP) return alrp_alrp_loss(s->ctx, lg, lb, el, s->lo.delta);
    return alrp_ap_loss(s->ctx, lg, lb, s->lo.delta);
}

// sum of the (1) tensors ts[0..n-1]
static struct alrp_tensor * step_sum_list(struct alrp_context * ctx, struct alrp_tensor ** ts, int n) {
    struct alrp_tensor * r = ts[0];
    for (int i = 1; i < n; i++) r = alrp_add(ctx, r, ts[i]);
    return r;
}

// the loss nodes: s->total, s->cls, s->loc (and s->n_pos for the ranking losses)
static void step_build_loss(struct step * s) {
    struct alrp_context * ctx = s->ctx;
    const int64_t NA = s->N * s->A;
    float stds[4];
    loss_kind_stds(s->lo.kind, stds);
    struct alrp_tensor * d2 = alrp_reshape_2d(ctx, s->y.deltas, NA, 4);     // (N A, 4)
    struct alrp_tensor * t2 = alrp_reshape_2d(ctx, s->targets, NA, 4);      // (N A, 4)
    int64_t s1[1] = { 1 }, sm[2] = { NA, 1 };
    if (s->lo.kind != LOSS_ALRP) {
        s->pos_mask = step_input(ctx, ALRP_TYPE_F32, 2, sm, "pos_mask");
        s->inv_pos = step_input(ctx, ALRP_TYPE_F32, 1, s1, "inv_pos");
    }
    if (s->lo.kind == LOSS_FOCAL) {
        int64_t sc[3] = { s->N, s->A, s->C };
        s->cls_targets = step_input(ctx, ALRP_TYPE_F32, 3, sc, "cls_targets");
        s->valid = step_input(ctx, ALRP_TYPE_F32, 3, sc, "valid");
        struct alrp_tensor * fl = alrp_sigmoid_focal_loss(ctx, s->y.logits, s->cls_targets, s->lo.focal_alpha, s->lo.focal_gamma);
        s->cls = alrp_mul(ctx, alrp_sum(ctx, alrp_mul(ctx, fl, s->valid)), s->inv_pos);
        struct alrp_tensor * l1 = alrp_smooth_l1_loss(ctx, d2, t2, 0.0f);   // (N A, 4)
        s->loc = alrp_mul(ctx, alrp_sum(ctx, alrp_mul(ctx, l1, s->pos_mask)), s->inv_pos);
        s->total = alrp_add(ctx, s->cls, s->loc);
        return;
    }
    struct alrp_tensor * eloc = NULL;
    if (s->lo.kind == LOSS_ALRP) {
        eloc = alrp_set_name(alrp_loc_err_giou(ctx, d2, t2, stds), "e_loc");   // (N A)
        s->w_sb = step_input(ctx, ALRP_TYPE_F32, 1, s1, "w_sb");
    }
    struct alrp_tensor * cls[64] = { 0 }, * loc[64] = { 0 }, * np[64] = { 0 };
    for (int k = 0; k < s->n_groups; k++) {
        struct alrp_rank_loss l = step_rank_group(s, eloc, k);
        cls[k] = l.cls; loc[k] = l.loc; np[k] = l.n_pos;
    }
    const float inv_g = 1.0f / (float) s->n_groups;
    s->cls = s->n_groups > 1 ? alrp_scale(ctx, step_sum_list(ctx, cls, s->n_groups), inv_g) : cls[0];
    s->n_pos = step_sum_list(ctx, np, s->n_groups);
    if (s->lo.kind == LOSS_ALRP) {
        s->loc = s->n_groups > 1 ? alrp_scale(ctx, step_sum_list(ctx, loc, s->n_groups), inv_g) : loc[0];
        s->total = alrp_add(ctx, s->cls, alrp_mul(ctx, s->loc, s->w_sb));
    } else {
        struct alrp_tensor * sl = alrp_smooth_l1_loss(ctx, d2, t2, s->lo.smooth_l1_beta);   // (N A, 4)
        // [A]'s AP config: smooth L1 with mean reduction over the positives' 4 coordinates
        s->loc = alrp_scale(ctx, alrp_mul(ctx, alrp_sum(ctx, alrp_mul(ctx, sl, s->pos_mask)), s->inv_pos), 0.25f);
        s->total = alrp_add(ctx, s->cls, s->loc);
    }
}

// gradient accumulation: the sums (made in ctx_w, placed with it) and the update's gradients
// replaced by (acc + g) * scale, before the optimizer builds its updates
static int step_accum_init(struct step * s, struct alrp_context * ctx_w, struct alrp_opt_params op, char * err, size_t err_size) {
    if (op.type != ALRP_OPT_SGD) { snprintf(err, err_size, "step: accum > 1 needs SGD"); return -1; }
    struct alrp_tensor ** params, ** grads;
    const int n = alrp_optimizer_grads(s->opt, &params, &grads);
    s->acc = (struct alrp_tensor **) calloc((size_t) n + 1, sizeof(void *));
    s->acc_grad = (struct alrp_tensor **) calloc((size_t) n + 1, sizeof(void *));
    if (!s->acc || !s->acc_grad) { snprintf(err, err_size, "step: out of memory"); return -1; }
    int64_t s1[1] = { 1 };
    s->acc_scale = step_input(s->ctx, ALRP_TYPE_F32, 1, s1, "accum.scale");
    s->acc_keep = step_input(s->ctx, ALRP_TYPE_F32, 1, s1, "accum.keep");
    s->acc_hp = alrp_set_name(alrp_new_tensor_1d(ctx_w, ALRP_OPT_HP_COUNT), "accum.hparams");
    alrp_set_input(s->acc_hp);
    for (int i = 0; i < n; i++) {
        if (!grads[i]) continue;
        struct alrp_tensor * acc = alrp_dup_tensor(ctx_w, params[i]);
        alrp_format_name(acc, "%s.grad_accum", params[i]->name);
        alrp_set_param(ctx_w, acc);   // the update op's target must be a parameter (the backward is built already)
        s->acc[s->n_acc] = acc;
        s->acc_grad[s->n_acc] = grads[i];
        s->n_acc++;
        grads[i] = alrp_mul(s->ctx, alrp_add(s->ctx, acc, grads[i]), s->acc_scale);
    }
    return 0;
}

int step_init(struct step * s, const struct model * m, struct alrp_context * ctx_w, struct alrp_backend * be,
              int64_t N, int64_t H, int64_t W, const struct loss_options * lo, struct alrp_opt_params op,
              char * err, size_t err_size) {
    memset(s, 0, sizeof *s);
    s->lo = *lo;
    s->m = m;
    s->be = be;
    s->N = N; s->H = H; s->W = W;
    s->C = m->opt.n_classes;
    if (!m->trainable) { snprintf(err, err_size, "step: the model has nothing to train (BN eval mode)"); return -1; }
    if (N < 1 || H < 32 || W < 32 || H % 32 || W % 32) {
        snprintf(err, err_size, "step: batch %lld of %lld x %lld images: need N >= 1 and sides that are multiples of 32",
                 (long long) N, (long long) H, (long long) W);
        return -1;
    }
    if (lo->kind != LOSS_ALRP && lo->kind != LOSS_AP && lo->kind != LOSS_FOCAL) { snprintf(err, err_size, "step: unknown loss kind %d", (int) lo->kind); return -1; }
    const int rg = lo->rank_group > 0 ? lo->rank_group : (int) N;
    if (lo->kind == LOSS_FOCAL) s->n_groups = 1;
    else if (N % rg != 0 || N / rg > 64) {
        snprintf(err, err_size, "step: rank_group %d must divide the batch of %lld images into at most 64 groups", lo->rank_group, (long long) N);
        return -1;
    } else s->n_groups = (int) (N / rg);
    if (!(lo->delta > 0.0f) || lo->focal_gamma < 0.0f || lo->smooth_l1_beta < 0.0f) {
        snprintf(err, err_size, "step: bad loss options (delta %g, gamma %g, beta %g)", (double) lo->delta, (double) lo->focal_gamma, (double) lo->smooth_l1_beta);
        return -1;
    }
    if (lo->kind == LOSS_ALRP && alrp_sb_init(&s->sb, lo->sb_period) != 0) {
        snprintf(err, err_size, "step: bad self-balance period %lld", (long long) lo->sb_period);
        return -1;
    }
    // every op of the network's forward and backward, the loss and one update per parameter
    const int max_nodes = 8192 + 64 * model_n_tensors(m) + 32 * s->n_groups;
    struct alrp_init_params ip = { alrp_graph_overhead(max_nodes) + (size_t) max_nodes * 4 * alrp_tensor_overhead() + (1u << 20), NULL, true };
    s->ctx = alrp_init(ip);
    if (!s->ctx) { snprintf(err, err_size, "step: out of memory for the graph context"); return -1; }

    int64_t si[4] = { N, 3, H, W };
    s->images = step_input(s->ctx, ALRP_TYPE_F32, 4, si, "images");
    s->y = model_forward(m, s->ctx, s->images);
    s->A = alrp_dim(s->y.logits, 1);
    int64_t sl[3] = { N, s->A, s->C }, st[3] = { N, s->A, 4 };
    if (lo->kind != LOSS_FOCAL) s->labels = step_input(s->ctx, ALRP_TYPE_I8, 3, sl, "labels");   // focal: host-made inputs
    s->targets = step_input(s->ctx, ALRP_TYPE_F32, 3, st, "targets");
    step_build_loss(s);
    alrp_set_name(s->total, "loss");
    alrp_set_loss(s->ctx, s->total);
    alrp_set_output(s->cls);
    alrp_set_output(s->loc);
    if (s->n_pos) alrp_set_output(s->n_pos);

    s->g = alrp_new_graph(s->ctx, max_nodes);
    alrp_build_forward(s->g, s->total);
    alrp_build_forward(s->g, s->cls);
    alrp_build_forward(s->g, s->loc);
    if (s->n_pos) alrp_build_forward(s->g, s->n_pos);
    alrp_build_backward(s->ctx, s->g);
    if (alrp_graph_n_params(s->g) == 0) { snprintf(err, err_size, "step: no parameter reaches the loss"); step_free(s); return -1; }
    s->opt = alrp_optimizer_new(ctx_w, s->g, op);
    if (lo->accum > 1 && step_accum_init(s, ctx_w, op, err, err_size)) { step_free(s); return -1; }
    s->host = (float *) malloc(sizeof(float) * (size_t) (2 * N * s->A * s->C + N * s->A));
    if (!s->host) { snprintf(err, err_size, "step: out of memory"); step_free(s); return -1; }
    return 0;
}

int step_place(struct step * s, char * err, size_t err_size) {
    alrp_optimizer_reset(s->opt, s->be);
    alrp_optimizer_build(s->opt, s->ctx, s->g, 0.0f);   // the recipe: no gradient clipping
    s->grad_norm = alrp_optimizer_grad_norm(s->opt);
    // the sums advance after the updates have read them (the graph runs in order)
    for (int i = 0; i < s->n_acc; i++) {
        alrp_backend_tensor_memset(s->be, s->acc[i], 0, 0, alrp_nbytes(s->acc[i]));
        struct alrp_tensor * x = alrp_mul(s->ctx, s->acc_grad[i], s->acc_keep);
        alrp_build_forward(s->g, alrp_opt_step_sgd(s->ctx, s->acc[i], x, NULL, s->acc_hp, NULL));
    }
    s->micro = 0;
    s->ga = alrp_gallocr_new(s->be);
    if (!s->ga || !alrp_gallocr_reserve(s->ga, s->g) || !alrp_gallocr_alloc_graph(s->ga, s->g)) {
        snprintf(err, err_size, "step: out of backend memory for the graph of a %lld x 3 x %lld x %lld batch",
                 (long long) s->N, (long long) s->H, (long long) s->W);
        return -1;
    }
    return 0;
}

// the host-made inputs of the score-based losses from the labels (the focal targets and mask
// only for focal); returns P
static int64_t step_host_inputs(struct step * s, const int8_t * labels) {
    const int64_t NA = s->N * s->A, C = s->C;
    const bool focal = s->lo.kind == LOSS_FOCAL;
    float * pos = s->host, * tgt = s->host + NA, * valid = tgt + NA * C;   // (N A), (N A C), (N A C)
    int64_t P = 0;
    for (int64_t a = 0; a < NA; a++) {
        float p = 0.0f;
        for (int64_t c = 0; c < C; c++) {
            int8_t l = labels[a * C + c];
            if (l == 1) p = 1.0f;
            if (focal) { tgt[a * C + c] = l == 1 ? 1.0f : 0.0f; valid[a * C + c] = l >= 0 ? 1.0f : 0.0f; }
        }
        pos[a] = p;
        P += p > 0.0f;
    }
    float inv = 1.0f / (float) (P > 1 ? P : 1);
    alrp_backend_set_f32(s->be, s->pos_mask, pos);
    alrp_backend_set_f32(s->be, s->inv_pos, &inv);
    if (focal) {
        alrp_backend_set_f32(s->be, s->cls_targets, tgt);
        alrp_backend_set_f32(s->be, s->valid, valid);
    }
    return P;
}

int step_run(struct step * s, const float * images, const int8_t * labels, const float * targets, float lr,
             struct step_out * out, char * err, size_t err_size) {
    memset(out, 0, sizeof *out);
    alrp_backend_set_f32(s->be, s->images, images);
    if (s->labels) alrp_backend_tensor_set(s->be, s->labels, labels, 0, (size_t) (s->N * s->A * s->C));
    alrp_backend_set_f32(s->be, s->targets, targets);
    int64_t P = s->lo.kind == LOSS_ALRP ? 0 : step_host_inputs(s, labels);
    out->w_sb = 1.0f;
    if (s->lo.kind == LOSS_ALRP) {
        out->w_sb = alrp_sb_weight(&s->sb);
        alrp_backend_set_f32(s->be, s->w_sb, &out->w_sb);
    }
    const bool apply = s->n_acc == 0 || s->micro == s->lo.accum - 1;
    if (s->n_acc) {
        float hp[ALRP_OPT_HP_COUNT] = { 0 }, sc[2] = { apply ? 1.0f / (float) s->lo.accum : 0.0f, apply ? 0.0f : 1.0f };
        hp[ALRP_OPT_HP_LR] = apply ? 1.0f : -1.0f;
        hp[ALRP_OPT_HP_WEIGHT_DECAY] = apply ? 1.0f : 0.0f;
        hp[ALRP_OPT_HP_STEP] = 2.0f;
        alrp_backend_tensor_set(s->be, s->acc_hp, hp, 0, sizeof hp);
        alrp_backend_set_f32(s->be, s->acc_scale, &sc[0]);
        alrp_backend_set_f32(s->be, s->acc_keep, &sc[1]);
    }
    if (apply) {
        alrp_optimizer_set_lr(s->opt, lr);
        alrp_optimizer_prepare(s->opt, s->be);
        s->micro = 0;
    } else {   // the model's update is the identity: p - 0 * buf, buf = 1 * buf + 0
        float hp[ALRP_OPT_HP_COUNT] = { 0 };
        hp[ALRP_OPT_HP_MOMENTUM] = 1.0f;
        hp[ALRP_OPT_HP_STEP] = 2.0f;
        alrp_backend_tensor_set(s->be, alrp_optimizer_hparams(s->opt), hp, 0, sizeof hp);
        s->micro++;
    }
    out->applied = apply;
    out->step = alrp_optimizer_n_steps(s->opt);
    enum alrp_status st = alrp_backend_graph_compute(s->be, s->g);
    if (st != ALRP_STATUS_SUCCESS) {
        snprintf(err, err_size, "step %lld: the %s step failed (%s): a non-finite value reached the loss",
                 (long long) out->step, loss_kind_name(s->lo.kind), alrp_status_name(st));
        return -1;
    }
    out->total = alrp_backend_get_f32_1(s->be, s->total, 0);
    out->cls = alrp_backend_get_f32_1(s->be, s->cls, 0);
    out->loc = alrp_backend_get_f32_1(s->be, s->loc, 0);
    out->grad_norm = alrp_backend_get_f32_1(s->be, s->grad_norm, 0);
    out->n_pos = s->n_pos ? (int64_t) llroundf(alrp_backend_get_f32_1(s->be, s->n_pos, 0)) : P;
    if (!isfinite(out->total) || !isfinite(out->cls) || !isfinite(out->loc) || !isfinite(out->grad_norm)) {
        snprintf(err, err_size, "step %lld: the %s loss is not finite (total %g, cls %g, loc %g, gradient norm %g)",
                 (long long) out->step, loss_kind_name(s->lo.kind), (double) out->total, (double) out->cls,
                 (double) out->loc, (double) out->grad_norm);
        return -1;
    }
    if (s->lo.kind == LOSS_ALRP) alrp_sb_update(&s->sb, out->cls, out->loc, out->n_pos);
    return 0;
}

void step_free(struct step * s) {
    if (s->ga) alrp_gallocr_free(s->ga);
    if (s->ctx) alrp_free(s->ctx);
    free(s->host);
    free(s->acc);
    free(s->acc_grad);
    s->ga = NULL; s->ctx = NULL; s->host = NULL; s->acc = NULL; s->acc_grad = NULL;
}
