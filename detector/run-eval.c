// run-eval.c - detect a split and score it (run-eval.h), and the `eval` command
#include "run-eval.h"

#include "coco-eval-print.h"
#include "model-config.h"
#include "data-image.h"
#include "data-loader.h"
#include "run-args.h"
#include "run-ckpt.h"
#include "run-common.h"
#include "weights.h"

#ifdef ALRP_CUDA
#include "alrp-cuda.h"
#endif

#include <math.h>
#include <stdlib.h>
#include <string.h>

void run_preview_free(struct run_preview * pv) {
    for (int i = 0; i < pv->n; i++) { image_free(&pv->img[i]); free(pv->det[i]); }
    pv->n = 0;
}

struct alrp_backend * run_backend_new(const char * device, int n_threads, char * err, size_t err_size) {
    if (!device || strcmp(device, "cpu") == 0) return alrp_backend_cpu_init(n_threads);
    if (strcmp(device, "cuda") == 0) {
#ifdef ALRP_CUDA
        return alrp_backend_cuda_init(0, err, err_size);
#else
        snprintf(err, err_size, "--device cuda: this build has no CUDA backend (make builds it when nvcc is found); use --device cpu");
        return NULL;
#endif
    }
    snprintf(err, err_size, "--device '%s': not a device (cpu or cuda)", device);
    return NULL;
}

int run_detect_split(struct infer * inf, const struct config * c, const struct coco_dataset * ds, const char * image_dir,
                     const struct run_classes * cls, int n_threads, struct coco_det ** dets, int64_t * n_dets,
                     struct run_preview * pv, char * err, size_t err_size) {
    *dets = NULL;
    *n_dets = 0;
    int32_t * cat_index = (int32_t *) malloc(sizeof(int32_t) * (size_t) cls->n);
    struct det_detection * d = (struct det_detection *) malloc(sizeof(*d) * (size_t) infer_max_dets(inf));
    if (!cat_index || !d) { free(cat_index); free(d); snprintf(err, err_size, "eval: out of memory"); return -1; }
    for (int k = 0; k < cls->n; k++) {
        const int64_t idx = coco_dataset_find_category(ds, cls->ids[k]);
        if (idx < 0) {
            snprintf(err, err_size, "%s: has no category id %lld ('%s', class %d of the model): evaluate on the dataset the model was trained for",
                     ds->name, (long long) cls->ids[k], cls->names[k], k);
            free(cat_index); free(d);
            return -1;
        }
        cat_index[k] = (int32_t) idx;
    }
    struct loader_params lp;
    memset(&lp, 0, sizeof lp);
    lp.ds = ds;
    lp.image_dir = image_dir;
    lp.train = 0;
    lp.batch = 1;
    lp.test_size = c->test_size;
    lp.test_max_size = c->test_max_size;
    lp.pad = 32;
    config_image_norm(c, &lp.norm);
    lp.n_threads = n_threads > 1 ? n_threads - 1 : 1;
    lp.prefetch = 4;
    lp.seed = (uint64_t) c->seed;
    struct loader * l = loader_new(&lp, err, err_size);
    if (!l) { free(cat_index); free(d); return -1; }
    int rc = -1;
    int64_t cap = 0, n = 0;
    struct coco_det * out = NULL;
    if (loader_start(l, 0, 0, err, err_size)) goto done;
    for (;;) {
        const struct loader_batch * b = NULL;
        const int r = loader_next(l, &b, err, err_size);
        if (r < 0) goto done;
        if (r == 1) break;
        if (b->skipped && b->skipped[0]) continue;
        const struct test_geom * g = &b->geom[0];
        const int nd = infer_run(inf, b->images, b->H, b->W, (float) g->rw, (float) g->rh, g->scale_w, g->scale_h, d, err, err_size);
        if (nd < 0) goto done;
        const int64_t ii = b->image_index[0];
        const struct coco_image * im = &ds->images[ii];
        if (n + nd > cap) {
            cap = 2 * (n + nd) + 1024;
            struct coco_det * o2 = (struct coco_det *) realloc(out, sizeof(*out) * (size_t) cap);
            if (!o2) { snprintf(err, err_size, "eval: out of memory"); goto done; }
            out = o2;
        }
        for (int k = 0; k < nd; k++) {
            struct coco_det * e = &out[n++];
            e->image_id = im->id;
            e->image = (int32_t) ii;
            e->category_id = cls->ids[d[k].cls];
            e->category = cat_index[d[k].cls];
            e->bbox[0] = d[k].box[0];
            e->bbox[1] = d[k].box[1];
            e->bbox[2] = (double) d[k].box[2] - (double) d[k].box[0];
            e->bbox[3] = (double) d[k].box[3] - (double) d[k].box[1];
            e->score = d[k].score;
        }
        if (pv && pv->n < pv->want && pv->n < RUN_PREVIEW_MAX) {
            char path[RUN_PATH], e2[256];
            run_join(path, sizeof path, image_dir, im->file_name);
            if (image_load(path, &pv->img[pv->n], e2, sizeof e2) == 0) {
                pv->det[pv->n] = (struct det_detection *) malloc(sizeof(*d) * (size_t) (nd ? nd : 1));
                if (pv->det[pv->n]) {
                    memcpy(pv->det[pv->n], d, sizeof(*d) * (size_t) nd);
                    pv->n_det[pv->n] = nd;
                    pv->n++;
                } else image_free(&pv->img[pv->n]);
            }
        }
    }
    *dets = out;
    *n_dets = n;
    out = NULL;
    rc = 0;
done:
    loader_free(l);
    free(out);
    free(cat_index);
    free(d);
    return rc;
}

// ---- ./detector eval ----------------------------------------------------------------------

int run_open_model(const struct run_args * a, const struct run_env * env, const char * weights,
                   const struct coco_dataset * ds, struct ckpt_meta * meta, char * err, size_t err_size) {
    char e1[1024];
    if (ckpt_read(weights, meta, e1, sizeof e1) == 0) {
        for (int i = 0; i < a->n_overrides; i++) if (config_set(&meta->config, a->overrides[i], err, err_size)) return -1;
        return config_check(&meta->config, err, err_size);
    }
    if (!run_file_exists(weights)) { snprintf(err, err_size, "%s: no such file (--weights)", weights); return -1; }
    if (!a->config || !ds) {
        snprintf(err, err_size, "%s", e1);
        return -1;
    }
    ckpt_meta_init(meta);
    char path[RUN_PATH];
    if (run_config_path(env, a->config, path, sizeof path, err, err_size)) return -1;
    if (config_load(path, &meta->config, err, err_size)) return -1;
    for (int i = 0; i < a->n_overrides; i++) if (config_set(&meta->config, a->overrides[i], err, err_size)) return -1;
    if (config_check(&meta->config, err, err_size)) return -1;
    int64_t * ids = (int64_t *) malloc(sizeof(int64_t) * (size_t) (ds->n_categories + 1));
    const char ** names = (const char **) malloc(sizeof(char *) * (size_t) (ds->n_categories + 1));
    if (!ids || !names) { free(ids); free(names); snprintf(err, err_size, "out of memory"); return -1; }
    for (int64_t k = 0; k < ds->n_categories; k++) { ids[k] = ds->categories[k].id; names[k] = ds->categories[k].name; }
    const int rc = ckpt_meta_set_classes(meta, (int) ds->n_categories, ids, names);
    free(ids); free(names);
    return rc;
}

int run_load_weights(struct infer * inf, struct alrp_backend * be, const char * weights, char * err, size_t err_size) {
    struct ckpt_meta m;
    char e1[1024];
    if (ckpt_read(weights, &m, e1, sizeof e1) == 0) {
        ckpt_meta_free(&m);
        return ckpt_load(weights, be, infer_model(inf), NULL, err, err_size);
    }
    if (weights_load(infer_model(inf), be, weights, WEIGHTS_AUTO, 0, stdout, err, err_size)) return -1;
    return ckpt_check_finite(weights, infer_model(inf), be, err, err_size);
}

int run_eval(const struct run_args * a) {
    char err[2048];
    struct run_env env;
    if (run_env_init(&env, a->data_dir, err, sizeof err)) { fprintf(stderr, "eval: %s\n", err); return 2; }
    struct run_dataset rd;
    if (run_dataset_resolve(&env, a->dataset, 0, &rd, stdout, err, sizeof err)) { fprintf(stderr, "eval: %s\n", err); return 2; }
    const int test_dev = a->split && strcmp(a->split, "test-dev") == 0;
    if (a->split && !test_dev && strcmp(a->split, "val") != 0) {
        fprintf(stderr, "eval: --split '%s': use val or test-dev\n", a->split);
        return 2;
    }
    const char * json = test_dev ? rd.test_json : rd.val_json;
    const char * imgs = test_dev ? rd.test_images : rd.val_images;
    char weights[RUN_PATH];
    if (a->weights) snprintf(weights, sizeof weights, "%s", a->weights);
    else if (run_latest_weights(&env, rd.name, weights, sizeof weights, err, sizeof err)) { fprintf(stderr, "eval: %s\n", err); return 2; }
    struct coco_dataset ds;
    if (coco_dataset_load(&ds, json, err, sizeof err)) { fprintf(stderr, "eval: %s\n", err); return 2; }
    struct ckpt_meta meta;
    if (run_open_model(a, &env, weights, &ds, &meta, err, sizeof err)) { fprintf(stderr, "eval: %s\n", err); coco_dataset_free(&ds); return 2; }
    struct alrp_backend * be = run_backend_new(a->device, a->threads, err, sizeof err);
    int rc = 2;
    struct infer * inf = NULL;
    struct coco_det * dets = NULL;
    int64_t n_dets = 0;
    if (!be) { fprintf(stderr, "eval: %s\n", err); goto done; }
    inf = infer_new(&meta.config, meta.n_classes, be, err, sizeof err);
    if (!inf || run_load_weights(inf, be, weights, err, sizeof err)) { fprintf(stderr, "eval: %s\n", err); goto done; }
    printf("eval: %s on %s (%lld images), weights %s\n", config_choice("backbone", meta.config.backbone), json,
           (long long) ds.n_images, weights);
    struct run_classes cls = { meta.n_classes, meta.cat_ids, (const char * const *) meta.cat_names };
    if (run_detect_split(inf, &meta.config, &ds, imgs, &cls, a->threads, &dets, &n_dets, NULL, err, sizeof err)) {
        fprintf(stderr, "eval: %s\n", err);
        goto done;
    }
    struct infer_stats st;
    infer_get_stats(inf, &st);
    printf("eval: %lld detections; network %.1f ms, post-processing %.1f ms per image\n", (long long) n_dets,
           1e3 * st.t_net / (double) (st.n_runs ? st.n_runs : 1), 1e3 * st.t_post / (double) (st.n_runs ? st.n_runs : 1));
    char results[RUN_PATH];
    if (a->results) snprintf(results, sizeof results, "%s", a->results);
    else if (test_dev) snprintf(results, sizeof results, "detections_test-dev2017_alrp_results.json");
    else results[0] = '\0';
    if (results[0]) {
        if (coco_results_write(results, dets, n_dets, err, sizeof err)) { fprintf(stderr, "eval: %s\n", err); goto done; }
        printf("eval: detections written to %s (COCO results format)\n", results);
    }
    if (ds.n_anns == 0) {
        printf("eval: %s has no annotations: nothing to score here%s\n", json,
               test_dev ? " (submit the results file to the COCO evaluation server)" : "");
        rc = 0;
        goto done;
    }
    struct coco_results res = { dets, n_dets, "" };
    if (snprintf(res.name, sizeof res.name, "%s", weights) < 0) res.name[0] = '\0';
    struct coco_eval_params ep;
    coco_eval_params_default(&ep);
    struct coco_eval_result er;
    if (coco_eval(&er, &ds, &res, &ep, err, sizeof err)) { fprintf(stderr, "eval: %s\n", err); goto done; }
    coco_eval_print(stdout, &er, &ds, &res, 1, ep.olrp_mode);
    coco_eval_result_free(&er);
    rc = 0;
done:
    free(dets);
    infer_free(inf);
    if (be) alrp_backend_free(be);
    ckpt_meta_free(&meta);
    coco_dataset_free(&ds);
    return rc;
}
