// Benchmark of the conv2d and GEMM kernels on ResNet-50 layer shapes, at 1 and 2 threads:
// GFLOP/s, % of this machine's FP32 FMA peak (measured in the same run by an FMA-throughput
// loop: many independent accumulator chains per thread), and, when /usr/bin/python3 has torch,
// the same layers in PyTorch (run through popen, torch.set_num_threads(n)) with the speed ratio.
// PyTorch runs each layer right before we do (one python process per layer and thread count),
// so that both see the same load, and times are the best of several repetitions (the machine
// is shared: best-of is the stable figure). Usage: bench-conv [n_threads ...]   (default: 1 2)
#define ALRP_INTERNAL   // the kernel info
#include "alrp.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifndef BENCH_PYTHON
#define BENCH_PYTHON "/usr/bin/python3"
#endif

#include "bench-common.h"

// ---- layers
struct layer { const char * name; int64_t n, c, h, w, o, k, s, p; };
static const struct layer layers[] = {
    { "3x3 256->256 32x32 b2",    2,  256,  32,  32, 256, 3, 1, 1 },
    { "1x1 1024->256 32x32 b2",   2, 1024,  32,  32, 256, 1, 1, 0 },
    { "7x7/2 3->64 512x512 b2",   2,    3, 512, 512,  64, 7, 2, 3 },
};
#define N_LAYERS ((int) (sizeof(layers) / sizeof(layers[0])))
enum { OP_FWD, OP_BWD_DATA, OP_BWD_WEIGHT, N_OPS };
static const char * op_names[N_OPS] = { "forward", "bwd-data", "bwd-weight" };
#define GEMM_SIZE 1024

static struct alrp_conv2d_desc layer_desc(const struct layer * l) {
    struct alrp_conv2d_desc d = { l->n, l->c, l->h, l->w, l->o, l->k, l->k, l->s, l->s, l->p, l->p, 1, 1, 1 };
    return d;
}

// best time of reps after a warm-up, stopping early after ~1.5 s
static double time_conv(struct alrp_threadpool * tp, const struct alrp_conv2d_desc * d, int op,
                        const float * x, const float * w, const float * dy, float * y, float * dx, float * dw,
                        float * db, void * work) {
    double best = 1e30, total = 0.0;
    for (int rep = 0; rep < 12 && (rep < 4 || total < 1.5); rep++) {
        const double t0 = now_s();
        switch (op) {
            case OP_FWD:        alrp_conv2d_f32(tp, d, x, w, NULL, 0.0f, y, work); break;
            case OP_BWD_DATA:   alrp_conv2d_backward_data_f32(tp, d, dy, w, 0.0f, dx, work); break;
            case OP_BWD_WEIGHT: alrp_conv2d_backward_weight_f32(tp, d, x, dy, 0.0f, dw, db, work); break;
        }
        const double t = now_s() - t0;
        if (rep > 0) best = fmin(best, t);   // rep 0 is the warm-up
        total += t;
    }
    return best;
}

// ---- PyTorch: seconds per op of the last layer run (3: the GEMM); < 0 when not measured
static double pt_t[N_OPS + 1];

static const char * pt_script =
    "import sys, time\n"
    "try:\n"
    "    import torch\n"
    "    import torch.nn.functional as F\n"
    "except Exception as e:\n"
    "    print('NOTORCH', e); sys.exit(0)\n"
    "nt = int(sys.argv[1]); torch.set_num_threads(nt)\n"
    "def best(f):\n"
    "    f(); ts = []; tot = 0.0\n"
    "    while len(ts) < 4 or (len(ts) < 11 and tot < 1.5):\n"
    "        t0 = time.perf_counter(); f(); t = time.perf_counter() - t0; ts.append(t); tot += t\n"
    "    return min(ts)\n"
    "print('VERSION', torch.__version__)\n"
    "with torch.no_grad():\n"
    "  if sys.argv[2] == 'gemm':\n"
    "    a = torch.randn(%d, %d); b = torch.randn(%d, %d)\n"
    "    print('GEMM', best(lambda: torch.mm(a, b)), flush=True)\n"
    "  else:\n"
    "    n, c, h, w, o, k, s, p = map(int, sys.argv[2].split(','))\n"
    "    x = torch.randn(n, c, h, w); wt = torch.randn(o, c, k, k)\n"
    "    y = F.conv2d(x, wt, None, s, p); gy = torch.randn_like(y)\n"
    "    cb = torch.ops.aten.convolution_backward\n"
    "    tf = best(lambda: F.conv2d(x, wt, None, s, p))\n"
    "    td = best(lambda: cb(gy, x, wt, None, [s, s], [p, p], [1, 1], False, [0, 0], 1, [True, False, False]))\n"
    "    tw = best(lambda: cb(gy, x, wt, None, [s, s], [p, p], [1, 1], False, [0, 0], 1, [False, True, False]))\n"
    "    print('CONV', tf, td, tw, flush=True)\n";

// runs layer l (NULL: the GEMM) in PyTorch with nt threads into pt_t; false when python3 or
// torch is missing. script: the path of pt_script written out.
static bool run_pytorch(const char * script, int nt, const struct layer * l, char * version) {
    char cmd[1024], arg[256] = "gemm";
    for (int o = 0; o <= N_OPS; o++) pt_t[o] = -1.0;
    if (l) snprintf(arg, sizeof(arg), "%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld", (long long) l->n, (long long) l->c,
                    (long long) l->h, (long long) l->w, (long long) l->o, (long long) l->k, (long long) l->s, (long long) l->p);
    snprintf(cmd, sizeof(cmd), BENCH_PYTHON " %s %d %s 2>/dev/null", script, nt, arg);
    FILE * p = popen(cmd, "r");
    bool ok = false;
    if (p) {
        char line[512];
        while (fgets(line, sizeof(line), p)) {
            double a, b, c;
            if (sscanf(line, "VERSION %63s", version) == 1) ok = true;
            else if (sscanf(line, "CONV %lf %lf %lf", &a, &b, &c) == 3) { pt_t[OP_FWD] = a; pt_t[OP_BWD_DATA] = b; pt_t[OP_BWD_WEIGHT] = c; }
            else if (sscanf(line, "GEMM %lf", &a) == 1) pt_t[N_OPS] = a;
        }
        pclose(p);
    }
    return ok;
}

static float * rand_buf(int64_t n) {
    float * p = (float *) malloc(sizeof(float) * (size_t) n);
    uint32_t s = 12345u;
    for (int64_t i = 0; i < n; i++) { s = s * 1664525u + 1013904223u; p[i] = (float) (s >> 8) / 8388608.0f - 1.0f; }
    return p;
}

static void print_row(const char * layer, const char * op, double t, double flop, double peak, double tpt) {
    printf("  %-24s %-10s %8.2f ms %8.1f GFLOP/s %5.1f%% of peak", layer, op, t * 1e3, flop / t * 1e-9, 100.0 * flop / t * 1e-9 / peak);
    if (tpt > 0) printf("   PyTorch %8.2f ms %8.1f GFLOP/s   ours/PyTorch speed %.2fx", tpt * 1e3, flop / tpt * 1e-9, tpt / t);
    printf("\n");
}

int main(int argc, char ** argv) {
    int nts[8], n_nts = 0;
    for (int i = 1; i < argc && n_nts < 8; i++) { const int v = atoi(argv[i]); if (v >= 1 && v < 8) nts[n_nts++] = v; }
    if (n_nts == 0) { nts[0] = 1; nts[1] = 2; n_nts = 2; }
    int gemm[5];
    const char * simd = alrp__kernel_info(gemm);
    printf("bench-conv: SIMD %s, micro-tile %dx%d, KC %d MC %d NC %d, %d cores online\n", simd,
           gemm[0], gemm[1], gemm[2], gemm[3], gemm[4], alrp_n_cores());
    printf("times are the best of up to 11 runs; FLOPs = 2 N O OH OW (C/g) kH kW per op; speed ratio = PyTorch time / our time\n");

    // the PyTorch side: a script file, and a first run that tells whether torch is there
    char script[] = "/tmp/bench-conv-XXXXXX", version[64] = "";
    bool have_pt = false;
    const int fd = mkstemp(script);
    if (fd >= 0) {
        FILE * f = fdopen(fd, "w");
        fprintf(f, pt_script, GEMM_SIZE, GEMM_SIZE, GEMM_SIZE, GEMM_SIZE);
        fclose(f);
        char cmd[512];
        snprintf(cmd, sizeof(cmd), BENCH_PYTHON " -c 'import torch; print(\"VERSION\", torch.__version__)' 2>/dev/null");
        FILE * p = popen(cmd, "r");
        if (p) {
            char line[256];
            while (fgets(line, sizeof(line), p)) if (sscanf(line, "VERSION %63s", version) == 1) have_pt = true;
            pclose(p);
        }
    }
    if (have_pt) printf("PyTorch %s found (" BENCH_PYTHON "): each layer runs there right before it runs here\n", version);
    else printf("PyTorch not found, skipping\n");
    for (int o = 0; o <= N_OPS; o++) pt_t[o] = -1.0;

    for (int t = 0; t < n_nts; t++) {
        const int nt = nts[t];
        struct alrp_threadpool * tp = alrp_threadpool_new(nt);
        // the peak is measured before the layers and again after them (a check on the load)
        const double peak = measure_peak(tp);
        printf("\n== %d thread%s: measured FP32 FMA peak %.1f GFLOP/s (%d chains of %d-wide FMAs per thread)\n",
               nt, nt > 1 ? "s" : "", peak, PEAK_CHAINS, PEAK_EPR);
        for (int i = 0; i < N_LAYERS; i++) {
            const struct alrp_conv2d_desc d = layer_desc(&layers[i]);
            const int64_t OH = alrp_conv2d_out_h(&d), OW = alrp_conv2d_out_w(&d);
            const int64_t nx = d.n * d.c * d.h * d.w, nw = d.o * d.c * d.kh * d.kw, ny = d.n * d.o * OH * OW;
            const double flop = 2.0 * (double) ny * (double) (d.c / d.groups * d.kh * d.kw);
            float * x = rand_buf(nx), * w = rand_buf(nw), * dy = rand_buf(ny);
            float * y = rand_buf(ny), * dx = rand_buf(nx), * dw = rand_buf(nw), * db = rand_buf(d.o);
            void * work = malloc(alrp_conv2d_work_size(&d, nt));
            if (have_pt) run_pytorch(script, nt, &layers[i], version);
            double tt[N_OPS];
            for (int op = 0; op < N_OPS; op++) {
                tt[op] = time_conv(tp, &d, op, x, w, dy, y, dx, dw, db, work);
                print_row(op == 0 ? layers[i].name : "", op_names[op], tt[op], flop, peak, pt_t[op]);
            }
            const double ptb = pt_t[OP_BWD_DATA] > 0 && pt_t[OP_BWD_WEIGHT] > 0 ? pt_t[OP_BWD_DATA] + pt_t[OP_BWD_WEIGHT] : -1;
            print_row("", "bwd total", tt[OP_BWD_DATA] + tt[OP_BWD_WEIGHT], 2 * flop, peak, ptb);
            free(x); free(w); free(dy); free(y); free(dx); free(dw); free(db); free(work);
        }
        // GEMM, big square
        {
            const int64_t n = GEMM_SIZE;
            float * A = rand_buf(n * n), * B = rand_buf(n * n), * C = rand_buf(n * n);
            void * work = malloc(alrp_gemm_work_size(n, n, n, nt));
            if (have_pt) run_pytorch(script, nt, NULL, version);
            double best = 1e30, total = 0.0;
            for (int rep = 0; rep < 12 && (rep < 4 || total < 1.5); rep++) {   // as time_conv
                const double t0 = now_s();
                alrp_gemm_f32(tp, false, false, n, n, n, 1.0f, A, n, B, n, 0.0f, C, n, work);
                const double t = now_s() - t0;
                if (rep > 0) best = fmin(best, t);
                total += t;
            }
            char name[64];
            snprintf(name, sizeof(name), "gemm %lldx%lldx%lld", (long long) n, (long long) n, (long long) n);
            print_row(name, "C=A@B", best, 2.0 * (double) n * n * n, peak, pt_t[N_OPS]);
            free(A); free(B); free(C); free(work);
        }
        printf("  (FMA peak measured again after these rows: %.1f GFLOP/s)\n", measure_peak(tp));
        alrp_threadpool_free(tp);
    }
    if (fd >= 0) remove(script);
    return 0;
}
