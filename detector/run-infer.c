// run-infer.c - `./detector infer IMAGE...`: detections of each image, printed as
// `class score x1 y1 x2 y2` (original-image pixels) and drawn on an annotated copy
// (runs/infer/<name>.png, or --out DIR). With no --weights, the best model of the most recent run.
#include "run-args.h"
#include "run-ckpt.h"
#include "run-common.h"
#include "run-eval.h"
#include "run-plots.h"

#include "data-image.h"
#include "draw-image.h"
#include "model-config.h"
#include "model-infer.h"

#include <stdlib.h>
#include <string.h>

int run_infer(const struct run_args * a) {
    char err[2048];
    struct run_env env;
    if (run_env_init(&env, a->data_dir, err, sizeof err)) { fprintf(stderr, "infer: %s\n", err); return 2; }
    if (a->n_images == 0) { fprintf(stderr, "infer: no IMAGE given (see ./detector infer --help)\n"); return 2; }
    char weights[RUN_PATH];
    if (a->weights) snprintf(weights, sizeof weights, "%s", a->weights);
    else if (run_latest_weights(&env, NULL, weights, sizeof weights, err, sizeof err)) { fprintf(stderr, "infer: %s\n", err); return 2; }
    struct ckpt_meta meta;
    if (run_open_model(a, &env, weights, NULL, &meta, err, sizeof err)) {
        fprintf(stderr, "infer: %s\n", err);
        return 2;
    }
    char out_dir[RUN_PATH];
    if (a->out) snprintf(out_dir, sizeof out_dir, "%s", a->out);
    else run_join(out_dir, sizeof out_dir, env.runs, "infer");
    struct alrp_backend * be = NULL;
    struct infer * inf = NULL;
    struct det_detection * d = NULL;
    float * chw = NULL;
    size_t chw_cap = 0;
    int rc = 2, n_failed = 0;
    if (run_mkdirs(out_dir, err, sizeof err)) { fprintf(stderr, "infer: %s\n", err); goto done; }
    if (!(be = run_backend_new(a->device, a->threads, err, sizeof err))) { fprintf(stderr, "infer: %s\n", err); goto done; }
    inf = infer_new(&meta.config, meta.n_classes, be, err, sizeof err);
    if (!inf || run_load_weights(inf, be, weights, err, sizeof err)) { fprintf(stderr, "infer: %s\n", err); goto done; }
    d = (struct det_detection *) malloc(sizeof(*d) * (size_t) infer_max_dets(inf));
    if (!d) { fprintf(stderr, "infer: out of memory\n"); goto done; }
    struct run_classes cls = { meta.n_classes, meta.cat_ids, (const char * const *) meta.cat_names };
    struct image_norm nm;
    config_image_norm(&meta.config, &nm);
    printf("# weights %s (%d classes)\n", weights, meta.n_classes);
    for (int i = 0; i < a->n_images; i++) {
        const char * path = a->images[i];
        struct image im;
        if (image_load(path, &im, err, sizeof err)) { fprintf(stderr, "infer: %s\n", err); n_failed++; continue; }
        struct test_geom g;
        image_test_geom(im.w, im.h, meta.config.test_size, meta.config.test_max_size, 32, &g);
        const size_t need = (size_t) 3 * (size_t) g.pw * (size_t) g.ph;
        if (need > chw_cap) {
            float * c2 = (float *) realloc(chw, sizeof(float) * need);
            if (!c2) { fprintf(stderr, "infer: %s: out of memory\n", path); image_free(&im); n_failed++; continue; }
            chw = c2; chw_cap = need;
        }
        if (image_to_input(&im, &g, &nm, chw)) { fprintf(stderr, "infer: %s: cannot prepare the image\n", path); image_free(&im); n_failed++; continue; }
        const int n = infer_run(inf, chw, g.ph, g.pw, (float) g.rw, (float) g.rh, g.scale_w, g.scale_h, d, err, sizeof err);
        if (n < 0) { fprintf(stderr, "infer: %s: %s\n", path, err); image_free(&im); n_failed++; continue; }
        printf("%s: %d detections (%dx%d)\n", path, n, im.w, im.h);
        for (int k = 0; k < n; k++) {
            printf("%s %.4f %.2f %.2f %.2f %.2f\n", cls.names[d[k].cls], (double) d[k].score, (double) d[k].box[0], (double) d[k].box[1],
                   (double) d[k].box[2], (double) d[k].box[3]);
        }
        run_draw_detections(&im, n, d, &cls, RUN_SHOW_SCORE);
        const char * base = strrchr(path, '/');
        base = base ? base + 1 : path;
        char name[512], out[RUN_PATH];
        snprintf(name, sizeof name, "%s", base);
        char * dot = strrchr(name, '.');
        if (dot) *dot = '\0';
        strncat(name, ".png", sizeof name - strlen(name) - 1);
        run_join(out, sizeof out, out_dir, name);
        if (draw_write_png(out, &im, err, sizeof err)) { fprintf(stderr, "infer: %s\n", err); n_failed++; }
        else fprintf(stderr, "infer: annotated copy (scores >= %.2f drawn) %s\n", (double) RUN_SHOW_SCORE, out);
        image_free(&im);
    }
    rc = n_failed ? 2 : 0;
done:
    free(chw);
    free(d);
    infer_free(inf);
    if (be) alrp_backend_free(be);
    ckpt_meta_free(&meta);
    return rc;
}
