// An MLP that learns a toy 2-D classification (two interleaved spirals) with alrp.h alone.
// It shows the pattern for training on a backend:
//   * parameters and optimizer state in a no_alloc context, placed in one backend buffer;
//   * one training graph, built once: forward, backward and the AdamW update as graph ops,
//     placed by the graph allocator, so a step is one alrp_backend_graph_compute;
//   * a forward-only graph on the same parameters for evaluation;
//   * data in and results out only through alrp_backend_tensor_set / _get (alrp_backend_set_f32,
//     alrp_backend_get_f32), never through t->data, so the same code runs on any backend.
//     make build/examples/mlp && build/examples/mlp
#include "alrp.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

#define N_TRAIN 512
#define N_TEST  512
#define HIDDEN  48
#define STEPS   900

static struct alrp_rng rng = { 1 }; // fixed seed: the run is reproducible
static float urand(void) { return (float) alrp_rng_uniform(&rng); }   // [0, 1)

// two spirals: point i of class c at angle t, radius t, plus noise
static void make_spirals(int n, float * xy, float * label) {
    for (int i = 0; i < n; i++) {
        int c = i & 1;
        float t = 0.25f + 3.5f * urand();
        float a = t * 1.75f + (c ? 3.14159265f : 0.0f);
        xy[2 * i + 0] = t * cosf(a) / 3.0f + 0.04f * (urand() - 0.5f);
        xy[2 * i + 1] = t * sinf(a) / 3.0f + 0.04f * (urand() - 0.5f);
        label[i] = (float) c;
    }
}

// the model: 2 -> HIDDEN -> HIDDEN -> 1, ReLU between the layers
struct mlp { struct alrp_tensor * w1, * b1, * w2, * b2, * w3, * b3; };

static struct alrp_tensor * param(struct alrp_context * ctx, const char * name, int64_t in, int64_t out, bool bias) {
    struct alrp_tensor * t = bias ? alrp_new_tensor_1d(ctx, out) : alrp_new_tensor_2d(ctx, in, out);
    alrp_set_name(t, name);
    alrp_set_param(ctx, t);   // trainable: the backward computes its gradient
    return t;
}
// PyTorch's nn.Linear default init: uniform in [-1/sqrt(in), 1/sqrt(in)], uploaded to the backend
static void init_uniform(struct alrp_backend * be, struct alrp_tensor * t, int64_t in) {
    float v[HIDDEN * HIDDEN];
    float bound = 1.0f / sqrtf((float) in);
    for (int64_t i = 0; i < alrp_nelements(t); i++) v[i] = bound * (2.0f * urand() - 1.0f);
    alrp_backend_set_f32(be, t, v);
}

// logits z (n, 1) of x (n, 2)
static struct alrp_tensor * mlp_forward(struct alrp_context * ctx, const struct mlp * m, struct alrp_tensor * x) {
    struct alrp_tensor * h = alrp_relu(ctx, alrp_add(ctx, alrp_matmul(ctx, x, m->w1), m->b1));
    h = alrp_relu(ctx, alrp_add(ctx, alrp_matmul(ctx, h, m->w2), m->b2));
    return alrp_add(ctx, alrp_matmul(ctx, h, m->w3), m->b3);
}

static int n_correct(const float * z, const float * label, int n) {
    int c = 0;
    for (int i = 0; i < n; i++) c += (z[i] > 0.0f) == (label[i] > 0.5f);
    return c;
}

int main(void) {
    struct alrp_backend * be = alrp_backend_cpu_init(2);   // 2 threads

    // 1. parameters: tensors without data (no_alloc); placed in step 3
    struct alrp_init_params wp = { 1 << 20, NULL, true };
    struct alrp_context * ctx_w = alrp_init(wp);
    struct mlp m = {
        param(ctx_w, "w1", 2, HIDDEN, false),      param(ctx_w, "b1", 2, HIDDEN, true),
        param(ctx_w, "w2", HIDDEN, HIDDEN, false), param(ctx_w, "b2", HIDDEN, HIDDEN, true),
        param(ctx_w, "w3", HIDDEN, 1, false),      param(ctx_w, "b3", HIDDEN, 1, true),
    };

    // 2. the training graph: logits z = mlp(x); loss = mean(log(1 + exp(z)) - y * z), binary
    //    cross-entropy; x and y are inputs that the graph allocator places with the nodes
    struct alrp_init_params cp = { 4 << 20, NULL, true };
    struct alrp_context * ctx = alrp_init(cp);
    struct alrp_tensor * x = alrp_set_name(alrp_new_tensor_2d(ctx, N_TRAIN, 2), "x");
    struct alrp_tensor * y = alrp_set_name(alrp_new_tensor_2d(ctx, N_TRAIN, 1), "y");
    alrp_set_input(x); alrp_set_input(y);
    struct alrp_tensor * z = mlp_forward(ctx, &m, x);
    alrp_set_output(z);   // read after compute: its memory is not reused
    int64_t one_shape[1] = { 1 };
    struct alrp_tensor * softplus = alrp_log(ctx, alrp_add(ctx, alrp_exp(ctx, z), alrp_fill(ctx, ALRP_TYPE_F32, 1, one_shape, 1.0f)));
    struct alrp_tensor * loss = alrp_mean(ctx, alrp_sub(ctx, softplus, alrp_mul(ctx, y, z)));
    alrp_set_loss(ctx, loss);
    struct alrp_graph * g = alrp_new_graph(ctx, 256);
    alrp_build_forward(g, loss);
    alrp_build_backward(ctx, g);

    // 3. the optimizer's state (AdamW m and v) joins the parameters in ctx_w, then all of ctx_w
    //    goes into one backend buffer and gets its initial values
    struct alrp_opt_params op = alrp_opt_default_params(ALRP_OPT_ADAMW);
    op.lr = 0.01f; op.weight_decay = 1e-4f;
    struct alrp_optimizer * opt = alrp_optimizer_new(ctx_w, g, op);
    struct alrp_buffer * buf_w = alrp_backend_alloc_ctx_tensors(ctx_w, be);
    if (!buf_w || alrp_ctx_n_unplaced(ctx_w) != 0) { fprintf(stderr, "mlp: out of backend memory for the parameters\n"); return 1; }
    init_uniform(be, m.w1, 2);      init_uniform(be, m.b1, 2);
    init_uniform(be, m.w2, HIDDEN); init_uniform(be, m.b2, HIDDEN);
    init_uniform(be, m.w3, HIDDEN); init_uniform(be, m.b3, HIDDEN);
    alrp_optimizer_reset(opt, be);   // state 0, step 0

    // 4. the update nodes go into the training graph, then the graph allocator places it
    alrp_optimizer_build(opt, ctx, g, 0.0f);   // 0: no gradient clipping
    struct alrp_gallocr * ga = alrp_gallocr_new(be);
    if (!alrp_gallocr_alloc_graph(ga, g)) { fprintf(stderr, "mlp: out of backend memory for the graph\n"); return 1; }

    // 5. the evaluation graph: the same parameters, forward only, its own inputs and allocator
    struct alrp_context * ctx_e = alrp_init(cp);
    struct alrp_tensor * x_test = alrp_set_name(alrp_new_tensor_2d(ctx_e, N_TEST, 2), "x_test");
    alrp_set_input(x_test);
    struct alrp_tensor * z_test = mlp_forward(ctx_e, &m, x_test);
    alrp_set_output(z_test);
    struct alrp_graph * g_test = alrp_new_graph(ctx_e, 64);
    alrp_build_forward(g_test, z_test);
    struct alrp_gallocr * ga_test = alrp_gallocr_new(be);
    if (!alrp_gallocr_alloc_graph(ga_test, g_test)) { fprintf(stderr, "mlp: out of backend memory for the graph\n"); return 1; }

    // the data, uploaded once (inputs keep their memory)
    static float train_xy[2 * N_TRAIN], train_y[N_TRAIN], test_xy[2 * N_TEST], test_y[N_TEST], zh[N_TRAIN];
    make_spirals(N_TRAIN, train_xy, train_y);
    make_spirals(N_TEST, test_xy, test_y);
    alrp_backend_set_f32(be, x, train_xy);
    alrp_backend_set_f32(be, y, train_y);
    alrp_backend_set_f32(be, x_test, test_xy);
    printf("MLP 2-%d-%d-1 on two spirals, %d points, AdamW, backend %s\n", HIDDEN, HIDDEN, N_TRAIN, alrp_backend_name(be));

    // 6. training: each step is forward, backward and update in one compute
    for (int step = 1; step <= STEPS; step++) {
        alrp_optimizer_prepare(opt, be);   // step count and lr for this step
        enum alrp_status st = alrp_backend_graph_compute(be, g);
        if (st != ALRP_STATUS_SUCCESS) { fprintf(stderr, "mlp: step %d: %s\n", step, alrp_status_name(st)); return 1; }
        if (step % 300 == 0) {   // z and loss are this step's forward, before its update
            alrp_backend_get_f32(be, z, zh);
            printf("step %4d | loss %.4f | train accuracy %.1f%%\n", step, alrp_backend_get_f32_1(be, loss, 0),
                   100.0f * (float) n_correct(zh, train_y, N_TRAIN) / N_TRAIN);
        }
    }

    // 7. test accuracy: the trained parameters on held-out points
    enum alrp_status st = alrp_backend_graph_compute(be, g_test);
    if (st != ALRP_STATUS_SUCCESS) { fprintf(stderr, "mlp: evaluation: %s\n", alrp_status_name(st)); return 1; }
    alrp_backend_get_f32(be, z_test, zh);
    float acc = 100.0f * (float) n_correct(zh, test_y, N_TEST) / N_TEST;
    struct alrp_gallocr_stats gs = alrp_gallocr_get_stats(ga);
    printf("test accuracy %.1f%% on %d new points (graph: %d nodes, activations %.0f KiB of %.0f KiB)\n", acc, N_TEST,
           alrp_graph_n_nodes(g), gs.peak_bytes / 1024.0, gs.sum_bytes / 1024.0);

    alrp_gallocr_free(ga_test);
    alrp_gallocr_free(ga);
    alrp_buffer_free(buf_w);
    alrp_free(ctx_e);
    alrp_free(ctx);
    alrp_free(ctx_w);
    alrp_backend_free(be);
    if (acc < 95.0f) { fprintf(stderr, "mlp: test accuracy %.1f%% is below 95%%\n", acc); return 1; }
    return 0;
}
