// Graph mechanics on the CPU backend: the header's usage example, helpful errors, placement
// (no_alloc contexts placed in backend buffers, views, tensor_set/get/memset), the graph
// allocator (same results as plain allocation, far less memory, reserve then alloc without
// reallocating), backend capabilities and status codes, named-tensor files through the
// backend, and a ResNet-style block that trains. Every tensor is read and written through the
// backend (alrp_backend_tensor_set/get), never through t->data (the placement checks compare
// data pointers, never dereference them).
#include "alrp.h"
#include "capture-stderr.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int fails = 0;
#define CHECK(cond, ...) do { if (!(cond)) { printf("FAIL: "); printf(__VA_ARGS__); printf("\n"); fails++; } else { printf("ok: "); printf(__VA_ARGS__); printf("\n"); } } while (0)

static struct alrp_rng rng = { 42 };
static float rnd(void) { return (float) (2.0 * alrp_rng_uniform(&rng) - 1.0); }   // [-1, 1)

// whole-tensor fills through the backend
static void fill_const(struct alrp_backend * be, struct alrp_tensor * t, float v) {
    int64_t n = alrp_nelements(t);
    float * h = (float *) malloc(sizeof(float) * (size_t) n);
    for (int64_t i = 0; i < n; i++) h[i] = v;
    alrp_backend_set_f32(be, t, h);
    free(h);
}
static void fill_rnd(struct alrp_backend * be, struct alrp_tensor * t, float scale, float shift) {
    int64_t n = alrp_nelements(t);
    float * h = (float *) malloc(sizeof(float) * (size_t) n);
    for (int64_t i = 0; i < n; i++) h[i] = scale * rnd() + shift;
    alrp_backend_set_f32(be, t, h);
    free(h);
}
static float * get_all(struct alrp_backend * be, const struct alrp_tensor * t) {   // malloc'ed copy
    float * h = (float *) malloc(sizeof(float) * (size_t) alrp_nelements(t));
    alrp_backend_get_f32(be, t, h);
    return h;
}


static void test_usage_example(struct alrp_backend * be) {
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
    const float xv = 2.0f, av = 3.0f, bv = 4.0f;
    alrp_backend_set_f32(be, x, &xv); alrp_backend_set_f32(be, a, &av); alrp_backend_set_f32(be, b, &bv);
    enum alrp_status st = alrp_backend_graph_compute(be, gf);
    float fv = alrp_backend_get_f32_1(be, f, 0), dx = alrp_backend_get_f32_1(be, alrp_graph_grad(gf, x), 0);
    CHECK(st == ALRP_STATUS_SUCCESS && fv == 16.0f && dx == 12.0f, "usage example: f = %g (16), df/dx = %g (12)", fv, dx);
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
// misuse of tensor_set: a placed (2, 3) tensor, then a strided view of it, a range past its
// end, and a tensor that was never placed
static struct alrp_tensor * placed_2x3(struct alrp_backend * be, struct alrp_context ** ctx) {
    struct alrp_init_params ip = { 1 << 20, NULL, true };
    *ctx = alrp_init(ip);
    struct alrp_tensor * a = alrp_set_name(alrp_new_tensor_2d(*ctx, 2, 3), "a");
    alrp_backend_alloc_ctx_tensors(*ctx, be);
    return a;
}
static void set_strided(void) {
    struct alrp_backend * be = alrp_backend_cpu_init(1);
    struct alrp_context * ctx;
    struct alrp_tensor * a = placed_2x3(be, &ctx);
    const int axes[2] = { 1, 0 };
    struct alrp_tensor * at = alrp_set_name(alrp_permute(ctx, a, axes), "a.T");
    float v[6] = { 0 };
    alrp_backend_tensor_set(be, at, v, 0, sizeof v);
}
static void set_out_of_range(void) {
    struct alrp_backend * be = alrp_backend_cpu_init(1);
    struct alrp_context * ctx;
    struct alrp_tensor * a = placed_2x3(be, &ctx);
    float v[2] = { 0 };
    alrp_backend_tensor_set(be, a, v, 20, sizeof v);
}
static void set_unplaced(void) {
    struct alrp_backend * be = alrp_backend_cpu_init(1);
    struct alrp_init_params ip = { 1 << 20, NULL, true };
    struct alrp_context * ctx = alrp_init(ip);
    struct alrp_tensor * a = alrp_set_name(alrp_new_tensor_1d(ctx, 4), "nowhere");
    float v[4] = { 0 };
    alrp_backend_tensor_set(be, a, v, 0, sizeof v);
}

// ---- placement: a no_alloc context in one backend buffer; views follow; set/get/memset
static void test_placement(struct alrp_backend * be) {
    struct alrp_init_params ip = { 1 << 20, NULL, true };
    struct alrp_context * ctx = alrp_init(ip);
    struct alrp_tensor * a = alrp_set_name(alrp_new_tensor_2d(ctx, 4, 6), "a");
    struct alrp_tensor * b = alrp_set_name(alrp_new_tensor_1d(ctx, 10), "b");
    struct alrp_tensor * ix = alrp_set_name(alrp_new_i32_1d(ctx, 3), "ix");
    struct alrp_tensor * a_flat = alrp_reshape_1d(ctx, a, 24);
    struct alrp_tensor * a_rows = alrp_slice(ctx, a, 0, 1, 2);   // rows 1..2: contiguous, 24 bytes in
    const int axes[2] = { 1, 0 };
    struct alrp_tensor * a_t = alrp_permute(ctx, a, axes);      // strided
    int before = alrp_ctx_n_unplaced(ctx);
    bool no_data = !a->data && !b->data && !a_flat->data && !a_rows->data;
    int64_t allocs0 = alrp_backend_n_buffer_allocs(be);
    struct alrp_buffer * buf = alrp_backend_alloc_ctx_tensors(ctx, be);
    CHECK(before == 3 && no_data && buf && alrp_ctx_n_unplaced(ctx) == 0 && alrp_backend_n_buffer_allocs(be) == allocs0 + 1,
          "alloc_ctx_tensors: %d unplaced tensors -> %d, in one buffer of %zu bytes", before, alrp_ctx_n_unplaced(ctx), buf ? alrp_buffer_size(buf) : 0);
    CHECK(buf && alrp_buffer_backend(buf) == be && a->buffer == buf && b->buffer == buf && ix->buffer == buf && alrp_buffer_size(buf) >= 96 + 40 + 12,
          "placed tensors record the buffer");
    CHECK(a_flat->data == a->data && a_rows->data && (char *) a_rows->data - (char *) a->data == 24 && a_t->data == a->data &&
          a_flat->buffer == buf && a_rows->buffer == buf && a_t->buffer == buf,
          "views of placed tensors get data (at their offset) and the buffer");

    // whole-tensor set, read back through a view
    float av[24], rows[12];
    for (int i = 0; i < 24; i++) av[i] = (float) i;
    alrp_backend_set_f32(be, a, av);
    alrp_backend_get_f32(be, a_rows, rows);
    bool ok = true;
    for (int i = 0; i < 12; i++) ok = ok && rows[i] == (float) (6 + i);
    CHECK(ok && alrp_backend_get_f32_1(be, a_flat, 17) == 17.0f, "a view reads its source's bytes through the backend");

    // byte ranges: memset, set at an offset, get at an offset
    float bv[10], part[2], four[4] = { 1, 2, 3, 4 };
    alrp_backend_tensor_memset(be, b, 0, 0, alrp_nbytes(b));
    alrp_backend_tensor_set(be, b, four, 3 * sizeof(float), sizeof four);
    alrp_backend_get_f32(be, b, bv);
    const float expect[10] = { 0, 0, 0, 1, 2, 3, 4, 0, 0, 0 };
    alrp_backend_tensor_get(be, b, part, 4 * sizeof(float), sizeof part);
    CHECK(!memcmp(bv, expect, sizeof bv) && part[0] == 2.0f && part[1] == 3.0f && alrp_backend_get_f32_1(be, b, 6) == 4.0f,
          "tensor_set / tensor_get with byte offsets round-trip");
    alrp_backend_tensor_memset(be, b, 0x3f, 7 * sizeof(float), 2 * sizeof(float));
    uint8_t bytes[40];
    alrp_backend_tensor_get(be, b, bytes, 0, sizeof bytes);
    ok = !memcmp(bytes, expect, 28) && !memcmp(bytes + 36, &expect[9], 4);
    for (int i = 28; i < 36; i++) ok = ok && bytes[i] == 0x3f;
    CHECK(ok, "tensor_memset writes only its byte range");
    const int32_t iv[3] = { -7, 0, 1 << 30 };
    int32_t iback[3];
    alrp_backend_tensor_set(be, ix, iv, 0, sizeof iv);
    alrp_backend_tensor_get(be, ix, iback, 0, sizeof iback);
    CHECK(!memcmp(iv, iback, sizeof iv), "an i32 tensor round-trips");
    alrp_buffer_free(buf);
    alrp_free(ctx);
}

// ---- the graph allocator sized once (reserve), then graphs of other sizes
// y = sum(2 x^2 + x): with x = 1.5 every element gives 6 (exact)
static struct alrp_graph * chain_graph(struct alrp_context * ctx, int64_t n, struct alrp_tensor ** x, struct alrp_tensor ** y) {
    *x = alrp_set_name(alrp_new_tensor_1d(ctx, n), "x");
    alrp_set_input(*x);
    struct alrp_tensor * h = alrp_add(ctx, alrp_scale(ctx, alrp_sqr(ctx, *x), 2.0f), *x);
    *y = alrp_sum(ctx, alrp_exp(ctx, alrp_log(ctx, h)));
    alrp_set_output(*y);
    struct alrp_graph * g = alrp_new_graph(ctx, 32);
    alrp_build_forward(g, *y);
    return g;
}
static void test_reserve(struct alrp_backend * be) {
    const int64_t sizes[3] = { 1000, 4000, 16000 };   // small, reserved, large
    struct alrp_context * ctx[3]; struct alrp_graph * g[3]; struct alrp_tensor * x[3], * y[3];
    for (int k = 0; k < 3; k++) {
        struct alrp_init_params ip = { 1 << 20, NULL, true };
        ctx[k] = alrp_init(ip);
        g[k] = chain_graph(ctx[k], sizes[k], &x[k], &y[k]);
    }
    struct alrp_gallocr * ga = alrp_gallocr_new(be);
    int64_t a0 = alrp_backend_n_buffer_allocs(be);
    CHECK(alrp_gallocr_reserve(ga, g[1]), "reserve for the %lld-element graph: %.1f KiB", (long long) sizes[1], alrp_gallocr_get_stats(ga).peak_bytes / 1024.0);
    // compute graph k and check y = 6 n
    bool ok[3];
    for (int k = 0; k < 3; k++) {
        bool placed = alrp_gallocr_alloc_graph(ga, g[k]);
        fill_const(be, x[k], 1.5f);
        ok[k] = placed && alrp_backend_graph_compute(be, g[k]) == ALRP_STATUS_SUCCESS;
        float v = ok[k] ? alrp_backend_get_f32_1(be, y[k], 0) : 0.0f;
        ok[k] = ok[k] && fabsf(v - 6.0f * (float) sizes[k]) <= 1e-3f * (float) sizes[k];
        struct alrp_gallocr_stats st = alrp_gallocr_get_stats(ga);
        if (k == 0) CHECK(ok[0] && st.n_reallocs == 0 && alrp_backend_n_buffer_allocs(be) == a0 + 1,
                          "a smaller graph fits the reserved buffer: n_reallocs %d, y = %g", st.n_reallocs, v);
        if (k == 1) CHECK(ok[1] && st.n_reallocs == 0 && alrp_backend_n_buffer_allocs(be) == a0 + 1,
                          "the reserved graph fits: n_reallocs %d, y = %g", st.n_reallocs, v);
        if (k == 2) CHECK(ok[2] && st.n_reallocs == 1 && alrp_backend_n_buffer_allocs(be) == a0 + 2,
                          "a larger graph grows the buffer once: n_reallocs %d, peak %.1f KiB, y = %g", st.n_reallocs, st.peak_bytes / 1024.0, v);
    }
    // the first (small) graph again, after the growth: placed again in the grown buffer (the
    // buffer object is kept, its memory moved), no new buffer
    bool again = alrp_gallocr_alloc_graph(ga, g[0]);
    fill_const(be, x[0], 1.5f);
    again = again && alrp_backend_graph_compute(be, g[0]) == ALRP_STATUS_SUCCESS && fabsf(alrp_backend_get_f32_1(be, y[0], 0) - 6000.0f) <= 1.0f;
    CHECK(again && alrp_gallocr_get_stats(ga).n_reallocs == 1 && alrp_backend_n_buffer_allocs(be) == a0 + 2,
          "the small graph again after that: re-placed, no new buffer, y = %g", alrp_backend_get_f32_1(be, y[0], 0));
    alrp_gallocr_free(ga);
    for (int k = 0; k < 3; k++) alrp_free(ctx[k]);
}

// ---- what the backend can do, and how it says it cannot
static struct alrp_backend * cpu_be;   // the real backend behind the fake one below
static bool no_mul(struct alrp_backend * be, const struct alrp_tensor * t) {
    return t->op != ALRP_OP_MUL && cpu_be->iface.supports_op(be, t);
}
static void test_capabilities(struct alrp_backend * be) {
    int n_ok = 0;
    struct alrp_tensor fake;
    memset(&fake, 0, sizeof fake);
    for (int op = 0; op < ALRP_OP_COUNT; op++) { fake.op = (enum alrp_op) op; n_ok += alrp_backend_supports_op(be, &fake); }
    fake.op = ALRP_OP_COUNT;
    CHECK(n_ok == ALRP_OP_COUNT && !alrp_backend_supports_op(be, &fake), "CPU backend supports all %d ops (%d), not ALRP_OP_COUNT", (int) ALRP_OP_COUNT, n_ok);

    const char * names[4] = { alrp_status_name(ALRP_STATUS_SUCCESS), alrp_status_name(ALRP_STATUS_FAILED),
                              alrp_status_name(ALRP_STATUS_ALLOC_FAILED), alrp_status_name(ALRP_STATUS_UNSUPPORTED) };
    bool distinct = true;
    for (int i = 0; i < 4; i++) for (int j = 0; j < i; j++) distinct = distinct && strcmp(names[i], names[j]) != 0 && names[i][0];
    CHECK(distinct && !strcmp(names[0], "success") && !strcmp(alrp_status_name((enum alrp_status) 5), "?"),
          "alrp_status_name: \"%s\", \"%s\", \"%s\", \"%s\"", names[0], names[1], names[2], names[3]);

    // a backend that is the CPU one except that it refuses MUL
    cpu_be = be;
    struct alrp_backend nomul = *be;
    nomul.iface.supports_op = no_mul;
    struct alrp_init_params ip = { 1 << 20, NULL, false };
    struct alrp_context * ctx = alrp_init(ip);
    struct alrp_tensor * a = alrp_set_name(alrp_new_tensor_1d(ctx, 4), "a"), * b = alrp_set_name(alrp_new_tensor_1d(ctx, 4), "b");
    struct alrp_tensor * prod = alrp_set_name(alrp_mul(ctx, a, b), "a*b"), * sum = alrp_add(ctx, a, b);
    struct alrp_graph * gm = alrp_new_graph(ctx, 8), * gs = alrp_new_graph(ctx, 8);
    alrp_build_forward(gm, prod);
    alrp_build_forward(gs, sum);
    fill_const(be, a, 3.0f); fill_const(be, b, 0.5f);
    fill_const(be, prod, -1.0f);
    char msg[512];
    struct capture c;
    capture_begin(&c);
    enum alrp_status st = alrp_backend_graph_compute(&nomul, gm);
    capture_end(&c, msg, sizeof msg);
    printf("   stderr: %s\n", msg);
    CHECK(st == ALRP_STATUS_UNSUPPORTED && strstr(msg, "cannot compute") && strstr(msg, alrp_op_name(ALRP_OP_MUL)) &&
          alrp_backend_get_f32_1(be, prod, 0) == -1.0f,
          "an unsupported op: compute returns %s (\"%s\") with a message, and computes nothing", "ALRP_STATUS_UNSUPPORTED", alrp_status_name(st));
    enum alrp_status st2 = alrp_backend_graph_compute(&nomul, gs), st3 = alrp_backend_graph_compute(be, gm);
    CHECK(st2 == ALRP_STATUS_SUCCESS && alrp_backend_get_f32_1(be, sum, 3) == 3.5f && st3 == ALRP_STATUS_SUCCESS && alrp_backend_get_f32_1(be, prod, 3) == 1.5f,
          "the same backend computes a graph without the op; the CPU backend computes the mul");
    alrp_free(ctx);
}

// ---- a ResNet-style block: relu(bn2(conv2(relu(bn1(conv1(x))))) + x), 3x3 convs
struct block {
    struct alrp_tensor * w1, * g1, * b1, * rm1, * rv1;
    struct alrp_tensor * w2, * g2, * b2, * rm2, * rv2;
};
static void block_init(struct alrp_context * ctx, struct block * b, int C) {   // tensors only: placed later
    b->w1 = alrp_new_tensor_4d(ctx, C, C, 3, 3); b->w2 = alrp_new_tensor_4d(ctx, C, C, 3, 3);
    b->g1 = alrp_new_tensor_1d(ctx, C); b->b1 = alrp_new_tensor_1d(ctx, C); b->g2 = alrp_new_tensor_1d(ctx, C); b->b2 = alrp_new_tensor_1d(ctx, C);
    struct alrp_tensor * ps[6] = { b->w1, b->w2, b->g1, b->b1, b->g2, b->b2 };
    for (int i = 0; i < 6; i++) alrp_set_param(ctx, ps[i]);
    b->rm1 = alrp_new_tensor_1d(ctx, C); b->rv1 = alrp_new_tensor_1d(ctx, C); b->rm2 = alrp_new_tensor_1d(ctx, C); b->rv2 = alrp_new_tensor_1d(ctx, C);
}
static void block_fill(struct alrp_backend * be, struct block * b) {
    float sc = sqrtf(2.0f / (9.0f * (float) alrp_dim(b->w1, 1)));
    fill_rnd(be, b->w1, sc, 0.0f); fill_rnd(be, b->w2, sc, 0.0f);
    fill_const(be, b->g1, 1.0f); fill_const(be, b->b1, 0.0f); fill_const(be, b->g2, 1.0f); fill_const(be, b->b2, 0.0f);
    fill_const(be, b->rm1, 0.0f); fill_const(be, b->rv1, 1.0f); fill_const(be, b->rm2, 0.0f); fill_const(be, b->rv2, 1.0f);
}
static struct alrp_tensor * block_forward(struct alrp_context * ctx, const struct block * b, struct alrp_tensor * x) {
    struct alrp_tensor * h = alrp_conv2d(ctx, x, b->w1, NULL, 1, 1, 1, 1);
    h = alrp_relu(ctx, alrp_batch_norm(ctx, h, b->g1, b->b1, b->rm1, b->rv1, ALRP_BN_TRAIN, 0.1f, 1e-5f));
    h = alrp_conv2d(ctx, h, b->w2, NULL, 1, 1, 1, 1);
    h = alrp_batch_norm(ctx, h, b->g2, b->b2, b->rm2, b->rv2, ALRP_BN_TRAIN, 0.1f, 1e-5f);
    return alrp_relu(ctx, alrp_add(ctx, h, x));
}

static void test_block(struct alrp_backend * be) {
    const int N = 2, C = 8, H = 10, W = 10;
    struct alrp_init_params pp = { 8 << 20, NULL, true };
    struct alrp_context * pctx = alrp_init(pp);  // persistent: params, inputs; placed in one backend buffer
    struct block b;
    block_init(pctx, &b, C);
    struct alrp_tensor * x = alrp_new_tensor_4d(pctx, N, C, H, W), * target = alrp_new_tensor_4d(pctx, N, C, H, W);
    alrp_set_input(x); alrp_set_input(target);
    struct alrp_buffer * pbuf = alrp_backend_alloc_ctx_tensors(pctx, be);
    block_fill(be, &b);
    fill_rnd(be, x, 1.0f, 0.0f);
    fill_rnd(be, target, 0.5f, 0.3f);

    // the same graph twice: plain arena allocation, and the graph allocator
    struct alrp_tensor * loss[2]; struct alrp_graph * g[2]; struct alrp_context * cctx[2];
    struct alrp_gallocr * ga = alrp_gallocr_new(be);
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

    // running stats are updated by both graphs: save and restore so both see the same state
    float saved[4][8];
    struct alrp_tensor * rs[4] = { b.rm1, b.rv1, b.rm2, b.rv2 };
    for (int i = 0; i < 4; i++) alrp_backend_get_f32(be, rs[i], saved[i]);
    enum alrp_status s0 = alrp_backend_graph_compute(be, g[0]);
    for (int i = 0; i < 4; i++) alrp_backend_set_f32(be, rs[i], saved[i]);
    enum alrp_status s1 = alrp_backend_graph_compute(be, g[1]);
    CHECK(s0 == ALRP_STATUS_SUCCESS && s1 == ALRP_STATUS_SUCCESS, "both graphs compute on the backend");
    double maxd = fabs((double) alrp_backend_get_f32_1(be, loss[0], 0) - alrp_backend_get_f32_1(be, loss[1], 0));
    for (int p = 0; p < alrp_graph_n_params(g[0]); p++) {
        struct alrp_tensor * g0 = alrp_graph_grad(g[0], alrp_graph_param(g[0], p)), * g1 = alrp_graph_grad(g[1], alrp_graph_param(g[1], p));
        float * h0 = get_all(be, g0), * h1 = get_all(be, g1);
        for (int64_t i = 0; i < alrp_nelements(g0); i++) maxd = fmax(maxd, fabs((double) h0[i] - h1[i]));
        free(h0); free(h1);
    }
    CHECK(maxd == 0.0, "allocator graph gives the same loss and gradients (max diff %g)", maxd);

    // train: plain SGD on the allocator graph (parameters and gradients through the backend), loss must fall
    float first = 0, last = 0;
    bool all_ok = true;
    for (int step = 0; step < 30; step++) {
        all_ok = all_ok && alrp_backend_graph_compute(be, g[1]) == ALRP_STATUS_SUCCESS;
        float l = alrp_backend_get_f32_1(be, loss[1], 0);
        if (step == 0) first = l;
        last = l;
        for (int p = 0; p < alrp_graph_n_params(g[1]); p++) {
            struct alrp_tensor * w = alrp_graph_param(g[1], p), * gr = alrp_graph_grad(g[1], w);
            float * hw = get_all(be, w), * hg = get_all(be, gr);
            for (int64_t i = 0; i < alrp_nelements(w); i++) hw[i] -= 0.1f * hg[i];
            alrp_backend_set_f32(be, w, hw);
            free(hw); free(hg);
        }
    }
    CHECK(all_ok && last < 0.5f * first, "ResNet block trains: loss %.4f -> %.4f in 30 SGD steps", first, last);
    alrp_gallocr_free(ga);
    alrp_buffer_free(pbuf);
    alrp_free(cctx[0]); alrp_free(cctx[1]); alrp_free(pctx);
}

// forward-only (inference) graph of 4 blocks: activations die as soon as the next block has read them
static void test_inference_memory(struct alrp_backend * be) {
    struct alrp_init_params pp = { 8 << 20, NULL, true };
    struct alrp_context * pctx = alrp_init(pp);
    struct block b[4];
    for (int i = 0; i < 4; i++) block_init(pctx, &b[i], 8);
    struct alrp_tensor * x = alrp_new_tensor_4d(pctx, 2, 8, 16, 16);
    struct alrp_buffer * pbuf = alrp_backend_alloc_ctx_tensors(pctx, be);
    for (int i = 0; i < 4; i++) block_fill(be, &b[i]);
    fill_rnd(be, x, 1.0f, 0.0f);
    struct alrp_init_params cp = { 4 << 20, NULL, true };
    struct alrp_context * cctx = alrp_init(cp);
    struct alrp_tensor * y = x;
    for (int i = 0; i < 4; i++) y = block_forward(cctx, &b[i], y);
    struct alrp_graph * g = alrp_new_graph(cctx, 256);
    alrp_build_forward(g, y);
    struct alrp_gallocr * ga = alrp_gallocr_new(be);
    bool ok = alrp_gallocr_alloc_graph(ga, g) && alrp_backend_graph_compute(be, g) == ALRP_STATUS_SUCCESS;
    struct alrp_gallocr_stats st = alrp_gallocr_get_stats(ga);
    printf("   inference, 4 blocks: peak %.1f KiB for %d tensors summing to %.1f KiB (%.0f%%)\n",
           st.peak_bytes / 1024.0, st.n_allocated, st.sum_bytes / 1024.0, 100.0 * (double) st.peak_bytes / (double) st.sum_bytes);
    CHECK(ok && st.peak_bytes * 5 < st.sum_bytes, "inference peak is under a fifth of the sum of intermediates");
    alrp_gallocr_free(ga); alrp_buffer_free(pbuf); alrp_free(cctx); alrp_free(pctx);
}

// The backward's order: a chain of conv + bias + ReLU layers. Each layer's output gradient
// (UNARY_BACK) must have been read for the last time (input gradient, weight gradient, bias
// gradient) before the layer below computes its own, so that only one of them is alive at a
// time, and the training graph's peak stays near the forward's saved activations.
static void test_backward_order(struct alrp_backend * be) {
    struct alrp_init_params ip = { 8 << 20, NULL, true };
    struct alrp_context * pctx = alrp_init(ip), * ctx = alrp_init(ip);   // input and params; the graph
    enum { L = 6 };
    struct alrp_tensor * x = alrp_new_tensor_4d(pctx, 2, 8, 16, 16), * y = x, * w[L], * b[L];
    for (int i = 0; i < L; i++) {
        w[i] = alrp_new_tensor_4d(pctx, 8, 8, 3, 3);
        b[i] = alrp_new_tensor_1d(pctx, 8);
        alrp_set_param(pctx, w[i]);
        alrp_set_param(pctx, b[i]);
    }
    for (int i = 0; i < L; i++) y = alrp_relu(ctx, alrp_conv2d(ctx, y, w[i], b[i], 1, 1, 1, 1));
    struct alrp_tensor * loss = alrp_sum(ctx, y);
    alrp_set_loss(ctx, loss);
    struct alrp_graph * g = alrp_new_graph(ctx, 1024);
    alrp_build_forward(g, loss);
    alrp_build_backward(ctx, g);
    int n = alrp_graph_n_nodes(g), n_ub = 0, bad = 0;
    for (int i = 0; i < n; i++) {
        struct alrp_tensor * d = alrp_graph_node(g, i);
        if (d->op != ALRP_OP_UNARY_BACK) continue;
        n_ub++;
        int last = i;
        for (int j = i + 1; j < n; j++)
            for (int k = 0; k < ALRP_MAX_SRC; k++) {
                const struct alrp_tensor * s = alrp_graph_node(g, j)->src[k];
                if (s && (s == d || s->view_src == d)) last = j;
            }
        for (int j = i + 1; j < last; j++) if (alrp_graph_node(g, j)->op == ALRP_OP_UNARY_BACK) { bad++; break; }
    }
    CHECK(n_ub == L && bad == 0, "backward order: each of %d output gradients is dead before the next layer's (%d are not)", n_ub, bad);
    // and the plan: with x and the params placed, the peak is the saved activations plus a few
    // gradients of one layer, well under the sum of every intermediate
    struct alrp_buffer * pb = alrp_backend_alloc_ctx_tensors(pctx, be);
    struct alrp_gallocr * ga = alrp_gallocr_new(be);
    bool ok = pb && alrp_gallocr_reserve(ga, g);
    struct alrp_gallocr_stats st = alrp_gallocr_get_stats(ga);
    const double act = (double) alrp_nbytes(x) * L;   // one 2x8x16x16 output per layer
    printf("   training, %d layers: peak %.1f KiB, saved activations %.1f KiB, sum of intermediates %.1f KiB\n",
           L, st.peak_bytes / 1024.0, act / 1024.0, st.sum_bytes / 1024.0);
    CHECK(ok && (double) st.peak_bytes < act + 4.0 * (double) alrp_nbytes(x), "training peak < saved activations + 4 layer outputs");
    alrp_gallocr_free(ga); alrp_buffer_free(pb); alrp_free(ctx); alrp_free(pctx);
}

// named tensors in backend buffers to a safetensors file and back; shape mismatch, missing
// names and unplaced destinations are errors
static void test_save_load(struct alrp_backend * be) {
    struct alrp_init_params ip = { 1 << 20, NULL, true };
    struct alrp_context * ctx = alrp_init(ip), * ctx2 = alrp_init(ip), * ctx3 = alrp_init(ip);
    struct alrp_tensor * a = alrp_set_name(alrp_new_tensor_4d(ctx, 2, 3, 1, 5), "layer.weight");
    struct alrp_tensor * b = alrp_set_name(alrp_new_tensor_1d(ctx, 7), "layer.bias");
    struct alrp_buffer * buf = alrp_backend_alloc_ctx_tensors(ctx, be);
    float av[30], bv[7], a2v[30], b2v[7];
    for (int i = 0; i < 30; i++) av[i] = rnd();
    for (int i = 0; i < 7; i++) bv[i] = rnd();
    alrp_backend_set_f32(be, a, av); alrp_backend_set_f32(be, b, bv);
    struct alrp_tensor * ts[2] = { a, b };
    char err[512], path[] = "/tmp/alrp-test-graph-XXXXXX";
    int fd = mkstemp(path); close(fd);
    const char * meta[] = { "step", "12", NULL };
    int rc = alrp_save_tensors(be, path, 2, ts, meta, err, sizeof err);
    struct alrp_tensor * a2 = alrp_set_name(alrp_new_tensor_4d(ctx2, 2, 3, 1, 5), "layer.weight");
    struct alrp_tensor * b2 = alrp_set_name(alrp_new_tensor_1d(ctx2, 7), "layer.bias");
    struct alrp_tensor * bad = alrp_set_name(alrp_new_tensor_1d(ctx2, 8), "layer.bias");
    struct alrp_tensor * miss = alrp_set_name(alrp_new_tensor_1d(ctx2, 8), "head.bias");
    struct alrp_buffer * buf2 = alrp_backend_alloc_ctx_tensors(ctx2, be);
    struct alrp_tensor * ts2[2] = { a2, b2 };
    int n = alrp_load_tensors(be, path, 2, ts2, false, err, sizeof err);
    alrp_backend_get_f32(be, a2, a2v); alrp_backend_get_f32(be, b2, b2v);
    CHECK(rc == 0 && n == 2 && !memcmp(av, a2v, sizeof av) && !memcmp(bv, b2v, sizeof bv), "tensors round-trip through safetensors and the backend");
    n = alrp_load_tensors(be, path, 1, &bad, false, err, sizeof err);
    CHECK(n == -1 && strstr(err, "layer.bias") && strstr(err, "(8)"), "wrong shape is an error naming the tensor: %s", err);
    n = alrp_load_tensors(be, path, 1, &miss, false, err, sizeof err);
    CHECK(n == -1 && strstr(err, "no tensor 'head.bias'"), "missing tensor is an error: %s", err);
    CHECK(alrp_load_tensors(be, path, 1, &miss, true, err, sizeof err) == 0, "missing tensor allowed when asked");
    CHECK(alrp_load_tensors(be, "/nonexistent/w.safetensors", 1, &a2, false, err, sizeof err) == -1 && strstr(err, "/nonexistent/w.safetensors"),
          "missing file is an error naming it: %s", err);
    struct alrp_tensor * nowhere = alrp_set_name(alrp_new_tensor_1d(ctx3, 7), "layer.bias");
    n = alrp_load_tensors(be, path, 1, &nowhere, false, err, sizeof err);
    CHECK(n == -1 && strstr(err, "placed"), "an unplaced destination is an error: %s", err);
    unlink(path);
    alrp_buffer_free(buf); alrp_buffer_free(buf2);
    alrp_free(ctx); alrp_free(ctx2); alrp_free(ctx3);
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
    struct alrp_backend * be = alrp_backend_cpu_init(2);
    printf("backend: %s\n", alrp_backend_name(be));
    test_rng();
    test_save_load(be);
    test_placement(be);
    test_reserve(be);
    test_capabilities(be);
    test_inference_memory(be);
    test_backward_order(be);
    test_usage_example(be);
    expect_abort("no parameter", no_param, "did you forget to call alrp_set_param");
    expect_abort("no loss", no_loss, "did you forget to call alrp_set_loss");
    expect_abort("bad broadcast", bad_broadcast, "shapes (2, 3) and (4, 3) do not broadcast");
    expect_abort("arena too small", small_arena, "raise alrp_init_params.mem_size");
    expect_abort("graph too small", full_graph, "larger max_nodes");
    expect_abort("tensor_set on a strided view", set_strided, "'a.T' is a strided view: copy it with alrp_cont first");
    expect_abort("tensor_set past the end", set_out_of_range, "bytes [20, 28) are out of range for 'a' (24 bytes)");
    expect_abort("tensor_set on an unplaced tensor", set_unplaced, "'nowhere' has no data: place it");
    test_block(be);
    alrp_backend_free(be);
    printf("%s (%d failures)\n", fails ? "FAIL" : "all ok", fails);
    return fails ? 1 : 0;
}
