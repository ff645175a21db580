// Graph mechanics: the header's usage example, helpful errors, the graph allocator (same results
// as plain allocation, far less memory), and a ResNet-style block that trains.
#include "alrp.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static int fails = 0;
#define CHECK(cond, ...) do { if (!(cond)) { printf("FAIL: "); printf(__VA_ARGS__); printf("\n"); fails++; } else { printf("ok: "); printf(__VA_ARGS__); printf("\n"); } } while (0)

static uint64_t rng_s = 42;
static float rnd(void) { rng_s = rng_s * 6364136223846793005ull + 1442695040888963407ull; return (float) ((rng_s >> 40) & 0xFFFFFF) / (float) 0x800000 - 1.0f; }

static void test_usage_example(void) {
    struct alrp_init_params ip = { .mem_size = 16 * 1024 * 1024 };
    struct alrp_context * ctx = alrp_init(ip);
    struct alrp_tensor * x = alrp_new_tensor_1d(ctx, 1);  alrp_set_param(ctx, x);
    struct alrp_tensor * a = alrp_new_tensor_1d(ctx, 1);
    struct alrp_tensor * b = alrp_new_tensor_1d(ctx, 1);
    struct alrp_tensor * f = alrp_add(ctx, alrp_mul(ctx, a, alrp_mul(ctx, x, x)), b);
    alrp_set_loss(ctx, f);
    struct alrp_graph * gf = alrp_new_graph(ctx, 64);
    alrp_build_forward(gf, f);
    alrp_build_backward(ctx, gf);
    alrp_set_f32_1d(x, 0, 2.0f); alrp_set_f32_1d(a, 0, 3.0f); alrp_set_f32_1d(b, 0, 4.0f);
    alrp_graph_compute(gf, NULL);
    float fv = alrp_get_f32_1d(f, 0), dx = alrp_get_f32_1d(alrp_graph_grad(gf, x), 0);
    CHECK(fv == 16.0f && dx == 12.0f, "usage example: f = %g (16), df/dx = %g (12)", fv, dx);
    alrp_free(ctx);
}

// runs fn in a child process; expects an abort whose stderr contains `expect`
static void expect_abort(const char * what, void (*fn)(void), const char * expect) {
    int pipefd[2];
    if (pipe(pipefd) != 0) { fails++; return; }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) { dup2(pipefd[1], 2); close(pipefd[0]); fn(); _exit(0); }
    close(pipefd[1]);
    char buf[1024] = { 0 }; size_t n = 0; ssize_t r;
    while (n < sizeof(buf) - 1 && (r = read(pipefd[0], buf + n, sizeof(buf) - 1 - n)) > 0) n += (size_t) r;
    close(pipefd[0]);
    int status; waitpid(pid, &status, 0);
    bool aborted = WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0);
    CHECK(aborted && strstr(buf, expect), "%s: aborts with \"%s\"", what, expect);
}
static void no_param(void) {
    struct alrp_init_params ip = { 1 << 20, NULL, false };
    struct alrp_context * ctx = alrp_init(ip);
    struct alrp_tensor * x = alrp_new_tensor_1d(ctx, 3), * l = alrp_sum(ctx, alrp_sqr(ctx, x));
    alrp_set_loss(ctx, l);
    struct alrp_graph * g = alrp_new_graph(ctx, 16);
    alrp_build_forward(g, l);
    alrp_build_backward(ctx, g);
}
static void no_loss(void) {
    struct alrp_init_params ip = { 1 << 20, NULL, false };
    struct alrp_context * ctx = alrp_init(ip);
    struct alrp_tensor * x = alrp_new_tensor_1d(ctx, 3);
    alrp_set_param(ctx, x);
    struct alrp_tensor * l = alrp_sum(ctx, alrp_sqr(ctx, x));
    struct alrp_graph * g = alrp_new_graph(ctx, 16);
    alrp_build_forward(g, l);
    alrp_build_backward(ctx, g);
}
static void bad_broadcast(void) {
    struct alrp_init_params ip = { 1 << 20, NULL, false };
    struct alrp_context * ctx = alrp_init(ip);
    alrp_add(ctx, alrp_new_tensor_2d(ctx, 2, 3), alrp_new_tensor_2d(ctx, 4, 3));
}
static void small_arena(void) {
    struct alrp_init_params ip = { 4096, NULL, false };
    struct alrp_context * ctx = alrp_init(ip);
    alrp_new_tensor_2d(ctx, 100, 100);
}
static void full_graph(void) {
    struct alrp_init_params ip = { 1 << 20, NULL, false };
    struct alrp_context * ctx = alrp_init(ip);
    struct alrp_tensor * x = alrp_new_tensor_1d(ctx, 3);
    for (int i = 0; i < 10; i++) x = alrp_sqr(ctx, x);
    struct alrp_graph * g = alrp_new_graph(ctx, 4);
    alrp_build_forward(g, x);
}

// ---- a ResNet-style block: relu(bn2(conv2(relu(bn1(conv1(x))))) + x), 3x3 convs
struct block {
    struct alrp_tensor * w1, * g1, * b1, * rm1, * rv1;
    struct alrp_tensor * w2, * g2, * b2, * rm2, * rv2;
};
static void block_init(struct alrp_context * ctx, struct block * b, int C) {
    struct alrp_tensor ** ws[2] = { &b->w1, &b->w2 };
    for (int k = 0; k < 2; k++) {
        *ws[k] = alrp_new_tensor_4d(ctx, C, C, 3, 3);
        float sc = sqrtf(2.0f / (9.0f * (float) C));
        for (int64_t i = 0; i < alrp_nelements(*ws[k]); i++) alrp_data_f32(*ws[k])[i] = sc * rnd();
        alrp_set_param(ctx, *ws[k]);
    }
    b->g1 = alrp_new_tensor_1d(ctx, C); b->b1 = alrp_new_tensor_1d(ctx, C); b->g2 = alrp_new_tensor_1d(ctx, C); b->b2 = alrp_new_tensor_1d(ctx, C);
    alrp_tensor_fill(b->g1, 1.0f); alrp_tensor_fill(b->b1, 0.0f); alrp_tensor_fill(b->g2, 1.0f); alrp_tensor_fill(b->b2, 0.0f);
    alrp_set_param(ctx, b->g1); alrp_set_param(ctx, b->b1); alrp_set_param(ctx, b->g2); alrp_set_param(ctx, b->b2);
    b->rm1 = alrp_new_tensor_1d(ctx, C); b->rv1 = alrp_new_tensor_1d(ctx, C); b->rm2 = alrp_new_tensor_1d(ctx, C); b->rv2 = alrp_new_tensor_1d(ctx, C);
    alrp_tensor_fill(b->rm1, 0.0f); alrp_tensor_fill(b->rv1, 1.0f); alrp_tensor_fill(b->rm2, 0.0f); alrp_tensor_fill(b->rv2, 1.0f);
}
static struct alrp_tensor * block_forward(struct alrp_context * ctx, const struct block * b, struct alrp_tensor * x) {
    struct alrp_tensor * h = alrp_conv2d(ctx, x, b->w1, NULL, 1, 1, 1, 1);
    h = alrp_relu(ctx, alrp_batch_norm(ctx, h, b->g1, b->b1, b->rm1, b->rv1, ALRP_BN_TRAIN, 0.1f, 1e-5f));
    h = alrp_conv2d(ctx, h, b->w2, NULL, 1, 1, 1, 1);
    h = alrp_batch_norm(ctx, h, b->g2, b->b2, b->rm2, b->rv2, ALRP_BN_TRAIN, 0.1f, 1e-5f);
    return alrp_relu(ctx, alrp_add(ctx, h, x));
}

static void test_block(void) {
    const int N = 2, C = 8, H = 10, W = 10;
    struct alrp_init_params pp = { 8 << 20, NULL, false };
    struct alrp_context * pctx = alrp_init(pp);  // persistent: params, inputs
    struct block b;
    block_init(pctx, &b, C);
    struct alrp_tensor * x = alrp_new_tensor_4d(pctx, N, C, H, W), * target = alrp_new_tensor_4d(pctx, N, C, H, W);
    for (int64_t i = 0; i < alrp_nelements(x); i++) { alrp_data_f32(x)[i] = rnd(); alrp_data_f32(target)[i] = 0.5f * rnd() + 0.3f; }
    alrp_set_input(x); alrp_set_input(target);

    // the same graph twice: plain arena allocation, and the graph allocator
    struct alrp_tensor * loss[2]; struct alrp_graph * g[2]; struct alrp_context * cctx[2];
    struct alrp_gallocr * ga = alrp_gallocr_new();
    for (int k = 0; k < 2; k++) {
        struct alrp_init_params cp = { 16 << 20, NULL, k == 1 };
        cctx[k] = alrp_init(cp);
        struct alrp_tensor * y = block_forward(cctx[k], &b, x);
        loss[k] = alrp_mean(cctx[k], alrp_sqr(cctx[k], alrp_sub(cctx[k], y, target)));
        alrp_set_loss(cctx[k], loss[k]);
        g[k] = alrp_new_graph(cctx[k], 512);
        alrp_build_forward(g[k], loss[k]);
        alrp_build_backward(cctx[k], g[k]);
    }
    CHECK(alrp_gallocr_alloc_graph(ga, g[1]), "graph allocator places %d nodes", alrp_graph_n_nodes(g[1]));
    struct alrp_gallocr_stats st = alrp_gallocr_get_stats(ga);
    printf("   allocator: peak %.1f KiB for %d tensors summing to %.1f KiB (%.0f%%)\n",
           st.peak_bytes / 1024.0, st.n_allocated, st.sum_bytes / 1024.0, 100.0 * (double) st.peak_bytes / (double) st.sum_bytes);
    CHECK(st.peak_bytes * 2 < st.sum_bytes, "allocator peak is under half the sum of intermediates");

    struct alrp_threadpool * tp = alrp_threadpool_new(2);
    // running stats are updated by both graphs: save and restore so both see the same state
    float saved[4][8];
    struct alrp_tensor * rs[4] = { b.rm1, b.rv1, b.rm2, b.rv2 };
    for (int i = 0; i < 4; i++) memcpy(saved[i], rs[i]->data, sizeof(saved[i]));
    alrp_graph_compute(g[0], tp);
    for (int i = 0; i < 4; i++) memcpy(rs[i]->data, saved[i], sizeof(saved[i]));
    alrp_graph_compute(g[1], tp);
    double maxd = fabs((double) alrp_get_f32_1d(loss[0], 0) - alrp_get_f32_1d(loss[1], 0));
    for (int p = 0; p < alrp_graph_n_params(g[0]); p++) {
        struct alrp_tensor * g0 = alrp_graph_grad(g[0], alrp_graph_param(g[0], p)), * g1 = alrp_graph_grad(g[1], alrp_graph_param(g[1], p));
        for (int64_t i = 0; i < alrp_nelements(g0); i++) maxd = fmax(maxd, fabs((double) alrp_get_f32_1d(g0, i) - alrp_get_f32_1d(g1, i)));
    }
    CHECK(maxd == 0.0, "allocator graph gives the same loss and gradients (max diff %g)", maxd);

    // train: plain SGD on the allocator graph, loss must fall
    float first = 0, last = 0;
    for (int step = 0; step < 30; step++) {
        alrp_graph_compute(g[1], tp);
        float l = alrp_get_f32_1d(loss[1], 0);
        if (step == 0) first = l;
        last = l;
        for (int p = 0; p < alrp_graph_n_params(g[1]); p++) {
            struct alrp_tensor * w = alrp_graph_param(g[1], p), * gr = alrp_graph_grad(g[1], w);
            for (int64_t i = 0; i < alrp_nelements(w); i++) alrp_data_f32(w)[i] -= 0.1f * alrp_get_f32_1d(gr, i);
        }
    }
    CHECK(last < 0.5f * first, "ResNet block trains: loss %.4f -> %.4f in 30 SGD steps", first, last);
    alrp_threadpool_free(tp);
    alrp_gallocr_free(ga);
    alrp_free(cctx[0]); alrp_free(cctx[1]); alrp_free(pctx);
}

// forward-only (inference) graph of 4 blocks: activations die as soon as the next block has read them
static void test_inference_memory(void) {
    struct alrp_init_params pp = { 8 << 20, NULL, false };
    struct alrp_context * pctx = alrp_init(pp);
    struct block b[4];
    for (int i = 0; i < 4; i++) block_init(pctx, &b[i], 8);
    struct alrp_tensor * x = alrp_new_tensor_4d(pctx, 2, 8, 16, 16);
    for (int64_t i = 0; i < alrp_nelements(x); i++) alrp_data_f32(x)[i] = rnd();
    struct alrp_init_params cp = { 4 << 20, NULL, true };
    struct alrp_context * cctx = alrp_init(cp);
    struct alrp_tensor * y = x;
    for (int i = 0; i < 4; i++) y = block_forward(cctx, &b[i], y);
    struct alrp_graph * g = alrp_new_graph(cctx, 256);
    alrp_build_forward(g, y);
    struct alrp_gallocr * ga = alrp_gallocr_new();
    alrp_gallocr_alloc_graph(ga, g);
    alrp_graph_compute(g, NULL);
    struct alrp_gallocr_stats st = alrp_gallocr_get_stats(ga);
    printf("   inference, 4 blocks: peak %.1f KiB for %d tensors summing to %.1f KiB (%.0f%%)\n",
           st.peak_bytes / 1024.0, st.n_allocated, st.sum_bytes / 1024.0, 100.0 * (double) st.peak_bytes / (double) st.sum_bytes);
    CHECK(st.peak_bytes * 5 < st.sum_bytes, "inference peak is under a fifth of the sum of intermediates");
    alrp_gallocr_free(ga); alrp_free(cctx); alrp_free(pctx);
}

// named tensors to a safetensors file and back; shape mismatch and missing names are errors
static void test_save_load(void) {
    struct alrp_init_params ip = { 1 << 20, NULL, false };
    struct alrp_context * ctx = alrp_init(ip);
    struct alrp_tensor * a = alrp_set_name(alrp_new_tensor_4d(ctx, 2, 3, 1, 5), "layer.weight");
    struct alrp_tensor * b = alrp_set_name(alrp_new_tensor_1d(ctx, 7), "layer.bias");
    for (int i = 0; i < 30; i++) alrp_data_f32(a)[i] = rnd();
    for (int i = 0; i < 7; i++) alrp_data_f32(b)[i] = rnd();
    struct alrp_tensor * ts[2] = { a, b };
    char err[512], path[] = "/tmp/alrp-test-graph-XXXXXX";
    int fd = mkstemp(path); close(fd);
    const char * meta[] = { "step", "12", NULL };
    int rc = alrp_save_tensors(path, 2, ts, meta, err, sizeof err);
    struct alrp_tensor * a2 = alrp_set_name(alrp_new_tensor_4d(ctx, 2, 3, 1, 5), "layer.weight");
    struct alrp_tensor * b2 = alrp_set_name(alrp_new_tensor_1d(ctx, 7), "layer.bias");
    struct alrp_tensor * ts2[2] = { a2, b2 };
    int n = alrp_load_tensors(path, 2, ts2, false, err, sizeof err);
    CHECK(rc == 0 && n == 2 && !memcmp(a->data, a2->data, 120) && !memcmp(b->data, b2->data, 28), "tensors round-trip through safetensors");
    struct alrp_tensor * bad = alrp_set_name(alrp_new_tensor_1d(ctx, 8), "layer.bias");
    n = alrp_load_tensors(path, 1, &bad, false, err, sizeof err);
    CHECK(n == -1 && strstr(err, "layer.bias") && strstr(err, "(8)"), "wrong shape is an error naming the tensor: %s", err);
    struct alrp_tensor * miss = alrp_set_name(alrp_new_tensor_1d(ctx, 8), "head.bias");
    n = alrp_load_tensors(path, 1, &miss, false, err, sizeof err);
    CHECK(n == -1 && strstr(err, "no tensor 'head.bias'"), "missing tensor is an error: %s", err);
    CHECK(alrp_load_tensors(path, 1, &miss, true, err, sizeof err) == 0, "missing tensor allowed when asked");
    CHECK(alrp_load_tensors("/nonexistent/w.safetensors", 1, &a2, false, err, sizeof err) == -1 && strstr(err, "/nonexistent/w.safetensors"),
          "missing file is an error naming it: %s", err);
    unlink(path);
    alrp_free(ctx);
}

// splitmix64's published first outputs for seed 0; uniform in [0, 1), normal roughly N(0, 1)
static void test_rng(void) {
    struct alrp_rng r = { 0 };
    uint64_t a = alrp_rng_u64(&r), b = alrp_rng_u64(&r);
    CHECK(a == 0xe220a8397b1dcdafull && b == 0x6e789e6aa1b965f4ull, "alrp_rng: splitmix64 stream");
    double s = 0, s2 = 0, lo = 1, hi = 0;
    for (int i = 0; i < 100000; i++) { double u = alrp_rng_uniform(&r), z = alrp_rng_normal(&r); lo = fmin(lo, u); hi = fmax(hi, u); s += z; s2 += z * z; }
    CHECK(lo >= 0.0 && hi < 1.0 && fabs(s / 1e5) < 0.02 && fabs(s2 / 1e5 - 1.0) < 0.02, "alrp_rng: uniform in [0, 1), normal mean %.3f var %.3f", s / 1e5, s2 / 1e5);
}

int main(void) {
    test_rng();
    test_save_load();
    test_inference_memory();
    test_usage_example();
    expect_abort("no parameter", no_param, "did you forget to call alrp_set_param");
    expect_abort("no loss", no_loss, "did you forget to call alrp_set_loss");
    expect_abort("bad broadcast", bad_broadcast, "shapes (2, 3) and (4, 3) do not broadcast");
    expect_abort("arena too small", small_arena, "raise alrp_init_params.mem_size");
    expect_abort("graph too small", full_graph, "larger max_nodes");
    test_block();
    printf("%s (%d failures)\n", fails ? "FAIL" : "all ok", fails);
    return fails ? 1 : 0;
}
