// The detector's networks (detector/model-*.c) against PyTorch, from tests/data/model.safetensors
// (written by tools/gen-ref-model.py, which checks its reference ResNet against torchvision's):
//   names  every full backbone (resnet18/50/101, resnext101_32x8d/64x4d) has torchvision's
//          tensor names and shapes, in state-dict order; frozen stages hold no parameters
//   det    the whole RetinaNet at reduced widths (R50 structure, frozen BN, frozen_stages 1):
//          C3-C5, P3-P7, logits, deltas, and the gradients of sum(logits R) + sum(deltas R2);
//          again in BN eval mode (inference, nothing trainable)
//   x101   one ResNeXt stage (groups 32, 8 per group at full width) in eval mode
//   small  the small backbone with BN in train mode: outputs, gradients, running statistics
//   init   [A]'s initialisation rules, deterministic per seed and per tensor
//   flops  multiply-adds of the small model and of [A]'s R50 RetinaNet (the backbones match
//          torchvision's published counts)
// Outputs must match to 1e-4 of each reference tensor's largest value, gradients to 1e-3.
// Everything runs on the CPU backend: weights placed in one backend buffer and loaded by name
// with alrp_load_tensors, inputs and results through alrp_backend_tensor_set/get.
//     build/tests/test-model [tests/data/model.safetensors]
#include "../detector/model-nn.c"
#include "../detector/model-resnet.c"
#include "../detector/model-fpn.c"
#include "../detector/model-head.c"
#include "../detector/model.c"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref-file.h"

static const char * path = "tests/data/model.safetensors";
static struct alrp_backend * be;
static int fails = 0;

#define CHECK(c, ...) do { if (!(c)) { printf("FAIL "); printf(__VA_ARGS__); printf("\n"); fails++; } } while (0)


// a no_alloc context for graphs: headers only, data in the allocator's buffer
static struct alrp_context * ctx_new(size_t mb) {
    struct alrp_init_params ip = { mb << 20, NULL, true };
    return alrp_init(ip);
}

// an input made from a reference tensor (same shape), filled once placed
static struct alrp_tensor * input_like(struct alrp_context * ctx, const char * name) {
    const struct alrp_st_tensor * s = ref_get(name);
    int64_t shape[4];
    for (int i = 0; i < s->n_dims; i++) shape[i] = s->shape[i];
    struct alrp_tensor * t = alrp_set_name(alrp_new_tensor(ctx, ALRP_TYPE_F32, s->n_dims, shape), name);
    alrp_set_input(t);
    return t;
}
static void upload(struct alrp_tensor * t) {
    int64_t n;
    float * v = ref_f32(t->name, &n);
    alrp_backend_set_f32(be, t, v);
    free(v);
}

// max |got - ref| relative to max |ref|, printed; fails above tol
static void compare(const char * what, struct alrp_tensor * t, const char * refname, double tol) {
    const struct alrp_st_tensor * s = ref_get(refname);
    if (!t || alrp_nelements(t) != s->numel) { printf("FAIL %-44s missing or %lld values instead of %lld\n", what, t ? (long long) alrp_nelements(t) : 0LL, (long long) s->numel); fails++; return; }
    bool shape_ok = t->n_dims == s->n_dims;
    for (int d = 0; shape_ok && d < s->n_dims; d++) shape_ok = alrp_dim(t, d) == s->shape[d];
    int64_t n;
    float * r = ref_f32(refname, &n), * v = (float *) malloc(sizeof(float) * (size_t) n);
    alrp_backend_get_f32(be, t, v);
    double m = 0.0, s_ = 1e-30;
    for (int64_t i = 0; i < n; i++) { m = fmax(m, fabs((double) v[i] - r[i])); s_ = fmax(s_, fabs((double) r[i])); }
    bool ok = shape_ok && m <= tol * s_ && isfinite(m);
    printf("%s %-44s max err %.2e, max |ref| %.2e, rel %.2e%s\n", ok ? "OK  " : "FAIL", what, m, s_, m / s_, shape_ok ? "" : " (shape differs)");
    fails += !ok;
    free(r); free(v);
}

// ---- names: the full backbones against torchvision's state dicts ----------------------------

// metadata "names.<arch>": [["conv1.weight",[64,3,7,7]],...]; returns how many entries matched
static void check_names(const char * arch) {
    char key[64];
    snprintf(key, sizeof key, "names.%s", arch);
    const char * js = alrp_st_metadata(ref_file, key);
    if (!js) { printf("FAIL names of %s: no metadata '%s'\n", arch, key); fails++; return; }
    struct resnet_config cfg;
    CHECK(resnet_config_from_name(arch, &cfg) == 0, "preset %s", arch);
    struct alrp_context * ctx = ctx_new(4);
    struct nn_registry reg = { 0 };
    struct resnet * r = (struct resnet *) malloc(sizeof(*r));
    resnet_init(r, &reg, ctx, "", &cfg);
    int i = 0, bad = 0;
    const char * p = js;
    while ((p = strchr(p, '"')) != NULL) {
        const char * e = strchr(p + 1, '"');
        char name[128];
        size_t len = (size_t) (e - p - 1);
        memcpy(name, p + 1, len < 127 ? len : 127); name[len < 127 ? len : 127] = 0;
        p = strchr(e, '[') + 1;
        int64_t shape[8]; int nd = 0;
        while (*p != ']') { shape[nd++] = strtoll(p, (char **) &p, 10); if (*p == ',') p++; }
        p++;
        bool ok = i < reg.n && strcmp(reg.tensors[i]->name, name) == 0 && reg.tensors[i]->n_dims == nd;
        for (int d = 0; ok && d < nd; d++) ok = alrp_dim(reg.tensors[i], d) == shape[d];
        if (!ok && bad++ < 3) printf("     %s: entry %d is '%s' here, '%s' in torchvision\n", arch, i, i < reg.n ? reg.tensors[i]->name : "(none)", name);
        i++;
    }
    bool ok = bad == 0 && i == reg.n;
    // frozen_stages 1: no parameter in the stem and layer1; BN running statistics never
    int n_params = 0, wrong = 0;
    for (int k = 0; k < reg.n; k++) {
        const char * nm = reg.tensors[k]->name;
        bool is_param = (reg.tensors[k]->flags & ALRP_FLAG_PARAM) != 0;
        bool frozen = strncmp(nm, "conv1.", 6) == 0 || strncmp(nm, "bn1.", 4) == 0 || strncmp(nm, "layer1.", 7) == 0;
        bool buffer = strstr(nm, "running_") != NULL;
        wrong += is_param != (!frozen && !buffer);
        n_params += is_param;
    }
    printf("%s names of %-18s %d tensors as torchvision's, %.2fM values, %d parameters (frozen_stages 1)\n",
           ok && !wrong ? "OK  " : "FAIL", arch, i, nn_registry_n_values(&reg, false) / 1e6, n_params);
    fails += !ok || wrong;
    nn_registry_free(&reg);
    free(r);
    alrp_free(ctx);
}

// ---- det: the whole RetinaNet ----------------------------------------------------------------

static void det_options(struct model_options * o, enum alrp_bn_mode bn) {
    model_options_for(o, "resnet50", 5, 3);
    o->backbone.base_width = 4;
    o->backbone.frozen_stages = 1;
    o->backbone.bn = bn;
    o->fpn_channels = 16;
    o->head_channels = 16;
    o->head_convs = 4;
}

static struct alrp_buffer * place_and_load(struct alrp_context * ctx_w, int n, struct alrp_tensor * const * ts) {
    struct alrp_buffer * buf = alrp_backend_alloc_ctx_tensors(ctx_w, be);
    CHECK(buf && alrp_ctx_n_unplaced(ctx_w) == 0, "weights placed in one backend buffer");
    char err[512];
    int got = alrp_load_tensors(be, path, n, ts, false, err, sizeof err);
    CHECK(got == n, "loaded %d of %d tensors by name: %s", got, n, got < 0 ? err : "");
    return buf;
}

static void test_det(bool train) {
    struct model_options o;
    det_options(&o, train ? ALRP_BN_FROZEN : ALRP_BN_EVAL);
    struct alrp_init_params ipw = { model_weights_mem_size(&o), NULL, true };
    struct alrp_context * cw = alrp_init(ipw), * cc = ctx_new(64);
    struct model * m = (struct model *) malloc(sizeof(*m));
    char err[256];
    CHECK(model_init(m, cw, &o, err, sizeof err) == 0, "model_init: %s", err);
    printf("det (%s): %d tensors, %lld values, %lld trainable\n", train ? "train, frozen BN" : "eval", model_n_tensors(m),
           (long long) model_n_values(m, false), (long long) model_n_values(m, true));
    struct alrp_buffer * bw = place_and_load(cw, model_n_tensors(m), model_tensors(m));

    struct alrp_tensor * x = input_like(cc, "det.x");
    struct model_out y = model_forward(m, cc, x);
    struct alrp_graph * g = alrp_new_graph(cc, 16384);
    struct alrp_tensor * outs[10] = { y.c[0], y.c[1], y.c[2], y.p[0], y.p[1], y.p[2], y.p[3], y.p[4], y.logits, y.deltas };
    for (int i = 0; i < 10; i++) alrp_set_output(outs[i]);
    struct alrp_tensor * r_cls = NULL, * r_reg = NULL, * loss = NULL;
    if (train) {
        r_cls = input_like(cc, "det.r_cls");
        r_reg = input_like(cc, "det.r_reg");
        loss = alrp_add(cc, alrp_sum(cc, alrp_mul(cc, y.logits, r_cls)), alrp_sum(cc, alrp_mul(cc, y.deltas, r_reg)));
        alrp_set_loss(cc, loss);
        alrp_build_forward(g, loss);
    }
    for (int i = 0; i < 10; i++) alrp_build_forward(g, outs[i]);
    int n_fwd = alrp_graph_n_nodes(g);
    if (train) alrp_build_backward(cc, g);
    struct alrp_gallocr * ga = alrp_gallocr_new(be);
    CHECK(alrp_gallocr_alloc_graph(ga, g), "graph placed");
    upload(x);
    if (train) { upload(r_cls); upload(r_reg); }
    CHECK(alrp_backend_graph_compute(be, g) == ALRP_STATUS_SUCCESS, "det compute");
    struct alrp_gallocr_stats st = alrp_gallocr_get_stats(ga);
    printf("  graph: %d forward nodes, %d in all, activations %.1f MiB (sum of tensors %.1f MiB)\n", n_fwd, alrp_graph_n_nodes(g),
           st.peak_bytes / 1048576.0, st.sum_bytes / 1048576.0);
    int64_t total = 0;
    for (int l = 0; l < 5; l++) total += y.level_anchors[l];
    CHECK(total == alrp_dim(y.logits, 1) && y.level_anchors[0] == 8 * 12 * 3 && y.level_anchors[4] == 1 * 1 * 3,
          "level anchors %lld .. %lld, total %lld", (long long) y.level_anchors[0], (long long) y.level_anchors[4], (long long) total);

    static const char * names[10] = { "det.c3", "det.c4", "det.c5", "det.p3", "det.p4", "det.p5", "det.p6", "det.p7", "det.logits", "det.deltas" };
    for (int i = 0; i < 10; i++) {
        char what[64];
        snprintf(what, sizeof what, "%s%s", names[i], train ? "" : " (eval mode)");
        compare(what, outs[i], names[i], 1e-4);
    }
    if (train) {
        compare("det.loss", loss, "det.loss", 1e-3);   // a sum of ~20k products: the gradients' tolerance
        int n_grads = 0;
        for (int i = 0; i < alrp_st_count(ref_file); i++) {
            const char * nm = alrp_st_at(ref_file, i)->name;
            if (strncmp(nm, "grad.", 5) != 0 || strncmp(nm, "grad.small.", 11) == 0) continue;
            struct alrp_tensor * p = model_find(m, nm + 5);
            CHECK(p != NULL, "model has no tensor '%s'", nm + 5);
            if (!p) continue;
            compare(nm, alrp_graph_grad(g, p), nm, 1e-3);
            n_grads++;
        }
        CHECK(n_grads >= 20, "only %d gradients checked", n_grads);
        // every trainable tensor reaches the loss; the frozen stages have no gradient at all
        int n_trainable = 0, frozen_with_grad = 0;
        for (int i = 0; i < model_n_tensors(m); i++) {
            struct alrp_tensor * t = model_tensors(m)[i];
            n_trainable += (t->flags & ALRP_FLAG_PARAM) != 0;
            bool frozen = strncmp(t->name, "backbone.conv1.", 15) == 0 || strncmp(t->name, "backbone.bn1.", 13) == 0 || strncmp(t->name, "backbone.layer1.", 16) == 0;
            frozen_with_grad += frozen && alrp_graph_grad(g, t) != NULL;
        }
        CHECK(alrp_graph_n_params(g) == n_trainable, "graph has %d parameters, the model %d trainable tensors", alrp_graph_n_params(g), n_trainable);
        CHECK(frozen_with_grad == 0, "%d frozen tensors got a gradient", frozen_with_grad);
        printf("  %d parameters in the graph, none in the stem and layer1\n", alrp_graph_n_params(g));
    } else {
        CHECK(!m->trainable && model_n_values(m, true) == 0, "eval mode: nothing trainable");
    }
    alrp_gallocr_free(ga);
    alrp_buffer_free(bw);
    model_free(m);
    free(m);
    alrp_free(cc);
    alrp_free(cw);
}

// ---- x101: one ResNeXt stage ------------------------------------------------------------------

static void test_x101(void) {
    struct resnet_config cfg;
    resnet_config_from_name("resnext101_32x8d", &cfg);
    cfg.base_width = 8;
    cfg.bn = ALRP_BN_EVAL;
    struct alrp_context * cw = ctx_new(4), * cc = ctx_new(16);
    struct nn_registry reg = { 0 };
    struct resnet * r = (struct resnet *) malloc(sizeof(*r));
    resnet_init(r, &reg, cw, "x101.", &cfg);
    struct alrp_tensor * ts[128];
    int n = 0;
    for (int i = 0; i < reg.n; i++) if (strncmp(reg.tensors[i]->name, "x101.layer2.", 12) == 0 && n < 128) ts[n++] = reg.tensors[i];
    CHECK(n == 65, "layer2 has %d tensors, expected 65 (4 blocks, one downsample)", n);
    struct alrp_buffer * bw = place_and_load(cw, n, ts);
    struct alrp_tensor * x = input_like(cc, "x101.x");
    struct alrp_tensor * y = resnet_layer_forward(r, cc, 2, x);
    alrp_set_output(y);
    struct alrp_graph * g = alrp_new_graph(cc, 1024);
    alrp_build_forward(g, y);
    struct alrp_gallocr * ga = alrp_gallocr_new(be);
    CHECK(alrp_gallocr_alloc_graph(ga, g), "x101 graph placed");
    upload(x);
    CHECK(alrp_backend_graph_compute(be, g) == ALRP_STATUS_SUCCESS, "x101 compute");
    printf("x101: layer2 of ResNeXt-101 32x8d at base width 8 (%d tensors, groups %d, conv2 weight %lldx%lldx3x3)\n", n,
           r->layer[1][0].conv[1].groups, (long long) alrp_dim(r->layer[1][0].conv[1].w, 0), (long long) alrp_dim(r->layer[1][0].conv[1].w, 1));
    compare("x101.y (eval mode)", y, "x101.y", 1e-4);
    alrp_gallocr_free(ga);
    alrp_buffer_free(bw);
    nn_registry_free(&reg);
    free(r);
    alrp_free(cc); alrp_free(cw);
}

// ---- small: the from-scratch backbone, BN in train mode ----------------------------------------

static void test_small(void) {
    struct resnet_config cfg;
    resnet_config_from_name("small", &cfg);
    cfg.base_width = 4;
    struct alrp_context * cw = ctx_new(4), * cc = ctx_new(32);
    struct nn_registry reg = { 0 };
    struct resnet * r = (struct resnet *) malloc(sizeof(*r));
    resnet_init(r, &reg, cw, "small.", &cfg);
    struct alrp_buffer * bw = place_and_load(cw, reg.n, reg.tensors);
    struct alrp_tensor * x = input_like(cc, "small.x"), * c[3], * rr[3];
    resnet_forward(r, cc, x, c);
    struct alrp_tensor * loss = NULL;
    for (int i = 0; i < 3; i++) {
        char nm[32];
        snprintf(nm, sizeof nm, "small.r_c%d", i + 3);
        rr[i] = input_like(cc, nm);
        struct alrp_tensor * l = alrp_sum(cc, alrp_mul(cc, c[i], rr[i]));
        loss = loss ? alrp_add(cc, loss, l) : l;
        alrp_set_output(c[i]);
    }
    alrp_set_loss(cc, loss);
    struct alrp_graph * g = alrp_new_graph(cc, 4096);
    alrp_build_forward(g, loss);
    alrp_build_backward(cc, g);
    struct alrp_gallocr * ga = alrp_gallocr_new(be);
    CHECK(alrp_gallocr_alloc_graph(ga, g), "small graph placed");
    upload(x);
    for (int i = 0; i < 3; i++) upload(rr[i]);
    CHECK(alrp_backend_graph_compute(be, g) == ALRP_STATUS_SUCCESS, "small compute");
    printf("small: BasicBlocks [1, 1, 1, 1], base width 4, BN train (%d tensors, %d parameters)\n", reg.n, alrp_graph_n_params(g));
    static const char * cn[3] = { "small.c3", "small.c4", "small.c5" };
    for (int i = 0; i < 3; i++) compare(cn[i], c[i], cn[i], 1e-4);
    int n_grads = 0, n_stats = 0;
    for (int i = 0; i < reg.n; i++) {
        struct alrp_tensor * t = reg.tensors[i];
        char nm[128];
        if (t->flags & ALRP_FLAG_PARAM) {
            snprintf(nm, sizeof nm, "grad.%s", t->name);
            compare(nm, alrp_graph_grad(g, t), nm, 1e-3);
            n_grads++;
        } else {
            snprintf(nm, sizeof nm, "small.after.%s", t->name + 6);
            compare(nm, t, nm, 1e-4);   // running statistics after the step
            n_stats++;
        }
    }
    CHECK(n_grads == alrp_graph_n_params(g) && n_grads > 0 && n_stats > 0, "small: %d gradients, %d buffers", n_grads, n_stats);
    alrp_gallocr_free(ga);
    alrp_buffer_free(bw);
    nn_registry_free(&reg);
    free(r);
    alrp_free(cc); alrp_free(cw);
}

// ---- init: [A]'s rules ---------------------------------------------------------------------------

static float * read_all(struct alrp_tensor * t) {
    float * v = (float *) malloc(sizeof(float) * (size_t) alrp_nelements(t));
    alrp_backend_get_f32(be, t, v);
    return v;
}
static void stats(struct alrp_tensor * t, double * mean, double * std, double * absmax) {
    float * v = read_all(t);
    int64_t n = alrp_nelements(t);
    double s = 0, s2 = 0, m = 0;
    for (int64_t i = 0; i < n; i++) { s += v[i]; s2 += (double) v[i] * v[i]; m = fmax(m, fabs(v[i])); }
    *mean = s / n; *std = sqrt(fmax(s2 / n - *mean * *mean, 0.0)); *absmax = m;
    free(v);
}

static void init_model(struct model * m, struct alrp_context ** cw, struct alrp_buffer ** bw, const struct model_options * o, uint64_t seed) {
    struct alrp_init_params ip = { model_weights_mem_size(o), NULL, true };
    *cw = alrp_init(ip);
    char err[256];
    CHECK(model_init(m, *cw, o, err, sizeof err) == 0, "model_init: %s", err);
    *bw = alrp_backend_alloc_ctx_tensors(*cw, be);
    CHECK(model_init_weights(m, be, seed) == 0, "model_init_weights");
}
static void done_model(struct model * m, struct alrp_context * cw, struct alrp_buffer * bw) {
    alrp_buffer_free(bw); model_free(m); alrp_free(cw);
}

static void test_init(void) {
    struct model_options o;
    CHECK(model_options_for(&o, "small", 7, 9) == 0, "small options");
    CHECK(model_options_for(&o, "resnet999", 7, 9) == -1, "unknown backbone refused");
    model_options_for(&o, "small", 7, 9);
    struct model * m = (struct model *) malloc(sizeof(*m)), * m2 = (struct model *) malloc(sizeof(*m2));
    struct alrp_context * cw, * cw2;
    struct alrp_buffer * bw, * bw2;
    init_model(m, &cw, &bw, &o, 42);
    double mean, std, mx;
    // head convs N(0, 0.01), bias 0; retina_cls bias -ln(99)
    stats(model_find(m, "bbox_head.cls_convs.0.conv.weight"), &mean, &std, &mx);
    CHECK(fabs(std - 0.01) < 0.0005 && fabs(mean) < 0.0005, "head conv std %.5f mean %.5f", std, mean);
    stats(model_find(m, "bbox_head.retina_reg.weight"), &mean, &std, &mx);
    CHECK(fabs(std - 0.01) < 0.001, "retina_reg std %.5f", std);
    stats(model_find(m, "bbox_head.retina_cls.bias"), &mean, &std, &mx);
    CHECK(fabs(mean - (-log(99.0))) < 1e-6 && std < 1e-6, "retina_cls bias %.6f", mean);
    stats(model_find(m, "bbox_head.reg_convs.1.conv.bias"), &mean, &std, &mx);
    CHECK(mx == 0.0, "head conv bias 0");
    // FPN: xavier uniform, |w| < sqrt(6 / (fan_in + fan_out)), uniform std = bound / sqrt(3)
    struct alrp_tensor * w = model_find(m, "neck.fpn_convs.3.conv.weight");
    double fi = (double) alrp_dim(w, 1) * 9, fo = (double) alrp_dim(w, 0) * 9, b = sqrt(6.0 / (fi + fo));
    stats(w, &mean, &std, &mx);
    CHECK(mx <= b && mx > 0.98 * b && fabs(std - b / sqrt(3.0)) < 0.03 * b, "FPN xavier: max %.4f bound %.4f std %.4f", mx, b, std);
    stats(model_find(m, "neck.lateral_convs.1.conv.bias"), &mean, &std, &mx);
    CHECK(mx == 0.0, "FPN bias 0");
    // backbone: kaiming normal, fan_out; BN weight 1, bias 0, mean 0, var 1
    w = model_find(m, "backbone.layer2.0.conv1.weight");
    double kstd = sqrt(2.0 / ((double) alrp_dim(w, 0) * alrp_dim(w, 2) * alrp_dim(w, 3)));
    double kgot;
    stats(w, &mean, &kgot, &mx);
    CHECK(fabs(kgot - kstd) < 0.05 * kstd, "kaiming std %.4f, expected %.4f", kgot, kstd);
    stats(model_find(m, "backbone.layer3.0.bn2.weight"), &mean, &std, &mx);
    CHECK(mean == 1.0 && std == 0.0, "BN weight 1");
    stats(model_find(m, "backbone.layer3.0.bn2.running_var"), &mean, &std, &mx);
    CHECK(mean == 1.0 && std == 0.0, "BN running_var 1");
    printf("init: head N(0, 0.01), cls bias %.4f, FPN xavier bound %.4f, backbone kaiming std %.4f (expected %.4f)\n", -log(99.0), b, kgot, kstd);

    // the same seed gives the same values; the head does not depend on the backbone's depth
    struct model_options o2 = o;
    o2.backbone.layers[2] = 3;
    init_model(m2, &cw2, &bw2, &o2, 42);
    float * a = read_all(model_find(m, "bbox_head.retina_cls.weight")), * a2 = read_all(model_find(m2, "bbox_head.retina_cls.weight"));
    CHECK(memcmp(a, a2, alrp_nbytes(model_find(m, "bbox_head.retina_cls.weight"))) == 0, "head init independent of the backbone");
    free(a); free(a2);
    done_model(m2, cw2, bw2);
    init_model(m2, &cw2, &bw2, &o, 43);
    a = read_all(model_find(m, "backbone.conv1.weight")); a2 = read_all(model_find(m2, "backbone.conv1.weight"));
    CHECK(memcmp(a, a2, alrp_nbytes(model_find(m, "backbone.conv1.weight"))) != 0, "another seed, other values");
    free(a); free(a2);
    done_model(m2, cw2, bw2);
    done_model(m, cw, bw);
    free(m); free(m2);
    // bad options are refused with a message
    char err[160];
    model_options_for(&o, "resnet50", 80, 9);
    o.backbone.groups = 0;
    CHECK(model_options_check(&o, err, sizeof err) == -1 && strstr(err, "groups"), "bad groups refused: %s", err);
    model_options_for(&o, "resnet50", 0, 9);
    CHECK(model_options_check(&o, err, sizeof err) == -1 && strstr(err, "n_classes"), "0 classes refused: %s", err);
}

// ---- flops -------------------------------------------------------------------------------------

// forward multiply-adds of the model (or the backbone alone) at n x 3 x h x w
// a model of these options with its tensors' shapes only (no data), for counting; NULL (and a
// FAIL line) if model_init refuses the options
static struct model * shapes_only_new(const struct model_options * o, struct alrp_context ** cw) {
    struct alrp_init_params ip = { model_weights_mem_size(o), NULL, true };
    *cw = alrp_init(ip);
    struct model * m = (struct model *) malloc(sizeof(*m));
    char err[256];
    if (model_init(m, *cw, o, err, sizeof err) == 0) return m;
    CHECK(false, "model_init: %s", err);
    free(m); alrp_free(*cw);
    return NULL;
}
static void shapes_only_free(struct model * m, struct alrp_context * cw) { model_free(m); free(m); alrp_free(cw); }

static int64_t macs_of(const struct model_options * o, int64_t h, int64_t w, bool backbone_only, int64_t * params) {
    struct alrp_context * cw;
    struct model * m = shapes_only_new(o, &cw);
    if (!m) return 0;
    struct alrp_context * cc = ctx_new(16);
    struct alrp_tensor * x = alrp_new_tensor_4d(cc, 1, 3, h, w);
    struct alrp_graph * g = alrp_new_graph(cc, 16384);
    if (backbone_only) {
        struct alrp_tensor * c[3];
        resnet_forward(&m->backbone, cc, x, c);
        alrp_build_forward(g, c[2]);
    } else {
        struct model_out y = model_forward(m, cc, x);
        alrp_build_forward(g, y.logits);
        alrp_build_forward(g, y.deltas);
    }
    int64_t macs = model_graph_macs(g);
    if (params) *params = model_n_values(m, false);
    alrp_free(cc);
    shapes_only_free(m, cw);
    return macs;
}

static void test_flops(void) {
    // torchvision's published counts at 224x224 (GMAC, its "GFLOPS" column, fc included: 2 MMAC)
    static const struct { const char * arch; double gmac; } tv[] = {
        { "resnet18", 1.81 }, { "resnet50", 4.09 }, { "resnet101", 7.80 }, { "resnext101_32x8d", 16.41 }, { "resnext101_64x4d", 15.46 },
    };
    for (size_t i = 0; i < sizeof(tv) / sizeof(tv[0]); i++) {
        struct model_options o;
        model_options_for(&o, tv[i].arch, 80, 9);
        double g = macs_of(&o, 224, 224, true, NULL) / 1e9;
        bool ok = fabs(g + 0.002 - tv[i].gmac) <= 0.006 * tv[i].gmac;
        printf("%s flops: %-18s backbone %.2f GMAC at 224x224 (torchvision %.2f)\n", ok ? "OK  " : "FAIL", tv[i].arch, g, tv[i].gmac);
        fails += !ok;
    }
    struct model_options o;
    int64_t params;
    model_options_for(&o, "resnet50", 80, 9);
    printf("     flops: RetinaNet R50 ([A], 9 anchors, 80 classes) at 512x512: %.1f GMAC, backbone %.1f\n",
           macs_of(&o, 512, 512, false, &params) / 1e9, macs_of(&o, 512, 512, true, NULL) / 1e9);
    printf("            %.2fM values\n", params / 1e6);
    // the small backbone at another base width (the config's base_width): the stem and layer1
    // get it, each later stage doubles it, and the FPN's laterals read the new widths
    model_options_for(&o, "small", 7, 2);
    o.backbone.base_width = 24;
    {
        struct alrp_context * cw;
        struct model * m = shapes_only_new(&o, &cw);
        if (m) {
            struct alrp_tensor * c1 = model_find(m, "backbone.conv1.weight");
            struct alrp_tensor * l4 = model_find(m, "backbone.layer4.0.conv2.weight");
            struct alrp_tensor * lat = model_find(m, "neck.lateral_convs.2.conv.weight");
            CHECK(c1 && l4 && lat && alrp_dim(c1, 0) == 24 && alrp_dim(l4, 0) == 192 && alrp_dim(lat, 1) == 192,
                  "small, base_width 24: conv1 %lld channels, layer4 %lld, the P5 lateral reads %lld (24, 192, 192)",
                  c1 ? (long long) alrp_dim(c1, 0) : -1LL, l4 ? (long long) alrp_dim(l4, 0) : -1LL, lat ? (long long) alrp_dim(lat, 1) : -1LL);
            shapes_only_free(m, cw);
        }
    }
    // built like torchvision's RetinaNet (P6 from P5, ReLU before P7): its parameters, BN aside
    // (torchvision's FrozenBatchNorm2d holds buffers), are torchvision's 33,786,804
    model_options_for(&o, "resnet50", 80, 9);
    o.p6_from_p5 = o.p7_relu = true;
    {
        struct alrp_context * cw;
        struct model * m = shapes_only_new(&o, &cw);
        int64_t n = 0;
        if (m) {
            for (int i = 0; i < model_n_tensors(m); i++) {
                const struct alrp_tensor * t = model_tensors(m)[i];
                if (strstr(t->name, ".bn") || strstr(t->name, "downsample.1.")) continue;
                n += alrp_nelements(t);
            }
            struct alrp_tensor * w6 = model_find(m, "neck.fpn_convs.3.conv.weight");
            CHECK(n == 33786804 && w6 && alrp_dim(w6, 1) == 256, "p6_from_p5: %lld parameters besides BN (torchvision's RetinaNet R50: 33786804), fpn_convs.3 reads %lld channels (P5)",
                  (long long) n, w6 ? (long long) alrp_dim(w6, 1) : -1LL);
            shapes_only_free(m, cw);
        }
    }
    static const int sizes[2] = { 256, 320 };
    for (int i = 0; i < 2; i++) {
        model_options_for(&o, "small", 10, 9);
        int64_t all = macs_of(&o, sizes[i], sizes[i], false, &params), bb = macs_of(&o, sizes[i], sizes[i], true, NULL);
        printf("     flops: small model (9 anchors, 10 classes) at %dx%d: %.3f GMAC (backbone %.3f), %.3fM values\n",
               sizes[i], sizes[i], all / 1e9, bb / 1e9, params / 1e6);
    }
}

int main(int argc, char ** argv) {
    if (argc > 1) path = argv[1];
    ref_open_file(path, "gen-ref-model.py");
    be = alrp_backend_cpu_init(2);
    printf("backend: %s, reference %s (%s)\n", alrp_backend_name(be), path, alrp_st_metadata(ref_file, "torch") ? alrp_st_metadata(ref_file, "torch") : "?");
    static const char * archs[5] = { "resnet18", "resnet50", "resnet101", "resnext101_32x8d", "resnext101_64x4d" };
    for (int i = 0; i < 5; i++) check_names(archs[i]);
    test_det(true);
    test_det(false);
    test_x101();
    test_small();
    test_init();
    test_flops();
    alrp_backend_free(be);
    alrp_st_close(ref_file);
    printf("%s\n", fails ? "FAILED" : "all OK");
    return fails ? 1 : 0;
}
