// Parity of the graph ops with PyTorch: conv2d, batch norm (train, eval), max-pool, nearest
// upsample (values and gradients), and 3 SGD-momentum steps of a conv-BN-ReLU residual block,
// against tests/data/ops.safetensors (written by tools/gen-ref-ops.py). Max abs error <= 1e-4.
// Everything runs on the CPU backend (2 threads): tensors are placed in backend buffers, filled
// and read back with alrp_backend_tensor_set/get; the block's SGD update is part of its graph.
//     build/tests/test-parity [tests/data/ops.safetensors]
#include "alrp.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static const struct alrp_st_file * ref;
static struct alrp_backend * be;
static int fails = 0;
static const float TOL = 1e-4f;

static const struct alrp_st_tensor * need(const char * name) {
    const struct alrp_st_tensor * t = alrp_st_get(ref, name);
    if (!t) { fprintf(stderr, "test-parity: reference tensor '%s' is missing: regenerate with tools/gen-ref-ops.py\n", name); exit(1); }
    return t;
}
static bool has(const char * name) { return alrp_st_get(ref, name) != NULL; }

// Tensors made by load() have no data yet (their context is no_alloc); upload() fills them
// through the backend once they are placed.
static struct { struct alrp_tensor * t; const struct alrp_st_tensor * s; } pending[32];
static int n_pending = 0;

// a tensor in ctx that will hold the reference's values (PyTorch shape)
static struct alrp_tensor * load(struct alrp_context * ctx, const char * name) {
    const struct alrp_st_tensor * s = need(name);
    int64_t shape[4]; int nd = s->n_dims ? s->n_dims : 1;
    for (int i = 0; i < nd; i++) shape[i] = s->n_dims ? s->shape[i] : 1;
    struct alrp_tensor * t = alrp_new_tensor(ctx, ALRP_TYPE_F32, nd, shape);
    if (n_pending >= (int) (sizeof(pending) / sizeof(pending[0]))) { fprintf(stderr, "test-parity: too many tensors to upload\n"); exit(1); }
    pending[n_pending].t = t; pending[n_pending].s = s; n_pending++;
    return alrp_set_name(t, name);
}
static void upload(void) {
    for (int i = 0; i < n_pending; i++) {
        float * v = (float *) malloc(sizeof(float) * (size_t) pending[i].s->numel);
        alrp_st_to_f32(pending[i].s, v);
        alrp_backend_set_f32(be, pending[i].t, v);
        free(v);
    }
    n_pending = 0;
}

static void compare_host(const char * what, const float * v, int64_t n, const char * refname) {
    const struct alrp_st_tensor * s = need(refname);
    if (!v || s->numel != n) { printf("FAIL %-28s size mismatch\n", what); fails++; return; }
    float * r = (float *) malloc(sizeof(float) * (size_t) s->numel);
    alrp_st_to_f32(s, r);
    double m = 0.0;
    for (int64_t i = 0; i < s->numel; i++) m = fmax(m, fabs((double) v[i] - r[i]));
    bool ok = m <= TOL;
    printf("%s %-28s max abs err %.2e\n", ok ? "OK  " : "FAIL", what, m);
    fails += !ok;
    free(r);
}
// t read back through the backend
static void compare(const char * what, const struct alrp_tensor * t, const char * refname) {
    if (!t) { compare_host(what, NULL, 0, refname); return; }
    float * v = (float *) malloc(alrp_nbytes(t));
    alrp_backend_get_f32(be, t, v);
    compare_host(what, v, alrp_nelements(t), refname);
    free(v);
}

static float param(const char * name, int i) {
    const struct alrp_st_tensor * s = need(name);
    float v[16]; alrp_st_to_f32(s, v);
    return v[i];
}

static void check_status(const char * what, enum alrp_status st) {
    if (st != ALRP_STATUS_SUCCESS) { printf("FAIL %-28s compute: %s\n", what, alrp_status_name(st)); fails++; }
}

// loss = sum(y * dy), all inputs as params; placed by the graph allocator (the loaded tensors
// are its data-less leafs), filled, computed
static struct alrp_graph * run(struct alrp_context * ctx, struct alrp_gallocr * ga, struct alrp_tensor * y, struct alrp_tensor * dy) {
    struct alrp_tensor * loss = alrp_sum(ctx, alrp_mul(ctx, y, dy));
    alrp_set_loss(ctx, loss);
    alrp_set_output(y);
    struct alrp_graph * g = alrp_new_graph(ctx, 512);
    alrp_build_forward(g, loss);
    alrp_build_backward(ctx, g);
    if (!alrp_gallocr_alloc_graph(ga, g)) { printf("FAIL graph allocation\n"); fails++; exit(1); }
    upload();
    check_status(y->name, alrp_backend_graph_compute(be, g));
    return g;
}

static void conv_case(const char * c) {
    char k[128];
    struct alrp_init_params ip = { 32 << 20, NULL, true };
    struct alrp_context * ctx = alrp_init(ip);
    struct alrp_gallocr * ga = alrp_gallocr_new(be);
#define NM(s) (snprintf(k, sizeof k, "%s.%s", c, s), k)
    struct alrp_tensor * x = load(ctx, NM("x")), * w = load(ctx, NM("w")), * b = has(NM("b")) ? load(ctx, NM("b")) : NULL;
    struct alrp_tensor * dy = load(ctx, NM("dy"));
    alrp_set_param(ctx, x); alrp_set_param(ctx, w); if (b) alrp_set_param(ctx, b);
    int p[7];
    for (int i = 0; i < 7; i++) p[i] = (int) param(NM("params"), i);
    struct alrp_tensor * y = alrp_conv2d_ex(ctx, x, w, b, p[0], p[1], p[2], p[3], p[4], p[5], p[6]);
    struct alrp_graph * g = run(ctx, ga, y, dy);
    char what[96];
    snprintf(what, sizeof what, "%s y", c);  compare(what, y, NM("y"));
    snprintf(what, sizeof what, "%s dx", c); compare(what, alrp_graph_grad(g, x), NM("dx"));
    snprintf(what, sizeof what, "%s dw", c); compare(what, alrp_graph_grad(g, w), NM("dw"));
    if (b) { snprintf(what, sizeof what, "%s db", c); compare(what, alrp_graph_grad(g, b), NM("db")); }
    alrp_gallocr_free(ga);
    alrp_free(ctx);
}

static void bn_case(const char * c) {
    char k[128], what[96];
    struct alrp_init_params ip = { 32 << 20, NULL, true };
    struct alrp_context * ctx = alrp_init(ip);
    struct alrp_gallocr * ga = alrp_gallocr_new(be);
    struct alrp_tensor * x = load(ctx, NM("x")), * w = load(ctx, NM("w")), * b = load(ctx, NM("b")), * dy = load(ctx, NM("dy"));
    struct alrp_tensor * rm = load(ctx, NM("running_mean")), * rv = load(ctx, NM("running_var"));
    alrp_set_param(ctx, x); alrp_set_param(ctx, w); alrp_set_param(ctx, b);
    bool train = param(NM("params"), 0) != 0.0f;
    struct alrp_tensor * y = alrp_batch_norm(ctx, x, w, b, rm, rv, train ? ALRP_BN_TRAIN : ALRP_BN_EVAL, param(NM("params"), 1), param(NM("params"), 2));
    struct alrp_graph * g = run(ctx, ga, y, dy);
    snprintf(what, sizeof what, "%s y", c);  compare(what, y, NM("y"));
    snprintf(what, sizeof what, "%s dx", c); compare(what, alrp_graph_grad(g, x), NM("dx"));
    snprintf(what, sizeof what, "%s dw", c); compare(what, alrp_graph_grad(g, w), NM("dw"));
    snprintf(what, sizeof what, "%s db", c); compare(what, alrp_graph_grad(g, b), NM("db"));
    if (train) { // updated in place by the compute
        snprintf(what, sizeof what, "%s running_mean", c); compare(what, rm, NM("running_mean_out"));
        snprintf(what, sizeof what, "%s running_var", c);  compare(what, rv, NM("running_var_out"));
    }
    alrp_gallocr_free(ga);
    alrp_free(ctx);
}

static void pool_up_case(const char * c, bool pool) {
    char k[128], what[96];
    struct alrp_init_params ip = { 32 << 20, NULL, true };
    struct alrp_context * ctx = alrp_init(ip);
    struct alrp_gallocr * ga = alrp_gallocr_new(be);
    struct alrp_tensor * x = load(ctx, NM("x")), * dy = load(ctx, NM("dy"));
    alrp_set_param(ctx, x);
    struct alrp_tensor * y;
    if (pool) {
        int kh = (int) param(NM("params"), 0), sh = (int) param(NM("params"), 2), ph = (int) param(NM("params"), 4);
        y = alrp_max_pool2d(ctx, x, kh, sh, ph);
    } else {
        y = alrp_upsample_nearest(ctx, x, (int) param(NM("params"), 0));
    }
    struct alrp_graph * g = run(ctx, ga, y, dy);
    snprintf(what, sizeof what, "%s y", c);  compare(what, y, NM("y"));
    snprintf(what, sizeof what, "%s dx", c); compare(what, alrp_graph_grad(g, x), NM("dx"));
    alrp_gallocr_free(ga);
    alrp_free(ctx);
}

// The residual block trained 3 steps with SGD-momentum: losses, step-0 output and grads, final
// state. Parameters, BN running statistics and the momentum buffers live in one backend buffer;
// each step is one compute of one graph (forward, backward, update).
static void block_case(void) {
    const char * c = "block";
    char k[128], what[96];
    struct alrp_init_params pp = { 32 << 20, NULL, true };
    struct alrp_context * pctx = alrp_init(pp);
    const char * pn[] = { "conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight", "bn2.weight", "bn2.bias" };
    const char * bn[] = { "bn1.running_mean", "bn1.running_var", "bn2.running_mean", "bn2.running_var" };
    struct alrp_tensor * P[6], * B[4];
    for (int i = 0; i < 6; i++) { snprintf(k, sizeof k, "block.init.%s", pn[i]); P[i] = load(pctx, k); alrp_set_name(P[i], pn[i]); alrp_set_param(pctx, P[i]); }
    for (int i = 0; i < 4; i++) { snprintf(k, sizeof k, "block.init.%s", bn[i]); B[i] = load(pctx, k); alrp_set_name(B[i], bn[i]); }
    float lr = param(NM("params"), 0), mom = param(NM("params"), 1), wd = param(NM("params"), 2), bm = param(NM("params"), 3), beps = param(NM("params"), 4);
    int steps = (int) param(NM("params"), 5);

    struct alrp_init_params cp = { 32 << 20, NULL, true };
    struct alrp_context * ctx = alrp_init(cp);
    struct alrp_tensor * x = load(ctx, NM("x")), * target = load(ctx, NM("target"));
    alrp_set_input(x); alrp_set_input(target);
    struct alrp_tensor * h = alrp_conv2d(ctx, x, P[0], NULL, 1, 1, 1, 1);
    h = alrp_relu(ctx, alrp_batch_norm(ctx, h, P[1], P[2], B[0], B[1], ALRP_BN_TRAIN, bm, beps));
    h = alrp_conv2d(ctx, h, P[3], NULL, 1, 1, 1, 1);
    h = alrp_batch_norm(ctx, h, P[4], P[5], B[2], B[3], ALRP_BN_TRAIN, bm, beps);
    struct alrp_tensor * out = alrp_relu(ctx, alrp_add(ctx, h, x));
    alrp_set_output(out);
    struct alrp_tensor * loss = alrp_mean(ctx, alrp_sqr(ctx, alrp_sub(ctx, out, target)));
    alrp_set_loss(ctx, loss);
    struct alrp_graph * g = alrp_new_graph(ctx, 512);
    alrp_build_forward(g, loss);
    alrp_build_backward(ctx, g);
    struct alrp_opt_params op = alrp_opt_default_params(ALRP_OPT_SGD);
    op.lr = lr; op.momentum = mom; op.weight_decay = wd;
    struct alrp_optimizer * opt = alrp_optimizer_new(pctx, g, op);
    struct alrp_buffer * bw = alrp_backend_alloc_ctx_tensors(pctx, be);
    if (!bw || alrp_ctx_n_unplaced(pctx) != 0) { printf("FAIL block parameters not placed\n"); fails++; exit(1); }
    alrp_optimizer_reset(opt, be);
    alrp_optimizer_build(opt, ctx, g, 0.0f);   // no clipping
    struct alrp_gallocr * ga = alrp_gallocr_new(be);
    if (!alrp_gallocr_alloc_graph(ga, g)) { printf("FAIL block graph allocation\n"); fails++; exit(1); }
    upload();   // parameters, running statistics, x, target

    float losses[16];
    if (steps < 1 || steps > 16) { printf("FAIL block: %d steps\n", steps); fails++; steps = 0; }
    for (int s = 0; s < steps; s++) {
        alrp_optimizer_prepare(opt, be);
        check_status("block step", alrp_backend_graph_compute(be, g));
        losses[s] = alrp_backend_get_f32_1(be, loss, 0);
        if (s == 0) { // out and the gradients keep their step-0 values (OUTPUT) after the update
            compare("block step0 out", out, "block.step0.out");
            for (int i = 0; i < 6; i++) {
                snprintf(k, sizeof k, "block.step0.grad.%s", pn[i]);
                snprintf(what, sizeof what, "block step0 grad %s", pn[i]);
                compare(what, alrp_graph_grad(g, P[i]), k);
            }
        }
    }
    compare_host("block losses (3 steps)", losses, steps, "block.loss");
    for (int i = 0; i < 6; i++) { snprintf(k, sizeof k, "block.final.%s", pn[i]); snprintf(what, sizeof what, "block final %s", pn[i]); compare(what, P[i], k); }
    for (int i = 0; i < 4; i++) { snprintf(k, sizeof k, "block.final.%s", bn[i]); snprintf(what, sizeof what, "block final %s", bn[i]); compare(what, B[i], k); }
    alrp_gallocr_free(ga);
    alrp_buffer_free(bw);
    alrp_free(ctx);
    alrp_free(pctx);
#undef NM
}

int main(int argc, char ** argv) {
    const char * path = argc > 1 ? argv[1] : "tests/data/ops.safetensors";
    char err[512];
    struct alrp_st_file * f = alrp_st_load(path, err, sizeof err);
    if (!f) { fprintf(stderr, "test-parity: %s\n", err); return 1; }
    ref = f;
    be = alrp_backend_cpu_init(2);
    printf("backend: %s, 2 threads\n", alrp_backend_name(be));
    char name[16];
    for (int i = 0; i < 7; i++) { snprintf(name, sizeof name, "conv%d", i); conv_case(name); }
    bn_case("bn0"); bn_case("bn1");
    pool_up_case("pool0", true); pool_up_case("pool1", true); pool_up_case("up0", false);
    block_case();
    alrp_backend_free(be);
    alrp_st_close(f);
    printf("%s: %d mismatches\n", fails ? "FAIL" : "all ok", fails);
    return fails ? 1 : 0;
}
