// An MLP that learns a toy 2-D classification (two interleaved spirals) with alrp.h alone:
// graph built once, allocated by the graph allocator, trained with AdamW.
//     make build/examples/mlp && build/examples/mlp
#include "alrp.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

#define N_TRAIN 512
#define N_TEST  512
#define HIDDEN  48

static uint64_t rng_state = 1; // fixed default seed
static float urand(void) { rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull; return (float) ((rng_state >> 40) & 0xFFFFFF) / (float) 0x1000000; }

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

static struct alrp_tensor * linear_param(struct alrp_context * ctx, const char * name, int64_t in, int64_t out, bool bias) {
    struct alrp_tensor * t = bias ? alrp_new_tensor_1d(ctx, out) : alrp_new_tensor_2d(ctx, in, out);
    float bound = 1.0f / sqrtf((float) in); // PyTorch's nn.Linear default init range
    for (int64_t i = 0; i < alrp_nelements(t); i++) alrp_data_f32(t)[i] = bound * (2.0f * urand() - 1.0f);
    alrp_set_name(t, name);
    alrp_set_param(ctx, t);
    return t;
}

int main(void) {
    struct alrp_init_params pp = { 4 << 20, NULL, false };
    struct alrp_context * params = alrp_init(pp);   // weights, optimizer state, data
    struct alrp_tensor * w1 = linear_param(params, "w1", 2, HIDDEN, false), * b1 = linear_param(params, "b1", 2, HIDDEN, true);
    struct alrp_tensor * w2 = linear_param(params, "w2", HIDDEN, HIDDEN, false), * b2 = linear_param(params, "b2", HIDDEN, HIDDEN, true);
    struct alrp_tensor * w3 = linear_param(params, "w3", HIDDEN, 1, false), * b3 = linear_param(params, "b3", HIDDEN, 1, true);
    struct alrp_tensor * x = alrp_set_name(alrp_new_tensor_2d(params, N_TRAIN, 2), "x");
    struct alrp_tensor * y = alrp_set_name(alrp_new_tensor_2d(params, N_TRAIN, 1), "y");
    alrp_set_input(x); alrp_set_input(y);
    float test_xy[2 * N_TEST], test_y[N_TEST];
    make_spirals(N_TRAIN, alrp_data_f32(x), alrp_data_f32(y));
    make_spirals(N_TEST, test_xy, test_y);

    // graph: logits z = mlp(x); loss = mean(log(1 + exp(z)) - y * z)  (binary cross-entropy)
    struct alrp_init_params cp = { 4 << 20, NULL, true };
    struct alrp_context * ctx = alrp_init(cp);
    struct alrp_tensor * h = alrp_relu(ctx, alrp_add(ctx, alrp_matmul(ctx, x, w1), b1));
    h = alrp_relu(ctx, alrp_add(ctx, alrp_matmul(ctx, h, w2), b2));
    struct alrp_tensor * z = alrp_add(ctx, alrp_matmul(ctx, h, w3), b3);
    alrp_set_output(z);
    int64_t one_shape[1] = { 1 };
    struct alrp_tensor * softplus = alrp_log(ctx, alrp_add(ctx, alrp_exp(ctx, z), alrp_fill(ctx, ALRP_TYPE_F32, 1, one_shape, 1.0f)));
    struct alrp_tensor * loss = alrp_mean(ctx, alrp_sub(ctx, softplus, alrp_mul(ctx, y, z)));
    alrp_set_loss(ctx, loss);
    struct alrp_graph * g = alrp_new_graph(ctx, 256);
    alrp_build_forward(g, loss);
    alrp_build_backward(ctx, g);
    struct alrp_gallocr * ga = alrp_gallocr_new();
    alrp_gallocr_alloc_graph(ga, g);

    struct alrp_opt_params op = alrp_opt_default_params(ALRP_OPT_ADAMW);
    op.lr = 0.01f; op.weight_decay = 1e-4f;
    struct alrp_optimizer * opt = alrp_optimizer_new(params, g, op);
    struct alrp_backend * be = alrp_backend_cpu_init(2);
    printf("MLP 2-%d-%d-1 on two spirals, %d points, AdamW, backend %s\n", HIDDEN, HIDDEN, N_TRAIN, alrp_backend_name(be));

    float acc = 0.0f;
    for (int step = 1; step <= 900; step++) {
        alrp_backend_graph_compute(be, g);
        alrp_optimizer_step(opt, alrp_backend_cpu_pool(be));
        if (step % 300 == 0) {
            int correct = 0;
            for (int i = 0; i < N_TRAIN; i++) correct += (alrp_get_f32_1d(z, i) > 0.0f) == (alrp_get_f32_1d(y, i) > 0.5f);
            printf("step %4d | loss %.4f | train accuracy %.1f%%\n", step, alrp_get_f32_1d(loss, 0), 100.0f * (float) correct / N_TRAIN);
        }
    }
    // test accuracy: run the trained graph on held-out points
    memcpy(alrp_data_f32(x), test_xy, sizeof(test_xy));
    memcpy(alrp_data_f32(y), test_y, sizeof(test_y));
    alrp_backend_graph_compute(be, g);
    int correct = 0;
    for (int i = 0; i < N_TEST; i++) correct += (alrp_get_f32_1d(z, i) > 0.0f) == (test_y[i] > 0.5f);
    acc = 100.0f * (float) correct / N_TEST;
    struct alrp_gallocr_stats st = alrp_gallocr_get_stats(ga);
    printf("test accuracy %.1f%% on %d new points (graph: %d nodes, activations %.0f KiB of %.0f KiB)\n", acc, N_TEST,
           alrp_graph_n_nodes(g), st.peak_bytes / 1024.0, st.sum_bytes / 1024.0);
    alrp_backend_free(be);
    alrp_gallocr_free(ga);
    alrp_free(ctx);
    alrp_free(params);
    if (acc < 95.0f) { fprintf(stderr, "mlp: test accuracy %.1f%% is below 95%%\n", acc); return 1; }
    return 0;
}
