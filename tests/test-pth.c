// PyTorch checkpoints read in C (detector/weights-pth.c), mapped (weights-map.c) and loaded
// (weights.c), against what PyTorch computes from them (tests/data/pth, written by
// tools/gen-ref-pth.py; no PyTorch needed here):
//   reader  both formats give the same tensors (names, dtypes, shapes, bytes); the zip's top
//           folder (stem or "archive"), mmdetection's wrapper, the "module." prefix
//   tv      torchvision ResNet-50 (base width 2) as a backbone (backbone_only): fc.* unused,
//           num_batches_tracked dropped, C3-C5 to 1e-4 of their scale
//   A       [A]'s mmdetection RetinaNet: C3-C5, P3-P7, logits, deltas to 1e-4; the detections
//           after [A]'s post-processing: classes equal, boxes to 1e-3, scores to 1e-5
//   B       [B]'s model ('module.' keys, caffe bottleneck, conv1 bias, P7 on ReLU(P6), +1
//           anchors, [B]'s post-processing): the same checks
//   every key of every file is consumed (loaded or dropped, none unused, none missing)
//   ours    a safetensors file written from the model loads back through weights_load
//   bad     truncated zip and legacy streams at every cut, wrong magic, a damaged storage (CRC),
//           a numpy array where a tensor should be, a storage shorter than its tensor,
//           another architecture (the first mismatching tensor and both shapes), a deeper one,
//           refused models (Faster R-CNN, DCN): each one line naming the file, never a crash
//     build/tests/test-pth
#include "../detector/model-nn.c"
#include "../detector/model-resnet.c"
#include "../detector/model-fpn.c"
#include "../detector/model-head.c"
#include "../detector/model.c"
#include "../detector/model-anchors.c"
#include "../detector/model-boxes.c"
#include "../detector/model-post.c"
#include "../detector/weights-pth.c"
#include "../detector/weights-map.c"
#include "../detector/weights.c"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "one-line.h"
#include "ref-file.h"

#define DIR "tests/data/pth/"
static struct alrp_backend * be;
static int fails = 0, checks = 0;

#define CHECK(c, ...) do { checks++; if (!(c)) { printf("FAIL "); printf(__VA_ARGS__); printf("\n"); fails++; } } while (0)

enum variant { V_TV, V_A, V_B };
static const int H = 128, W = 160, C = 5;

// the fixed input of tools/gen-ref-pth.py's test_input
static void test_input(float * x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = (float) ((double) ((i * 40503 + 12345) % 65521) / 16384.0 - 2.0);
}

static void options(struct model_options * o, enum variant v, int base) {
    model_options_for(o, "resnet50", C, 6);
    o->backbone.base_width = base;
    o->backbone.bn = ALRP_BN_EVAL;
    o->fpn_channels = 8;
    o->head_channels = 8;
    o->head_convs = 4;
    if (v == V_B) { o->backbone.caffe = true; o->backbone.stem_bias = true; o->p7_relu = true; }
}

struct net { struct model m; struct alrp_context * cw; struct alrp_buffer * bw; };

static struct net * net_new(const struct model_options * o) {
    struct net * n = (struct net *) calloc(1, sizeof(*n));
    struct alrp_init_params ip = { model_weights_mem_size(o), NULL, true };
    n->cw = alrp_init(ip);
    char err[256];
    CHECK(model_init(&n->m, n->cw, o, err, sizeof err) == 0, "model_init: %s", err);
    n->bw = alrp_backend_alloc_ctx_tensors(n->cw, be);
    model_init_weights(&n->m, be, 1);
    return n;
}
static void net_free(struct net * n) { alrp_buffer_free(n->bw); model_free(&n->m); alrp_free(n->cw); free(n); }

// weights_load with the log captured; returns rc, log in logbuf
static int load(struct net * n, const char * path, enum weights_from from, int backbone_only, char * logbuf, size_t size, char * err, size_t err_size) {
    FILE * lg = fmemopen(logbuf, size, "w");
    int rc = weights_load(&n->m, be, path, from, backbone_only, lg, err, err_size);
    fclose(lg);
    return rc;
}

static double rel_err(const float * got, const float * ref, int64_t n) {
    double m = 0.0, s = 1e-30;
    for (int64_t i = 0; i < n; i++) { m = fmax(m, fabs((double) got[i] - ref[i])); s = fmax(s, fabs((double) ref[i])); }
    return isfinite(m) ? m / s : INFINITY;
}

static void compare(const char * what, struct alrp_tensor * t, const char * refname) {
    int64_t n;
    float * r = ref_f32(refname, &n), * v = (float *) malloc(sizeof(float) * (size_t) (n ? n : 1));
    bool shape_ok = alrp_nelements(t) == n;
    if (shape_ok) alrp_backend_get_f32(be, t, v);
    double e = shape_ok ? rel_err(v, r, n) : INFINITY;
    checks++;
    bool ok = shape_ok && e <= 1e-4;
    printf("%s %-40s rel err %.2e%s\n", ok ? "OK  " : "FAIL", what, e, shape_ok ? "" : " (size differs)");
    fails += !ok;
    free(r); free(v);
}

// runs the model on the fixed input and checks its outputs (and the detections) against prefix.*
static void check_outputs(struct net * n, const char * prefix, enum variant v, const char * label) {
    struct alrp_init_params ip = { (size_t) 64 << 20, NULL, true };
    struct alrp_context * cc = alrp_init(ip);
    const int64_t h = v == V_TV ? 64 : H, w = v == V_TV ? 96 : W;
    int64_t shape[4] = { 1, 3, h, w };
    struct alrp_tensor * x = alrp_new_tensor(cc, ALRP_TYPE_F32, 4, shape);
    alrp_set_input(x);
    struct model_out y;
    memset(&y, 0, sizeof y);
    struct alrp_tensor * outs[10];
    int n_out;
    if (v == V_TV) {
        resnet_forward(&n->m.backbone, cc, x, y.c);
        for (int i = 0; i < 3; i++) outs[i] = y.c[i];
        n_out = 3;
    } else {
        y = model_forward(&n->m, cc, x);
        struct alrp_tensor * o[10] = { y.c[0], y.c[1], y.c[2], y.p[0], y.p[1], y.p[2], y.p[3], y.p[4], y.logits, y.deltas };
        memcpy(outs, o, sizeof o);
        n_out = 10;
    }
    struct alrp_graph * g = alrp_new_graph(cc, 8192);
    for (int i = 0; i < n_out; i++) { alrp_set_output(outs[i]); alrp_build_forward(g, outs[i]); }
    struct alrp_gallocr * ga = alrp_gallocr_new(be);
    CHECK(alrp_gallocr_alloc_graph(ga, g), "graph placed");
    float * xv = (float *) malloc(sizeof(float) * (size_t) (3 * h * w));
    test_input(xv, 3 * h * w);
    alrp_backend_set_f32(be, x, xv);
    free(xv);
    CHECK(alrp_backend_graph_compute(be, g) == ALRP_STATUS_SUCCESS, "compute");
    static const char * names[10] = { "c3", "c4", "c5", "p3", "p4", "p5", "p6", "p7", "logits", "deltas" };
    for (int i = 0; i < n_out; i++) {
        char rn[64], what[96];
        snprintf(rn, sizeof rn, "%s.%s", prefix, names[i]);
        snprintf(what, sizeof what, "%s %s", label, names[i]);
        compare(what, outs[i], rn);
    }
    if (v != V_TV) {
        // the detections: our post-processing on our logits against PyTorch's on its own
        const int64_t na = alrp_dim(y.logits, 1);
        float * lg = (float *) malloc(sizeof(float) * (size_t) (na * C)), * dl = (float *) malloc(sizeof(float) * (size_t) (na * 4));
        alrp_backend_get_f32(be, y.logits, lg);
        alrp_backend_get_f32(be, y.deltas, dl);
        struct anchors_config ac;
        anchors_config_preset(&ac, 6);
        ac.plus_one = v == V_B;
        struct anchors a;
        char err[256];
        CHECK(anchors_init_image(&a, &ac, H, W, err, sizeof err) == 0 && a.n == na, "anchors: %s (%lld vs %lld)", err, (long long) a.n, (long long) na);
        struct post_params pp;
        post_params_default(&pp);
        if (v == V_B) { pp.style = POST_SEED; pp.score_thr = 0.01f; }
        struct det_detection det[100];
        int nd = post_detect(&a, C, lg, dl, (float) W, (float) H, 1.0f, 1.0f, &pp, det, err, sizeof err);
        char rn[64];
        snprintf(rn, sizeof rn, "%s.dets", prefix);
        int64_t nr;
        float * r = ref_f32(rn, &nr);
        nr /= 6;
        int bad_cls = 0;
        double eb = 0.0, es = 0.0;
        for (int i = 0; i < nd && i < nr; i++) {
            bad_cls += det[i].cls != (int) r[6 * i];
            es = fmax(es, fabs((double) det[i].score - r[6 * i + 1]));
            for (int q = 0; q < 4; q++) eb = fmax(eb, fabs((double) det[i].box[q] - r[6 * i + 2 + q]));
        }
        checks++;
        bool ok = nd == nr && bad_cls == 0 && eb <= 1e-3 && es <= 1e-5;
        printf("%s %-40s %d detections (PyTorch %lld), %d classes differ, boxes max err %.1e, scores %.1e\n", ok ? "OK  " : "FAIL",
               label, nd, (long long) nr, bad_cls, eb, es);
        fails += !ok;
        free(r); free(lg); free(dl);
        anchors_free(&a);
    }
    alrp_gallocr_free(ga);
    alrp_free(cc);
}

// ---- reader ---------------------------------------------------------------------------------

static void test_reader(void) {
    char err[512];
    struct pth_file * z = pth_load(DIR "tv_r50.pth", err, sizeof err), * l = pth_load(DIR "tv_r50_legacy.pth", err, sizeof err);
    CHECK(z && l, "tv_r50 files load: %s", err);
    if (!z || !l) { pth_close(z); pth_close(l); return; }
    struct pth_info iz, il;
    pth_get_info(z, &iz);
    pth_get_info(l, &il);
    CHECK(iz.format == PTH_ZIP && il.format == PTH_LEGACY && !iz.container[0] && !iz.module_prefix, "formats and bare state dicts");
    // torchvision's ResNet-50: 53 BN x 5 + 53 convs + fc.weight + fc.bias = 320 keys
    CHECK(pth_count(z) == 320 && pth_count(l) == 320, "tv_r50: %d and %d keys (320)", pth_count(z), pth_count(l));
    int same = pth_count(z) == pth_count(l);
    for (int i = 0; same && i < pth_count(z); i++) {
        const struct alrp_st_tensor * a = pth_at(z, i), * b = pth_at(l, i);
        same = strcmp(a->name, b->name) == 0 && strcmp(a->dtype, b->dtype) == 0 && a->n_dims == b->n_dims && a->nbytes == b->nbytes &&
               memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t) a->n_dims) == 0 && memcmp(a->data, b->data, a->nbytes) == 0;
        if (!same) printf("     tensor %d '%s' differs between the formats\n", i, a->name);
    }
    CHECK(same, "zip and legacy: the same names, dtypes, shapes and bytes in the same order");
    const struct alrp_st_tensor * t = pth_get(z, "layer1.0.conv2.weight"), * nb = pth_get(z, "bn1.num_batches_tracked");
    CHECK(t && t->n_dims == 4 && t->shape[0] == 2 && t->shape[1] == 2 && t->shape[2] == 3 && strcmp(t->dtype, "F32") == 0, "layer1.0.conv2.weight (2, 2, 3, 3) F32");
    int64_t v = 0;
    if (nb) memcpy(&v, nb->data, 8);
    CHECK(nb && strcmp(nb->dtype, "I64") == 0 && nb->n_dims == 0 && v == 1000, "num_batches_tracked: a 0-d I64 of 1000");
    CHECK(pth_get(z, "nope") == NULL && pth_at(z, 320) == NULL, "unknown names and indices");
    pth_close(z);
    pth_close(l);

    struct pth_file * a = pth_load(DIR "a_retinanet.pth", err, sizeof err), * b = pth_load(DIR "b_seed.pth", err, sizeof err);
    CHECK(a && b, "[A] and [B] files load: %s", err);
    if (a && b) {
        struct pth_info ia, ib;
        pth_get_info(a, &ia);
        pth_get_info(b, &ib);
        CHECK(strcmp(ia.container, "state_dict") == 0 && ia.n_wrapper_keys == 3 && !ia.module_prefix, "[A]: mmdetection's wrapper (meta with numpy objects, optimizer)");
        CHECK(!ib.container[0] && ib.module_prefix && pth_get(b, "fpn.P3_1.weight") && pth_get(b, "conv1.bias"), "[B]: 'module.' removed");
    }
    pth_close(a);
    pth_close(b);
    // the zip of [B] was saved to a buffer: its top folder is "archive"
    FILE * f = fopen(DIR "b_seed.pth", "rb");
    char head[64] = { 0 };
    if (f) { CHECK(fread(head, 1, sizeof head, f) == sizeof head, "read"); fclose(f); }
    CHECK(memcmp(head + 30, "archive/", 8) == 0, "b_seed.pth: top folder 'archive' (saved to a buffer)");
}

// ---- loading the three models ---------------------------------------------------------------

// counts from the log's first line
static void log_counts(const char * log, int * loaded, int * dropped, int * unused, int * missing) {
    const char * p = strstr(log, "names");
    *loaded = *dropped = *unused = *missing = -1;
    if (p) p = strchr(p, ':');
    if (p) sscanf(p, ": %d tensors loaded, %d num_batches_tracked dropped, %d unused, %d missing", loaded, dropped, unused, missing);
}

static void test_load(const char * file, enum variant v, const char * prefix, const char * label) {
    char path[256], log[8192], err[512];
    snprintf(path, sizeof path, DIR "%s", file);
    struct pth_file * pf = pth_load(path, err, sizeof err);
    const int n_keys = pth_count(pf);
    pth_close(pf);
    struct model_options o;
    options(&o, v, 2);
    struct net * n = net_new(&o);
    int rc = load(n, path, WEIGHTS_AUTO, v == V_TV, log, sizeof log, err, sizeof err);
    CHECK(rc == 0, "%s: %s", path, err);
    printf("     %s", log);
    int ld, dr, un, mi;
    log_counts(log, &ld, &dr, &un, &mi);
    if (v == V_TV) {
        CHECK(ld == 265 && dr == 53 && un == 2 && mi == 0 && strstr(log, "unused (2): fc.weight, fc.bias"),
              "%s: 265 loaded, 53 dropped, fc.* unused", label);
    } else {
        CHECK(ld + dr == n_keys && un == 0 && mi == 0 && ld == model_n_tensors(&n->m), "%s: every key consumed (%d loaded + %d dropped of %d)", label, ld, dr, n_keys);
    }
    if (rc == 0) check_outputs(n, prefix, v, label);
    net_free(n);
}

// ---- our safetensors ------------------------------------------------------------------------

static void test_ours(void) {
    char log[8192], err[512], tmp[] = "/tmp/test-pth-XXXXXX";
    int fd = mkstemp(tmp);
    if (fd >= 0) close(fd);
    struct model_options o;
    options(&o, V_A, 2);
    struct net * a = net_new(&o), * b = net_new(&o);
    CHECK(load(a, DIR "a_retinanet_legacy.pth", WEIGHTS_MMDET, 0, log, sizeof log, err, sizeof err) == 0, "[A] legacy with --from mmdet: %s", err);
    CHECK(alrp_save_tensors(be, tmp, model_n_tensors(&a->m), model_tensors(&a->m), NULL, err, sizeof err) == 0, "saved: %s", err);
    CHECK(load(b, tmp, WEIGHTS_AUTO, 0, log, sizeof log, err, sizeof err) == 0 && strstr(log, "safetensors"), "our safetensors loads back: %s", err);
    int same = 1;
    for (int i = 0; i < model_n_tensors(&a->m); i++) {
        struct alrp_tensor * x = model_tensors(&a->m)[i], * y = model_tensors(&b->m)[i];
        int64_t k = alrp_nelements(x);
        float * u = (float *) malloc(sizeof(float) * (size_t) k), * w = (float *) malloc(sizeof(float) * (size_t) k);
        alrp_backend_get_f32(be, x, u);
        alrp_backend_get_f32(be, y, w);
        same &= memcmp(u, w, sizeof(float) * (size_t) k) == 0;
        free(u); free(w);
    }
    CHECK(same, "the same values bit for bit");
    CHECK(load(b, tmp, WEIGHTS_SEED, 0, log, sizeof log, err, sizeof err) == -1 && strstr(err, "not in the file"),
          "ours read as [B]'s names: nothing maps: %s", err);
    unlink(tmp);
    net_free(a);
    net_free(b);
}

// ---- bad input ------------------------------------------------------------------------------

static bool one_line_msg(const char * s) { return s[0] != '\0' && one_line(s); }

static unsigned char * slurp(const char * path, size_t * n) {
    FILE * f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t) ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char * b = (unsigned char *) malloc(*n ? *n : 1);
    if (fread(b, 1, *n, f) != *n) { free(b); b = NULL; }
    fclose(f);
    return b;
}

// every cut of the file (every byte for small files, else `step` apart) fails with one line
static void cuts(const char * file, size_t step) {
    size_t n;
    unsigned char * b = slurp(file, &n);
    CHECK(b != NULL, "read %s", file);
    if (!b) return;
    int bad = 0, tried = 0;
    char err[512], first[512] = "";
    for (size_t k = 0; k < n; k += (k < 512 || n - k < 512) ? 1 : step) {
        struct pth_file * f = pth_load_buffer(b, k, "cut.pth", err, sizeof err);
        tried++;
        if (f || !one_line_msg(err) || strncmp(err, "cut.pth: ", 9) != 0) { bad++; if (bad < 3) printf("     cut at %zu: %s\n", k, f ? "loaded" : err); }
        if (!first[0] && !f) snprintf(first, sizeof first, "%s", err);
        pth_close(f);
    }
    CHECK(bad == 0, "%s: %d cuts, each an error of one line (e.g. '%s')", file, tried, first);
    free(b);
}

static void expect_error(const char * what, const char * path, const char * want1, const char * want2) {
    char err[512];
    struct pth_file * f = pth_load(path, err, sizeof err);
    CHECK(!f && one_line_msg(err) && strstr(err, path) && strstr(err, want1) && (!want2 || strstr(err, want2)), "%s: %s", what, f ? "loaded" : err);
    if (!f) printf("     %s: %s\n", what, err);
    pth_close(f);
}

static void expect_load_error(const char * what, struct net * n, const char * path, enum weights_from from, int backbone_only,
                              const char * want1, const char * want2) {
    char log[8192], err[512];
    int rc = load(n, path, from, backbone_only, log, sizeof log, err, sizeof err);
    CHECK(rc == -1 && one_line_msg(err) && strstr(err, path) && strstr(err, want1) && (!want2 || strstr(err, want2)), "%s: %s", what, rc ? err : "loaded");
    if (rc) printf("     %s: %s\n", what, err);
}

static void test_bad(void) {
    cuts(DIR "bad_small.pth", 1);
    cuts(DIR "a_retinanet_legacy.pth", 997);
    cuts(DIR "b_seed.pth", 1009);
    size_t n;
    unsigned char * b = slurp(DIR "bad_small.pth", &n);
    char err[512];
    if (b) {
        b[0] ^= 0x55;
        struct pth_file * f = pth_load_buffer(b, n, "magic.pth", err, sizeof err);
        CHECK(!f && strstr(err, "magic.pth: wrong magic number"), "wrong magic: %s", err);
        printf("     wrong magic: %s\n", err);
        pth_close(f);
        b[0] ^= 0x55;
        // a damaged storage byte: the CRC-32 says so
        f = pth_load_buffer(b, n, "crc.pth", err, sizeof err);
        CHECK(f != NULL, "bad_small.pth loads as it is: %s", err);
        pth_close(f);
        // the first data byte of storage 0: its values are 0, 1, 2 ... as float32 (0.0 = 4 zero bytes, then 1.0f)
        static const unsigned char one[4] = { 0, 0, 0x80, 0x3f };
        unsigned char * p = (unsigned char *) memmem(b, n, one, 4);
        if (p) {
            p[0] ^= 1;
            f = pth_load_buffer(b, n, "crc.pth", err, sizeof err);
            CHECK(!f && strstr(err, "CRC-32 mismatch"), "a damaged storage: %s", err);
            printf("     damaged storage: %s\n", err);
            pth_close(f);
        }
        free(b);
    }
    expect_error("a numpy array where a tensor should be", DIR "bad_numpy.pth", "'b'", "numpy.core.multiarray._reconstruct' where a tensor is needed");
    expect_error("a storage shorter than its tensor", DIR "bad_short_storage.pth", "shorter than its tensor", "'w'");
    expect_error("not a checkpoint", DIR "refs.safetensors", "wrong magic number", NULL);

    struct model_options o;
    options(&o, V_A, 4);
    struct net * wide = net_new(&o);
    expect_load_error("another architecture (base width 4)", wide, DIR "tv_r50.pth", WEIGHTS_TORCHVISION, 1,
                      "tensor 'backbone.conv1.weight' ('conv1.weight' there) has shape (2, 3, 7, 7) in the file", "the model expects (4, 3, 7, 7)");
    net_free(wide);
    options(&o, V_A, 2);
    o.n_anchors = 9;
    struct net * a9 = net_new(&o);
    expect_load_error("another head (9 anchors)", a9, DIR "a_retinanet.pth", WEIGHTS_AUTO, 0, "tensor 'bbox_head.retina_cls.weight' has shape (30, 8, 3, 3)",
                      "the model expects (45, 8, 3, 3)");
    net_free(a9);
    options(&o, V_A, 2);
    o.backbone.layers[2] = 5;
    struct net * shallow = net_new(&o);
    expect_load_error("a deeper checkpoint", shallow, DIR "a_retinanet.pth", WEIGHTS_AUTO, 0, "'backbone.layer3.5.conv1.weight'", "is not in the model");
    net_free(shallow);
    options(&o, V_A, 2);
    o.backbone.layers[2] = 7;
    struct net * deep = net_new(&o);
    expect_load_error("a shallower checkpoint", deep, DIR "a_retinanet.pth", WEIGHTS_AUTO, 0, "are not in the file, the first 'backbone.layer3.6.conv1.weight'", NULL);
    net_free(deep);
    options(&o, V_A, 2);
    struct net * net = net_new(&o);
    expect_load_error("a backbone where a detector is expected", net, DIR "tv_r50.pth", WEIGHTS_AUTO, 0, "'neck.lateral_convs.0.conv.weight'", "backbone-only file?");
    expect_load_error("[B]'s caffe R50 into [A]'s model", net, DIR "b_seed.pth", WEIGHTS_AUTO, 0, "'conv1.bias'", "is not in the model");
    expect_load_error("Faster R-CNN refused", net, DIR "bad_faster_rcnn.pth", WEIGHTS_AUTO, 0, "a Faster R-CNN (two-stage) checkpoint ('rpn_head.rpn_conv.weight')", "builds only RetinaNet");
    expect_load_error("DCN refused", net, DIR "bad_dcn.pth", WEIGHTS_AUTO, 0, "deformable-convolution (DCN)", NULL);
    expect_load_error("a missing file", net, DIR "nope.pth", WEIGHTS_AUTO, 0, "cannot open", NULL);
    // a name with a newline in it (legacy stream: no CRC to break): the message stays one line
    size_t nd;
    unsigned char * dcn = slurp(DIR "bad_dcn.pth", &nd);
    unsigned char * at = dcn ? (unsigned char *) memmem(dcn, nd, "layer2.0.conv2.conv_offset", 26) : NULL;
    if (at) {
        at[5] = '\n';
        char tmp[] = "/tmp/test-pth-nl-XXXXXX";
        int fd = mkstemp(tmp);
        CHECK(fd >= 0 && write(fd, dcn, nd) == (ssize_t) nd, "temp file");
        if (fd >= 0) close(fd);
        expect_load_error("a newline in a tensor name", net, tmp, WEIGHTS_AUTO, 0, "('backbone.layer?.0.conv2.conv_offset.weight')", NULL);
        unlink(tmp);
    }
    free(dcn);
    net_free(net);
}

// ---- maps -----------------------------------------------------------------------------------

static void test_maps(void) {
    static const struct { enum wmap_source s; const char * in, * out; enum wmap_result r; } cases[] = {
        { WMAP_TORCHVISION, "layer4.2.bn3.running_var", "backbone.layer4.2.bn3.running_var", WMAP_MAPPED },
        { WMAP_TORCHVISION, "fc.weight", "fc.weight", WMAP_UNUSED },
        { WMAP_TORCHVISION, "bn1.num_batches_tracked", "bn1.num_batches_tracked", WMAP_DROPPED },
        { WMAP_MMDET, "neck.fpn_convs.4.conv.bias", "neck.fpn_convs.4.conv.bias", WMAP_MAPPED },
        { WMAP_MMDET, "conv1.weight", "backbone.conv1.weight", WMAP_MAPPED },
        { WMAP_MMDET, "layer5.0.weight", "layer5.0.weight", WMAP_UNUSED },
        { WMAP_SEED, "fpn.P3_1.weight", "neck.lateral_convs.0.conv.weight", WMAP_MAPPED },
        { WMAP_SEED, "fpn.P5_1.bias", "neck.lateral_convs.2.conv.bias", WMAP_MAPPED },
        { WMAP_SEED, "fpn.P4_2.weight", "neck.fpn_convs.1.conv.weight", WMAP_MAPPED },
        { WMAP_SEED, "fpn.P6.weight", "neck.fpn_convs.3.conv.weight", WMAP_MAPPED },
        { WMAP_SEED, "fpn.P7_2.bias", "neck.fpn_convs.4.conv.bias", WMAP_MAPPED },
        { WMAP_SEED, "classificationModel.conv1.weight", "bbox_head.cls_convs.0.conv.weight", WMAP_MAPPED },
        { WMAP_SEED, "classificationModel.output.bias", "bbox_head.retina_cls.bias", WMAP_MAPPED },
        { WMAP_SEED, "regressionModel.conv4.bias", "bbox_head.reg_convs.3.conv.bias", WMAP_MAPPED },
        { WMAP_SEED, "regressionModel.output.weight", "bbox_head.retina_reg.weight", WMAP_MAPPED },
        { WMAP_SEED, "regressionModel.conv0.weight", "regressionModel.conv0.weight", WMAP_UNUSED },
        { WMAP_SEED, "conv1.bias", "backbone.conv1.bias", WMAP_MAPPED },
        { WMAP_OURS, "bbox_head.retina_cls.bias", "bbox_head.retina_cls.bias", WMAP_MAPPED },
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[ALRP_ST_MAX_NAME];
        enum wmap_result r = wmap_name(cases[i].s, cases[i].in, out, sizeof out);
        if (r != cases[i].r || strcmp(out, cases[i].out) != 0) { bad++; printf("     %s '%s' -> '%s' (%d)\n", wmap_source_name(cases[i].s), cases[i].in, out, (int) r); }
    }
    CHECK(bad == 0, "name maps: %d cases", (int) (sizeof cases / sizeof cases[0]));
    const char * seed[] = { "conv1.weight", "fpn.P3_1.weight" }, * mm[] = { "backbone.conv1.weight" }, * tv[] = { "conv1.weight", "fc.bias" }, * ours[] = { "x" };
    CHECK(wmap_guess(2, seed) == WMAP_SEED && wmap_guess(1, mm) == WMAP_MMDET && wmap_guess(2, tv) == WMAP_TORCHVISION && wmap_guess(1, ours) == WMAP_OURS, "source guesses");
    enum weights_from wf;
    CHECK(weights_from_parse("seed", &wf) == 0 && wf == WEIGHTS_SEED && weights_from_parse("caffe", &wf) == -1 &&
          strcmp(weights_from_name(WEIGHTS_TORCHVISION), "torchvision") == 0, "weights_from names");
}

int main(int argc, char ** argv) {
    (void) argc; (void) argv;
    ref_open_file(DIR "refs.safetensors", "gen-ref-pth.py");
    be = alrp_backend_cpu_init(2);
    test_maps();
    test_reader();
    test_load("tv_r50.pth", V_TV, "tv", "tv zip");
    test_load("tv_r50_legacy.pth", V_TV, "tv", "tv legacy");
    test_load("a_retinanet.pth", V_A, "a", "[A] zip");
    test_load("a_retinanet_legacy.pth", V_A, "a", "[A] legacy");
    test_load("b_seed.pth", V_B, "b", "[B] zip");
    test_load("b_seed_legacy.pth", V_B, "b", "[B] legacy");
    test_ours();
    test_bad();
    alrp_backend_free(be);
    alrp_st_close(ref_file);
    printf("test-pth: %d checks, %d failed\n", checks, fails);
    return fails ? 1 : 0;
}
