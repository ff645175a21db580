// alrp.h compiled as C++17 (implementation included): a tiny graph with its gradient on the CPU
// backend, the thread pool (its atomics are std::atomic in C++) and the aLRP loss on a few entries.
#define ALRP_IMPLEMENTATION
#include "alrp.h"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <vector>

static int n_fail = 0;

static void check(const char * what, double got, double want) {
    bool ok = std::fabs(got - want) <= 1e-5 * (1.0 + std::fabs(want));
    if (!ok) { std::printf("FAIL %s: got %.9g, want %.9g\n", what, got, want); n_fail++; }
}

// f = sum(a*x*x + b): f = 26.25, df/dx = 2*a*x
static void test_graph() {
    const std::vector<float> xv = { 1.0f, 2.0f, -3.0f }, av = { 3.0f, 0.5f, 2.0f }, bv = { 4.0f, -1.0f, 0.25f };
    struct alrp_init_params ip = { 16 * 1024 * 1024, nullptr, false };
    struct alrp_context * ctx = alrp_init(ip);
    struct alrp_tensor * x = alrp_new_tensor_1d(ctx, 3);
    struct alrp_tensor * a = alrp_new_tensor_1d(ctx, 3);
    struct alrp_tensor * b = alrp_new_tensor_1d(ctx, 3);
    alrp_set_param(ctx, x);
    struct alrp_tensor * f = alrp_sum(ctx, alrp_add(ctx, alrp_mul(ctx, alrp_mul(ctx, a, x), x), b));
    alrp_set_loss(ctx, f);
    struct alrp_graph * g = alrp_new_graph(ctx, 64);
    alrp_build_forward(g, f);
    alrp_build_backward(ctx, g);
    for (int i = 0; i < 3; i++) { alrp_set_f32_1d(x, i, xv[i]); alrp_set_f32_1d(a, i, av[i]); alrp_set_f32_1d(b, i, bv[i]); }

    struct alrp_backend * be = alrp_backend_cpu_init(2);
    for (int rep = 0; rep < 2; rep++) {   // twice: the gradients are reset by each compute
        alrp_backend_graph_compute(be, g);
        check("f", alrp_get_f32_1d(f, 0), 26.25);
        struct alrp_tensor * gx = alrp_graph_grad(g, x);
        if (!gx) { std::printf("FAIL no gradient for x\n"); n_fail++; break; }
        for (int i = 0; i < 3; i++) check("df/dx", alrp_get_f32_1d(gx, i), 2.0 * av[i] * xv[i]);
    }
    alrp_backend_free(be);
    alrp_free(ctx);
}

// every thread adds its index before and after a barrier; a captureless lambda is the job
static void test_threadpool() {
    struct alrp_threadpool * tp = alrp_threadpool_new(3);
    struct job { struct alrp_threadpool * tp; std::atomic<int> before, after; std::atomic<bool> ok; };
    job j;
    j.tp = tp; j.ok = true;
    for (int rep = 0; rep < 100; rep++) {
        j.before = 0; j.after = 0;
        alrp_threadpool_run(tp, [](void * arg, int ith, int nth) {
            job * p = static_cast<job *>(arg);
            p->before += ith + 1;
            alrp_threadpool_barrier(p->tp);
            if (p->before != nth * (nth + 1) / 2) p->ok = false;
            p->after += ith + 1;
        }, &j);
        if (j.after != 6) j.ok = false;
    }
    if (!j.ok) { std::printf("FAIL thread pool: sums %d %d\n", j.before.load(), j.after.load()); n_fail++; }
    alrp_threadpool_free(tp);
}

// one positive at 0, a negative at 0 (smoothed step 0.5), one at -5 (0), one ignored entry:
// N_FP = 0.5, rank = 1.5, loss_cls = 1 - 1/1.5, loss_loc = E/rank, the updates +-1/3
static void test_loss() {
    const float logits[4] = { 0.0f, 0.0f, -5.0f, 0.5f };
    const int8_t labels[4] = { 1, 0, 0, -1 };
    const float loc_err[1] = { 0.3f };
    float loss_cls = -1.0f, loss_loc = -1.0f, grad[4], grad_loc[1];
    int64_t n_pos = alrp_loss_alrp_f32(4, logits, labels, loc_err, 1.0f, &loss_cls, &loss_loc, grad, grad_loc);
    check("n_pos", (double) n_pos, 1.0);
    check("loss_cls", loss_cls, 1.0 / 3.0);
    check("loss_loc", loss_loc, 0.2);
    const double want[4] = { -1.0 / 3.0, 1.0 / 3.0, 0.0, 0.0 };
    for (int i = 0; i < 4; i++) check("grad_logits", grad[i], want[i]);
    check("grad_loc", grad_loc[0], 2.0 / 3.0);
    const int8_t bad[1] = { 2 };
    std::printf("(an error message about labels[0] = 2 follows: expected)\n");
    std::fflush(stdout);
    check("bad label", (double) alrp_loss_alrp_f32(1, logits, bad, nullptr, 1.0f, nullptr, nullptr, nullptr, nullptr), -1.0);
}

int main() {
    test_graph();
    test_threadpool();
    test_loss();
    if (n_fail) { std::printf("test-cxx: %d checks failed\n", n_fail); return 1; }
    std::printf("test-cxx: all checks passed (C++%ld, SIMD %s)\n", (long) (__cplusplus / 100 % 100), ALRP_SIMD_NAME);
    return 0;
}
