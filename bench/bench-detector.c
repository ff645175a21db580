// RetinaNet R50 at 512x512 on the CPU backend beside PyTorch/torchvision, measured side by side
// in one run: inference per image (network + model-post.c's post-processing, batch 1, frozen BN
// fused into alrp_conv2d_affine) and one training step at batch 2 (model-loss.c's step graph:
// network, aLRP loss, backward, SGD update; targets from data-assign.c's MaxIoU for 4 random gts
// per image, assigned before the clock starts), each with its peak memory, its GFLOP/s against
// the FMA peak measured in the same run, and the time spent building and planning its graph.
//
// Every phase runs in its own forked child (ours) or python process (PyTorch), so that each
// peak RSS is that phase's alone: ours is the child's ru_maxrss (wait4; for inference read in
// the child before it times the worst-case post-processing, which it does last) less that of an
// idle child forked the same way, PyTorch's the process's ru_maxrss less its value right after
// `import torch`. Each PyTorch phase runs right before the same phase of ours, so both see the
// same load. Random weights (the model's init rules) on both sides.
//
// Ours is built twice: like torchvision's RetinaNet (9 anchors per location, P6 from P5 and a
// ReLU before P7 as its LastLevelP6P7(256, 256): the same layers and parameter count) and like
// [A]'s alrp500_r50 (6 anchors, MaxIoU, P6 from C5), 80 classes. Differences with torchvision
// that remain: torchvision's training step also
// assigns its targets (anchor matching) and its forward resizes and normalises the images
// (GeneralizedRCNNTransform) inside the timed region; its losses are focal + L1, ours aLRP.
//
// Last, the `small` model's training step (BN in train mode, 10 classes, 9 anchors, aLRP) at
// batch 8 on 256x256 images.
//     bench-detector [n_threads]        (default 2)
#include "../detector/model-nn.c"
#include "../detector/model-resnet.c"
#include "../detector/model-fpn.c"
#include "../detector/model-head.c"
#include "../detector/model.c"
#include "../detector/model-loss.c"
#include "../detector/model-anchors.c"
#include "../detector/model-boxes.c"
#include "../detector/model-post.c"
#include "../detector/data-assign.c"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench-common.h"

#ifndef BENCH_PYTHON
#define BENCH_PYTHON "/usr/bin/python3"
#endif

#define IMG 512
#define INFER_REPS 3        // timed runs after one warm-up
#define TRAIN_REPS 2
#define PT_INFER_REPS 2
#define PT_TRAIN_REPS 1     // a PyTorch R50 step takes ~25 s on 2 cores
#define N_GT 4              // random gts per training image

// ---- PyTorch: argv nt mode reps; prints VERSION, then RESULT t maxrss_mib base_mib build_s
// n_params n_trainable n_det (or the config for mode 'config')
static const char * pt_script =
    "import sys, time, resource\n"
    "try:\n"
    "    import torch, torchvision\n"
    "    from torchvision.models import resnet50\n"
    "    from torchvision.models.detection.retinanet import RetinaNet\n"
    "    from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor\n"
    "    from torchvision.ops.feature_pyramid_network import LastLevelP6P7\n"
    "    from torchvision.ops.misc import FrozenBatchNorm2d\n"
    "except Exception as e:\n"
    "    print('NOTORCH', e); sys.exit(0)\n"
    "nt, mode, reps = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])\n"
    "torch.set_num_threads(nt)\n"
    "def rss(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0\n"
    "print('VERSION', torch.__version__, torchvision.__version__, flush=True)\n"
    "if mode == 'config':\n"
    "    print(torch.__config__.show(), flush=True); sys.exit(0)\n"
    "torch.manual_seed(0)\n"
    "base = rss()\n"
    "t0 = time.perf_counter()\n"
    "bb = _resnet_fpn_extractor(resnet50(weights=None, norm_layer=FrozenBatchNorm2d), 3, returned_layers=[2, 3, 4],\n"
    "                           extra_blocks=LastLevelP6P7(256, 256))\n"
    "model = RetinaNet(bb, num_classes=80, min_size=512, max_size=512, detections_per_img=100)\n"
    "tbuild = time.perf_counter() - t0\n"
    "npar = sum(p.numel() for p in model.parameters())\n"
    "ntrain = sum(p.numel() for p in model.parameters() if p.requires_grad)\n"
    "def best(f):\n"
    "    f(); ts = []\n"
    "    for _ in range(reps):\n"
    "        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)\n"
    "    return min(ts)\n"
    "if mode == 'infer':\n"
    "    model.eval()\n"
    "    img = [torch.rand(3, 512, 512)]\n"
    "    ndet = [0]\n"
    "    def f():\n"
    "        with torch.no_grad():\n"
    "            ndet[0] = len(model(img)[0]['boxes'])\n"
    "    t = best(f)\n"
    "    print('RESULT', t, rss(), base, tbuild, npar, ntrain, ndet[0], flush=True)\n"
    "else:\n"
    "    model.train()\n"
    "    g = torch.Generator().manual_seed(1)\n"
    "    imgs = [torch.rand(3, 512, 512, generator=g) for _ in range(2)]\n"
    "    tg = []\n"
    "    for i in range(2):\n"
    "        xy = torch.rand(4, 2, generator=g) * 400\n"
    "        wh = 16 + torch.rand(4, 2, generator=g) * 96\n"
    "        tg.append({'boxes': torch.cat([xy, xy + wh], 1), 'labels': torch.randint(0, 80, (4,), generator=g)})\n"
    "    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-4, momentum=0.9, weight_decay=1e-4)\n"
    "    def f():\n"
    "        opt.zero_grad()\n"
    "        loss = sum(model(imgs, tg).values())\n"
    "        loss.backward()\n"
    "        opt.step()\n"
    "    t = best(f)\n"
    "    print('RESULT', t, rss(), base, tbuild, npar, ntrain, 0, flush=True)\n";

// what a phase measured, sent from the child through a pipe
struct result {
    int ok;
    double t;               // best seconds per image (inference) or per step (training)
    double t_net, t_post;   // inference: the network's share and the post-processing's, of the best run
    double t_build;         // building and planning the graph, seconds
    double t_state;         // training: zeroing the optimizer state at placement (first touch of its pages)
    double macs;            // forward multiply-adds (per image for inference, per batch for training)
    double macs_exact;      // training: forward + backward conv multiply-adds in the graph
    double ga_peak, w_bytes;// the graph allocator's peak bytes, the weights (+ optimizer state) buffer
    double n_nodes, n_det, n_pos, loss, n_params;
    double t_post_full, n_det_full;  // inference: post-processing with every score above score_thr
    double peak;            // the FMA peak measured in the child right before the phase
    double maxrss_mib;      // the child's peak RSS (filled in by the parent), or PyTorch's
    double rss_net_mib;     // inference: the child's peak RSS before the worst-case post-processing
    double base_mib;        // the baseline subtracted from maxrss_mib
    char err[256];
};

struct phase {
    int nt;
    const char * backbone;
    int n_classes, n_anchors, batch, size, reps;
    bool tv;   // torchvision's FPN: P6 from P5, ReLU before P7
};

static void phase_options(const struct phase * ph, struct model_options * o) {
    model_options_for(o, ph->backbone, ph->n_classes, ph->n_anchors);   // [A]: frozen BN, frozen_stages 1 (small: BN train)
    o->p6_from_p5 = o->p7_relu = ph->tv;
}

static void fill_normal(float * v, int64_t n, uint64_t seed) {
    struct alrp_rng r = { seed };
    for (int64_t i = 0; i < n; i++) v[i] = (float) alrp_rng_normal(&r);
}

// ---- ours, inference: one image, network + post-processing
static void our_infer(const struct phase * ph, struct result * r) {
    struct alrp_backend * be = alrp_backend_cpu_init(ph->nt);
    r->peak = measure_peak(alrp_backend_cpu_pool(be));
    struct model_options o;
    char err[256];
    phase_options(ph, &o);
    o.backbone.bn = ALRP_BN_EVAL;
    double t0 = now_s();
    struct alrp_init_params ipw = { model_weights_mem_size(&o), NULL, true }, ipc = { 256 << 20, NULL, true };
    struct alrp_context * cw = alrp_init(ipw), * cc = alrp_init(ipc);
    struct model * m = (struct model *) malloc(sizeof(*m));
    if (model_init(m, cw, &o, err, sizeof err)) { snprintf(r->err, sizeof r->err, "%.200s", err); return; }
    struct alrp_tensor * x = alrp_new_tensor_4d(cc, ph->batch, 3, ph->size, ph->size);
    alrp_set_input(x);
    struct model_out y = model_forward(m, cc, x);
    alrp_set_output(y.logits); alrp_set_output(y.deltas);
    struct alrp_graph * g = alrp_new_graph(cc, 32768);
    alrp_build_forward(g, y.logits);
    alrp_build_forward(g, y.deltas);
    double t_build = now_s() - t0;
    struct alrp_buffer * bw = alrp_backend_alloc_ctx_tensors(cw, be);
    model_init_weights(m, be, 1);
    t0 = now_s();
    struct alrp_gallocr * ga = alrp_gallocr_new(be);
    if (!alrp_gallocr_reserve(ga, g) || !alrp_gallocr_alloc_graph(ga, g)) { snprintf(r->err, sizeof r->err, "out of memory"); return; }
    r->t_build = t_build + (now_s() - t0);

    struct anchors_config ac;
    struct anchors a;
    anchors_config_preset(&ac, ph->n_anchors);
    if (anchors_init_image(&a, &ac, ph->size, ph->size, err, sizeof err)) { snprintf(r->err, sizeof r->err, "%.200s", err); return; }
    const int64_t A = alrp_dim(y.logits, 1), C = ph->n_classes;
    if (A != a.n) { snprintf(r->err, sizeof r->err, "anchors %lld, network outputs %lld", (long long) a.n, (long long) A); return; }
    float * img = (float *) malloc(sizeof(float) * (size_t) (3 * ph->size * ph->size));
    float * lg = (float *) malloc(sizeof(float) * (size_t) (A * C)), * dl = (float *) malloc(sizeof(float) * (size_t) (A * 4));
    fill_normal(img, 3 * ph->size * ph->size, 2);
    struct post_params pp;
    post_params_default(&pp);
    struct det_detection * det = (struct det_detection *) malloc(sizeof(*det) * (size_t) pp.max_per_img);
    r->t = 1e30;
    for (int i = 0; i <= ph->reps; i++) {
        double a0 = now_s();
        alrp_backend_set_f32(be, x, img);
        if (alrp_backend_graph_compute(be, g) != ALRP_STATUS_SUCCESS) { snprintf(r->err, sizeof r->err, "compute failed"); return; }
        alrp_backend_get_f32(be, y.logits, lg);
        alrp_backend_get_f32(be, y.deltas, dl);
        double a1 = now_s();
        int nd = post_detect(&a, (int) C, lg, dl, (float) ph->size, (float) ph->size, 1.0f, 1.0f, &pp, det, err, sizeof err);
        double a2 = now_s();
        if (nd < 0) { snprintf(r->err, sizeof r->err, "post: %.200s", err); return; }
        if (i > 0 && a2 - a0 < r->t) { r->t = a2 - a0; r->t_net = a1 - a0; r->t_post = a2 - a1; r->n_det = nd; }
    }
    // random weights leave every score below score_thr (the class bias is -4.6): time the
    // post-processing again on the same outputs with the logits raised by 4.6, so that every
    // kept anchor and class is an NMS candidate (its worst case). Its candidate lists raise this
    // child's peak RSS: the inference's peak is read before it (the same count wait4 gives)
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) r->rss_net_mib = (double) ru.ru_maxrss / 1024.0;
    for (int64_t i = 0; i < A * C; i++) lg[i] += 4.6f;
    r->t_post_full = 1e30;
    for (int i = 0; i < 1; i++) {   // one run: it takes seconds
        double a0 = now_s();
        int nd = post_detect(&a, (int) C, lg, dl, (float) ph->size, (float) ph->size, 1.0f, 1.0f, &pp, det, err, sizeof err);
        double t = now_s() - a0;
        if (nd < 0) { snprintf(r->err, sizeof r->err, "post: %.200s", err); return; }
        if (t < r->t_post_full) { r->t_post_full = t; r->n_det_full = nd; }
    }
    r->macs = (double) model_graph_macs(g);
    r->ga_peak = (double) alrp_gallocr_get_stats(ga).peak_bytes;
    r->w_bytes = (double) alrp_buffer_size(bw);
    r->n_nodes = alrp_graph_n_nodes(g);
    r->n_params = (double) model_n_values(m, false);
    r->ok = 1;
    // the process ends here: the OS takes the rest back
}

// forward + backward conv multiply-adds of a step graph (a backward conv costs its forward's)
static int64_t graph_macs_all(const struct alrp_graph * g) {
    int64_t macs = 0;
    for (int i = 0; i < alrp_graph_n_nodes(g); i++) {
        const struct alrp_tensor * t = alrp_graph_node(g, i), * w = NULL, * dy = NULL;
        if (t->op == ALRP_OP_CONV2D || t->op == ALRP_OP_CONV2D_AFFINE) { w = t->src[1]; dy = t; }
        else if (t->op == ALRP_OP_CONV2D_BACK_DATA) { w = t->src[1]; dy = t->src[0]; }
        else if (t->op == ALRP_OP_CONV2D_BACK_WEIGHT) { w = t; dy = t->src[1]; }
        else continue;
        macs += alrp_nelements(dy) * alrp_dim(w, 1) * alrp_dim(w, 2) * alrp_dim(w, 3);
    }
    return macs;
}

// ---- ours, one training step: model-loss.c's step graph with the aLRP loss
static void our_train(const struct phase * ph, struct result * r) {
    struct alrp_backend * be = alrp_backend_cpu_init(ph->nt);
    r->peak = measure_peak(alrp_backend_cpu_pool(be));
    struct model_options o;
    char err[512];
    phase_options(ph, &o);
    struct loss_options lo;
    loss_options_default(&lo, LOSS_ALRP);
    double t0 = now_s();
    struct alrp_init_params ipw = { model_weights_mem_size(&o), NULL, true };
    struct alrp_context * cw = alrp_init(ipw);
    struct model * m = (struct model *) malloc(sizeof(*m));
    struct step * s = (struct step *) malloc(sizeof(*s));
    if (model_init(m, cw, &o, err, sizeof err) ||
        step_init(s, m, cw, be, ph->batch, ph->size, ph->size, &lo, alrp_opt_default_params(ALRP_OPT_SGD), err, sizeof err)) {
        snprintf(r->err, sizeof r->err, "%.200s", err); return;
    }
    double t_build = now_s() - t0;
    struct alrp_buffer * bw = alrp_backend_alloc_ctx_tensors(cw, be);
    if (!bw || model_init_weights(m, be, 1)) { snprintf(r->err, sizeof r->err, "weights: out of memory"); return; }
    // zeroing the optimizer state is the first touch of its pages (150 MB for R50): memory
    // setup, not graph building; timed apart, then step_place zeroes touched pages again
    t0 = now_s();
    alrp_optimizer_reset(s->opt, be);
    r->t_state = now_s() - t0;
    t0 = now_s();
    if (step_place(s, err, sizeof err)) { snprintf(r->err, sizeof r->err, "%.200s", err); return; }
    r->t_build = t_build + (now_s() - t0);

    // targets: N_GT random gts per image, assigned before any timing
    struct anchors_config ac;
    struct anchors a;
    anchors_config_preset(&ac, ph->n_anchors);
    if (anchors_init_image(&a, &ac, ph->size, ph->size, err, sizeof err)) { snprintf(r->err, sizeof r->err, "%.200s", err); return; }
    if (a.n != s->A) { snprintf(r->err, sizeof r->err, "anchors %lld, network outputs %lld", (long long) a.n, (long long) s->A); return; }
    const int64_t N = ph->batch, A = s->A, C = s->C, HW = (int64_t) ph->size * ph->size;
    int8_t * labels = (int8_t *) malloc((size_t) (N * A * C));
    float * targets = (float *) malloc(sizeof(float) * (size_t) (N * A * 4));
    int32_t * gt_ind = (int32_t *) malloc(sizeof(int32_t) * (size_t) A);
    float * img = (float *) malloc(sizeof(float) * (size_t) (N * 3 * HW));
    fill_normal(img, N * 3 * HW, 3);
    struct assign_params ap;
    assign_params_default(&ap, ASSIGN_MAXIOU);
    loss_kind_stds(LOSS_ALRP, ap.stds);
    struct alrp_rng rng = { 7 };
    int64_t n_pos = 0;
    for (int64_t i = 0; i < N; i++) {
        float gts[N_GT * 4];
        int32_t cls[N_GT];
        const float side = (float) ph->size;
        for (int k = 0; k < N_GT; k++) {
            float x = (float) alrp_rng_uniform(&rng) * side * 0.75f, yy = (float) alrp_rng_uniform(&rng) * side * 0.75f;
            float w = side * (0.03f + 0.2f * (float) alrp_rng_uniform(&rng)), h = side * (0.03f + 0.2f * (float) alrp_rng_uniform(&rng));
            gts[4 * k] = x; gts[4 * k + 1] = yy; gts[4 * k + 2] = fminf(x + w, side); gts[4 * k + 3] = fminf(yy + h, side);
            cls[k] = (int32_t) (alrp_rng_u64(&rng) % (uint64_t) C);
        }
        struct assign_stats st;
        if (assign_targets(&a, N_GT, gts, cls, (int) C, &ap, labels + i * A * C, targets + i * A * 4, gt_ind, &st, err, sizeof err)) {
            snprintf(r->err, sizeof r->err, "assign: %.200s", err); return;
        }
        n_pos += st.n_pos;
    }
    r->t = 1e30;
    struct step_out out;
    for (int i = 0; i <= ph->reps; i++) {
        double a0 = now_s();
        int rc = step_run(s, img, labels, targets, 1e-4f, &out, err, sizeof err);
        double t = now_s() - a0;
        if (rc && !strstr(err, "not finite")) { snprintf(r->err, sizeof r->err, "%.200s", err); return; }
        if (rc && !r->err[0]) snprintf(r->err, sizeof r->err, "(note: %.200s)", err);
        if (i > 0 && t < r->t) r->t = t;
    }
    r->loss = out.total;
    r->n_pos = (double) n_pos;
    struct alrp_graph * g = s->g;
    // the forward's multiply-adds: the convs that are not backward ops
    r->macs = (double) model_graph_macs(g);
    r->macs_exact = (double) graph_macs_all(g);
    r->ga_peak = (double) alrp_gallocr_get_stats(s->ga).peak_bytes;
    r->w_bytes = (double) alrp_buffer_size(bw);
    r->n_nodes = alrp_graph_n_nodes(g);
    r->n_params = (double) model_n_values(m, true);
    r->ok = 1;
}

static void idle(const struct phase * ph, struct result * r) { (void) ph; r->ok = 1; }

// runs fn in a forked child; its ru_maxrss comes from wait4
static struct result in_child(void (*fn)(const struct phase *, struct result *), const struct phase * ph) {
    struct result r;
    memset(&r, 0, sizeof r);
    int fd[2];
    fflush(stdout);
    if (pipe(fd) != 0) { snprintf(r.err, sizeof r.err, "pipe failed"); return r; }
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        fn(ph, &r);
        ssize_t w = write(fd[1], &r, sizeof r);
        _exit(w == (ssize_t) sizeof r ? 0 : 1);
    }
    close(fd[1]);
    if (pid < 0) { close(fd[0]); snprintf(r.err, sizeof r.err, "fork failed"); return r; }
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t n = read(fd[0], (char *) &r + got, sizeof r - got);
        if (n <= 0) break;
        got += (size_t) n;
    }
    close(fd[0]);
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    wait4(pid, &status, 0, &ru);
    if (got < sizeof r) { memset(&r, 0, sizeof r); snprintf(r.err, sizeof r.err, "the child died (status %d)", status); }
    r.maxrss_mib = (double) ru.ru_maxrss / 1024.0;
    return r;
}

// ---- PyTorch
static char pt_path[] = "/tmp/bench-detector-XXXXXX";
static char pt_version[160];

static struct result run_pytorch(int nt, const char * mode, int reps, bool echo) {
    struct result r;
    memset(&r, 0, sizeof r);
    char cmd[512];
    snprintf(cmd, sizeof cmd, BENCH_PYTHON " %s %d %s %d 2>&1", pt_path, nt, mode, reps);
    fflush(stdout);
    FILE * p = popen(cmd, "r");
    if (!p) return r;
    char line[4096];
    while (fgets(line, sizeof line, p)) {
        char v1[64], v2[64];
        if (sscanf(line, "VERSION %63s %63s", v1, v2) == 2) { snprintf(pt_version, sizeof pt_version, "torch %s, torchvision %s", v1, v2); continue; }
        if (strncmp(line, "NOTORCH", 7) == 0) break;
        if (sscanf(line, "RESULT %lf %lf %lf %lf %lf %*f %lf", &r.t, &r.maxrss_mib, &r.base_mib, &r.t_build, &r.n_params, &r.n_det) == 6) { r.ok = 1; continue; }
        if (echo) fputs(line, stdout);
        else if (strstr(line, "Error") || strstr(line, "error")) { fputs("  PyTorch: ", stdout); fputs(line, stdout); }
    }
    pclose(p);
    return r;
}

static bool have_pytorch(void) {
    const int fd = mkstemp(pt_path);
    if (fd < 0) return false;
    FILE * f = fdopen(fd, "w");
    fputs(pt_script, f);
    fclose(f);
    char cmd[256];
    snprintf(cmd, sizeof cmd, BENCH_PYTHON " -c 'import torch, torchvision' >/dev/null 2>&1");
    return system(cmd) == 0;
}

// ---- printing
static double mib(double b) { return b / 1048576.0; }

// our phase's peak RSS: for inference, the network and the real post-processing (not the worst case)
static double our_rss(const struct result * r) { return r->rss_net_mib > 0 ? r->rss_net_mib : r->maxrss_mib; }

static void print_ours(const char * what, const struct result * r, double base, double peak, bool train, int batch) {
    if (!r->ok) { printf("  %-34s FAILED: %s\n", what, r->err); return; }
    const double flop = train ? 2.0 * r->macs_exact : 2.0 * r->macs;
    printf("  %-34s %8.3f s%s", what, r->t, train ? " per step " : " per image");
    if (train) printf(" (%.2f images/s)", batch / r->t);
    else printf(" (network %.3f s, post-processing %.1f ms, %d detections)", r->t_net, 1e3 * r->t_post, (int) r->n_det);
    printf("\n  %-34s %8.1f GFLOP/s = %.1f%% of peak", "", flop / r->t * 1e-9, 100.0 * flop / r->t * 1e-9 / peak);
    if (train) printf(" (%.1f GMAC: forward %.1f + backward convs; 3x forward would be %.1f GFLOP/s)",
                      r->macs_exact * 1e-9, r->macs * 1e-9, 6.0 * r->macs / r->t * 1e-9);
    else printf(" (%.1f GMAC forward)", r->macs * 1e-9);
    printf("\n  %-34s peak RSS %.0f MiB (child %.0f - idle child %.0f), graph allocator peak %.0f MiB, weights%s buffer %.0f MiB\n",
           "", our_rss(r) - base, our_rss(r), base, mib(r->ga_peak), train ? " + SGD momentum" : "", mib(r->w_bytes));
    if (!train) printf("  %-34s post-processing with every score > 0.05 (logits + 4.6): %.1f ms, %d detections, peak RSS then %.0f MiB\n", "",
                       1e3 * r->t_post_full, (int) r->n_det_full, r->maxrss_mib - base);
    printf("  %-34s build + plan %.3f s = %.1f%% of a %s (%d graph nodes, %.2f M %sparameters)",
           "", r->t_build, 100.0 * r->t_build / r->t, train ? "step" : "run", (int) r->n_nodes, r->n_params * 1e-6, train ? "trainable " : "");
    if (train) printf(", %d positives, loss %.4f", (int) r->n_pos, r->loss);
    printf("\n");
    if (train) printf("  %-34s optimizer state zeroed at placement: %.3f s (the first touch of its pages; not counted above)\n", "", r->t_state);
    if (r->err[0]) printf("  %-34s %s\n", "", r->err);
}

static void print_pt(const char * what, const struct result * r, double macs, double peak, bool train, int batch) {
    if (!r->ok) { printf("  %-34s did not run\n", what); return; }
    const double flop = (train ? 6.0 : 2.0) * macs;   // our forward count of the same network
    printf("  %-34s %8.3f s%s", what, r->t, train ? " per step " : " per image");
    if (train) printf(" (%.2f images/s)", batch / r->t);
    else printf(" (%d detections)", (int) r->n_det);
    printf("\n  %-34s %8.1f GFLOP/s = %.1f%% of peak (our MAC count, %s)\n", "", flop / r->t * 1e-9,
           100.0 * flop / r->t * 1e-9 / peak, train ? "3x forward" : "forward");
    printf("  %-34s peak RSS %.0f MiB (process %.0f - after import %.0f), model built in %.2f s, %.2f M parameters\n",
           "", r->maxrss_mib - r->base_mib, r->maxrss_mib, r->base_mib, r->t_build, r->n_params * 1e-6);
}

static void print_ratio(const char * what, const struct result * ours, const struct result * pt, double base) {
    if (!ours->ok || !pt->ok) return;
    printf("  %-34s speed %.2fx (PyTorch time / ours), peak RSS %.2fx (ours / PyTorch)\n", what, pt->t / ours->t,
           (our_rss(ours) - base) / (pt->maxrss_mib - pt->base_mib));
}

int main(int argc, char ** argv) {
    const int nt = argc > 1 && atoi(argv[1]) > 0 ? atoi(argv[1]) : 2;
    const double t_start = now_s();
    struct alrp_threadpool * tp = alrp_threadpool_new(nt);
    const double peak0 = measure_peak(tp);
    alrp_threadpool_free(tp);
    printf("bench-detector: RetinaNet R50, 80 classes, %dx%d, %d threads, %d cores online; FP32 FMA peak %.1f GFLOP/s (%d-wide)\n",
           IMG, IMG, nt, alrp_n_cores(), peak0, PEAK_EPR);
    printf("times: best of %d (inference) / %d (training) runs after a warm-up (PyTorch: %d / %d); random weights\n",
           INFER_REPS, TRAIN_REPS, PT_INFER_REPS, PT_TRAIN_REPS);
    const bool pt = have_pytorch();
    if (pt) {
        printf("PyTorch (" BENCH_PYTHON "), each phase in its own process right before ours; torch.__config__.show():\n");
        run_pytorch(nt, "config", 0, true);
        printf("%s\n", pt_version);
    } else printf("PyTorch not found, skipping\n");
    printf("ours: (tv) = built like torchvision's RetinaNet: 9 anchors per location, P6 from P5, ReLU before P7 (the same\n"
           "layers); (alrp500) = [A]'s alrp500_r50: 6 anchors, MaxIoU, P6 from C5; both aLRP loss\n"
           "with MaxIoU targets for %d random gts per image. PyTorch: RetinaNet(_resnet_fpn_extractor(resnet50(norm_layer=\n"
           "FrozenBatchNorm2d), 3, [2, 3, 4], LastLevelP6P7(256, 256)), 80, min_size=max_size=%d, detections_per_img=100),\n"
           "focal + L1 losses, its anchor matching and image transform inside its timed step; SGD momentum 0.9 on both.\n", N_GT, IMG);

    const struct result idle_r = in_child(idle, &(struct phase) { 0 });
    const double base = idle_r.maxrss_mib;

    struct phase inf9 = { nt, "resnet50", 80, 9, 1, IMG, INFER_REPS, true }, inf6 = inf9;
    inf6.n_anchors = 6; inf6.tv = false;
    struct phase tr9 = { nt, "resnet50", 80, 9, 2, IMG, TRAIN_REPS, true }, tr6 = tr9;
    tr6.n_anchors = 6; tr6.tv = false;
    struct phase sm = { nt, "small", 10, 9, 8, 256, 3, false };

    // everything is measured first and printed after, against the highest FMA peak seen in the
    // run (measured at the start, before each PyTorch phase and in each child before its phase):
    // on a shared machine a peak measured under load would flatter every rate
    printf("\nmeasuring (about 2-3 minutes) ...\n");
    double pk[16];
    int n_pk = 0;
    pk[n_pk++] = peak0;
    struct result pi = { 0 }, pt2 = { 0 };
    tp = alrp_threadpool_new(nt);
    if (pt) { pk[n_pk++] = measure_peak(tp); pi = run_pytorch(nt, "infer", PT_INFER_REPS, false); }
    struct result oi9 = in_child(our_infer, &inf9), oi6 = in_child(our_infer, &inf6);
    if (pt) { pk[n_pk++] = measure_peak(tp); pt2 = run_pytorch(nt, "train", PT_TRAIN_REPS, false); }
    struct result ot9 = in_child(our_train, &tr9), ot6 = in_child(our_train, &tr6);
    struct result os = in_child(our_train, &sm);
    pk[n_pk++] = measure_peak(tp);
    alrp_threadpool_free(tp);
    const struct result * all[5] = { &oi9, &oi6, &ot9, &ot6, &os };
    for (int i = 0; i < 5; i++) if (all[i]->ok) pk[n_pk++] = all[i]->peak;
    double peak = 0.0;
    printf("FMA peak measurements in this run (GFLOP/s):");
    for (int i = 0; i < n_pk; i++) { printf(" %.0f", pk[i]); peak = fmax(peak, pk[i]); }
    printf("; rates below are against the highest, %.1f GFLOP/s\n", peak);

    printf("\n== inference, batch 1 (ours: network + post-processing; BN frozen, fused)\n");
    if (pt) print_pt("PyTorch (9 anchors)", &pi, oi9.macs, peak, false, 1);
    print_ours("ours (tv, 9 anchors)", &oi9, base, peak, false, 1);
    print_ours("ours (alrp500, 6 anchors)", &oi6, base, peak, false, 1);

    printf("\n== training step, batch 2 (forward, backward, SGD update)\n");
    if (pt) print_pt("PyTorch (9 anchors)", &pt2, oi9.macs * 2, peak, true, 2);
    print_ours("ours (tv, 9 anchors)", &ot9, base, peak, true, 2);
    print_ours("ours (alrp500, 6 anchors)", &ot6, base, peak, true, 2);

    if (pt) {
        printf("\n== ratios (ours against PyTorch, both 9 anchors)\n");
        print_ratio("inference", &oi9, &pi, base);
        print_ratio("training step", &ot9, &pt2, base);
        printf("  (alrp500, 6 anchors: inference speed %.2fx, training speed %.2fx of PyTorch's 9-anchor model)\n",
               oi6.ok && pi.ok ? pi.t / oi6.t : 0.0, ot6.ok && pt2.ok ? pt2.t / ot6.t : 0.0);
    }

    printf("\n== small model (BN train, 10 classes, 9 anchors, aLRP), batch 8 at 256x256\n");
    print_ours("ours, training step", &os, base, peak, true, 8);
    printf("\ntotal run %.0f s\n", now_s() - t_start);
    if (pt) remove(pt_path);
    return 0;
}
