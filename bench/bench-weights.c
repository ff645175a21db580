// bench-weights: load times of PyTorch checkpoints and of their safetensors conversions.
//
//     build/bench/bench-weights [DIR]
//
// DIR (default /tmp/pth-full, which `/usr/bin/python3 tools/gen-ref-pth.py --full /tmp/pth-full`
// fills with full-size random resnet50 and resnext101_32x8d state dicts in both formats and
// their conversions; tests/data/pth's small files when it does not exist). For every *.pth and
// *.safetensors file: the time to read and parse it (pth_load / alrp_st_load, best of 3; the
// file is in the page cache after the first), and for the full-size backbones the time of
// weights_load into a backbone-only model on the CPU backend (read, map, check, convert,
// upload), best of 3.
#include "../detector/model-nn.c"
#include "../detector/model-resnet.c"
#include "../detector/model-fpn.c"
#include "../detector/model-head.c"
#include "../detector/model.c"
#include "../detector/weights-pth.c"
#include "../detector/weights-map.c"
#include "../detector/weights.c"
#include "bench-common.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int by_name(const void * a, const void * b) { return strcmp(*(char * const *) a, *(char * const *) b); }

int main(int argc, char ** argv) {
    const char * dir = argc > 1 ? argv[1] : "/tmp/pth-full";
    DIR * d = opendir(dir);
    if (!d && argc <= 1) { dir = "tests/data/pth"; d = opendir(dir); }
    if (!d) { fprintf(stderr, "bench-weights: cannot open %s\n", dir); return 1; }
    char * names[256];
    int n = 0;
    struct dirent * e;
    while ((e = readdir(d)) != NULL && n < 256) {
        size_t l = strlen(e->d_name);
        bool pth = l > 4 && strcmp(e->d_name + l - 4, ".pth") == 0, st = l > 12 && strcmp(e->d_name + l - 12, ".safetensors") == 0;
        if ((pth || st) && strncmp(e->d_name, "bad_", 4) != 0) names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t) n, sizeof names[0], by_name);
    (void) measure_peak;   // bench-common.h's; only the clock is used here
    struct alrp_backend * be = alrp_backend_cpu_init(1);
    printf("bench-weights: %s (best of 3)\n", dir);
    printf("%-40s %10s %9s %9s %12s\n", "file", "MB", "parse s", "MB/s", "load s");
    for (int i = 0; i < n; i++) {
        char path[1024], err[512];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        struct stat sb;
        stat(path, &sb);
        const bool pth = strstr(names[i], ".pth") != NULL;
        double best = 1e30;
        int count = 0;
        for (int r = 0; r < 3; r++) {
            double t0 = now_s();
            if (pth) {
                struct pth_file * f = pth_load(path, err, sizeof err);
                if (!f) { printf("%s: %s\n", names[i], err); break; }
                count = pth_count(f);
                pth_close(f);
            } else {
                struct alrp_st_file * f = alrp_st_load(path, err, sizeof err);
                if (!f) { printf("%s: %s\n", names[i], err); break; }
                count = alrp_st_count(f);
                alrp_st_close(f);
            }
            double t = now_s() - t0;
            best = t < best ? t : best;
        }
        if (best >= 1e30) continue;
        // weights_load into the matching full-size backbone
        const char * arch = strstr(names[i], "resnext101_32x8d") ? "resnext101_32x8d" : strstr(names[i], "resnet50") ? "resnet50" : NULL;
        double load = -1.0;
        if (arch) {
            struct model_options o;
            model_options_for(&o, arch, 80, 9);
            o.backbone.bn = ALRP_BN_EVAL;
            struct alrp_init_params ip = { model_weights_mem_size(&o), NULL, true };
            struct alrp_context * cw = alrp_init(ip);
            struct model * m = (struct model *) malloc(sizeof(*m));
            if (model_init(m, cw, &o, err, sizeof err) == 0) {
                struct alrp_buffer * bw = alrp_backend_alloc_ctx_tensors(cw, be);
                load = 1e30;
                for (int r = 0; r < 3 && load > 0; r++) {
                    double t0 = now_s();
                    if (weights_load(m, be, path, WEIGHTS_AUTO, 1, NULL, err, sizeof err)) { printf("%s: %s\n", names[i], err); load = -1.0; break; }
                    double t = now_s() - t0;
                    load = t < load ? t : load;
                }
                alrp_buffer_free(bw);
                model_free(m);
            }
            free(m);
            alrp_free(cw);
        }
        char ls[32] = "-";
        if (load >= 0) snprintf(ls, sizeof ls, "%.3f", load);
        printf("%-40s %10.1f %9.3f %9.0f %12s   (%d tensors)\n", names[i], sb.st_size / 1e6, best, sb.st_size / 1e6 / best, ls, count);
    }
    for (int i = 0; i < n; i++) free(names[i]);
    alrp_backend_free(be);
    return 0;
}
