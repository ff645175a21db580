// detector.c - the ./detector program: train, eval and infer RetinaNet with aLRP Loss (or AP
// Loss, or focal loss) on the CPU (or the CUDA backend when built with it).
//
//     ./detector train DATASET [--config NAME] [--weights BACKBONE] [key=value ...]
//     ./detector eval DATASET [--weights W] [--split val|test-dev] [--results FILE.json]
//     ./detector infer IMAGE... [--weights W]
//
// This file parses the command line (run-args.h) and hands over to run-train.c, run-eval.c
// and run-infer.c. It is the one program that includes the whole detector; the implementation
// of alrp.h is linked (build/alrp.o).
#include "json.c"
#include "coco.c"
#include "coco-results.c"
#include "coco-eval.c"
#include "coco-eval-print.c"
#include "config.c"
#include "model-nn.c"
#include "model-resnet.c"
#include "model-fpn.c"
#include "model-head.c"
#include "model.c"
#include "model-loss.c"
#include "model-anchors.c"
#include "model-boxes.c"
#include "model-post.c"
#include "model-config.c"
#include "model-infer.c"
#include "data-assign.c"
#include "data-stb.c"
#include "data-image.c"
#include "data-shapes.c"
#include "data-augment.c"
#include "data-loader.c"
#include "draw-font.c"
#include "draw-image.c"
#include "draw-plot.c"
#include "weights-pth.c"
#include "weights-map.c"
#include "weights.c"
#include "run-common.c"
#include "run-ckpt.c"
#include "run-plots.c"
#include "run-eval.c"
#include "run-train.c"
#include "run-infer.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage_main(FILE * f) {
    fprintf(f,
        "usage: ./detector COMMAND [options]   (run from detector/ or as detector/detector from the repository)\n"
        "  train DATASET [--config NAME] [--weights BACKBONE] [key=value ...]   train a RetinaNet; writes runs/NAME/\n"
        "  eval DATASET [--weights W] [--split val|test-dev] [--results FILE.json]   COCO AP and oLRP of a model\n"
        "  infer IMAGE... [--weights W]                                           detections, and annotated copies\n"
        "DATASET: shapes (built in, generated under data/shapes on first use), coco (data/coco) or a folder in COCO's\n"
        "layout (annotations/instances_{train,val}2017.json, train2017/, val2017/).\n"
        "Common options: --data DIR (instead of data/), --threads N (default: every core), --seed S, --device cpu|cuda.\n"
        "./detector COMMAND --help tells more. Example: ./detector train shapes && ./detector infer data/shapes/val2017/000000.jpg\n");
}

static void usage_train(FILE * f) {
    fprintf(f,
        "usage: ./detector train DATASET [--config NAME] [--weights BACKBONE] [key=value ...]\n"
        "       ./detector train --resume RUN_DIR\n"
        "  --config NAME      a file of models/ (default: shapes for shapes and folders, alrp500_r50 for coco) or a path\n"
        "  --weights FILE     backbone weights to start from: .safetensors or .pth (torchvision / mmdetection ImageNet models)\n"
        "  --resume RUN_DIR   continue a run exactly where its last.safetensors left it\n"
        "  --out DIR          the run folder (default runs/<dataset>-<config>, numbered when taken)\n"
        "  --data DIR --threads N --seed S --device cpu|cuda\n"
        "  --log-every N      a progress line every N updates (default: every update on a terminal, 20 otherwise)\n"
        "  --stop-after N     stop after N updates with a checkpoint (then --resume)\n"
        "  key=value          override a config key; the keys:\n");
    config_print_help(f);
}

static void usage_eval(FILE * f) {
    fprintf(f,
        "usage: ./detector eval DATASET [--weights W] [--split val|test-dev] [--results FILE.json] [key=value ...]\n"
        "  --weights W        a checkpoint of this program (default: best.safetensors of the most recent run on DATASET),\n"
        "                     or PyTorch / bare safetensors weights with --config NAME\n"
        "  --split            val (default, scored) or test-dev (image_info_test-dev2017.json: results for the server)\n"
        "  --results FILE     write the detections in COCO's results format\n"
        "  key=value          test settings: test_size, test_max_size, score_thr, nms_iou, nms_pre, max_per_img\n"
        "  --data DIR --threads N --device cpu|cuda\n");
}

static void usage_infer(FILE * f) {
    fprintf(f,
        "usage: ./detector infer IMAGE... [--weights W] [--out DIR] [key=value ...]\n"
        "  prints one line per detection: class score x1 y1 x2 y2 (pixels of the original image),\n"
        "  and writes an annotated copy of each image to runs/infer/ (or --out DIR)\n"
        "  --weights W        a checkpoint of this program (default: best.safetensors of the most recent run)\n"
        "  --threads N --device cpu|cuda\n");
}

static int parse_int(const char * opt, const char * v, long long lo, long long hi, long long * out) {
    char * end = NULL;
    long long x = v ? strtoll(v, &end, 10) : 0;
    if (!v || !*v || *end || x < lo || x > hi) {
        fprintf(stderr, "detector: %s needs an integer in [%lld, %lld], got '%s'\n", opt, lo, hi, v ? v : "");
        return -1;
    }
    *out = x;
    return 0;
}

int main(int argc, char ** argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage_main(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    struct run_args a;
    memset(&a, 0, sizeof a);
    a.cmd = argv[1];
    const int is_train = strcmp(a.cmd, "train") == 0, is_eval = strcmp(a.cmd, "eval") == 0, is_infer = strcmp(a.cmd, "infer") == 0;
    if (!is_train && !is_eval && !is_infer) {
        fprintf(stderr, "detector: unknown command '%s' (train, eval or infer; ./detector --help)\n", a.cmd);
        return 2;
    }
    void (*usage)(FILE *) = is_train ? usage_train : is_eval ? usage_eval : usage_infer;
    for (int i = 2; i < argc; i++) {
        const char * s = argv[i];
        const char * v = i + 1 < argc ? argv[i + 1] : NULL;
        long long x;
        if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) { usage(stdout); return 0; }
        if (s[0] == '-' && s[1] == '-') {
            const char * const takes[] = { "--config", "--weights", "--resume", "--out", "--data", "--split", "--results", "--device",
                                           "--threads", "--seed", "--log-every", "--stop-after" };
            int known = 0;
            for (size_t k = 0; k < sizeof takes / sizeof takes[0]; k++) known |= strcmp(s, takes[k]) == 0;
            if (!known) { fprintf(stderr, "detector %s: unknown option '%s' (./detector %s --help)\n", a.cmd, s, a.cmd); return 2; }
            if (!v) { fprintf(stderr, "detector %s: %s needs a value\n", a.cmd, s); return 2; }
            i++;
            if (strcmp(s, "--config") == 0) a.config = v;
            else if (strcmp(s, "--weights") == 0) a.weights = v;
            else if (strcmp(s, "--resume") == 0) a.resume = v;
            else if (strcmp(s, "--out") == 0) a.out = v;
            else if (strcmp(s, "--data") == 0) a.data_dir = v;
            else if (strcmp(s, "--split") == 0) a.split = v;
            else if (strcmp(s, "--results") == 0) a.results = v;
            else if (strcmp(s, "--device") == 0) a.device = v;
            else if (strcmp(s, "--threads") == 0) { if (parse_int(s, v, 0, 1024, &x)) return 2; a.threads = (int) x; }
            else if (strcmp(s, "--seed") == 0) { if (parse_int(s, v, 0, 2147483647LL, &x)) return 2; a.seed = (uint64_t) x; a.seed_set = 1; }
            else if (strcmp(s, "--log-every") == 0) { if (parse_int(s, v, 1, 1LL << 40, &x)) return 2; a.log_every = (int) x; }
            else if (strcmp(s, "--stop-after") == 0) { if (parse_int(s, v, 1, 1LL << 40, &x)) return 2; a.stop_after = x; }
            continue;
        }
        if (strchr(s, '=') && !is_infer) {
            if (a.n_overrides == RUN_MAX_OVERRIDES) { fprintf(stderr, "detector: too many key=value overrides\n"); return 2; }
            a.overrides[a.n_overrides++] = s;
            continue;
        }
        if (is_infer) {
            if (a.n_images == RUN_MAX_IMAGES) { fprintf(stderr, "detector infer: at most %d images per call\n", RUN_MAX_IMAGES); return 2; }
            a.images[a.n_images++] = s;
        } else if (!a.dataset) a.dataset = s;
        else { fprintf(stderr, "detector %s: a second DATASET '%s' (one is enough; options start with --)\n", a.cmd, s); return 2; }
    }
    if (a.device && strcmp(a.device, "cpu") != 0 && strcmp(a.device, "cuda") != 0) {
        fprintf(stderr, "detector: --device '%s': cpu or cuda\n", a.device);
        return 2;
    }
    if (is_eval && !a.dataset) { fprintf(stderr, "detector eval: no DATASET (./detector eval --help)\n"); return 2; }
    return is_train ? run_train(&a) : is_eval ? run_eval(&a) : run_infer(&a);
}
