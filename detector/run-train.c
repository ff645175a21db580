// run-train.c - `./detector train`: the training loop. One update per batch (the training step
// graph of model-loss.c), the lr schedule of the config (warmup, step decay), self-balance,
// checkpoints (every ckpt_every updates and at every epoch's end; atomic), evaluation on val
// every eval_every epochs with best.safetensors the highest AP so far, the run folder (train.log,
// steps.csv, results.csv, pictures) and the final report. --resume continues a run exactly: the
// weights, the optimizer state, BN statistics, the self-balance state and the position in the
// data order (epoch, batch) are in the checkpoint, and the data order and augmentation are
// functions of (seed, epoch, position), so the resumed loss curve equals the uninterrupted one.
#include "run-args.h"
#include "run-ckpt.h"
#include "run-common.h"
#include "run-eval.h"
#include "run-plots.h"

#include "coco-eval-print.h"
#include "data-loader.h"
#include "model-config.h"
#include "model-infer.h"
#include "weights.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

// the program's one piece of global state: a stop request from SIGINT / SIGTERM, polled between steps
static volatile sig_atomic_t train__stop = 0;
static void train__on_signal(int sig) { train__stop = sig; }

static double train__now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

static void train__hms(double s, char * buf, size_t n) {
    if (!(s >= 0) || s > 1e7) { snprintf(buf, n, "?"); return; }
    const long t = (long) (s + 0.5);
    if (t >= 3600) snprintf(buf, n, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else if (t >= 60) snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
    else snprintf(buf, n, "%lds", t);
}

// keeps the header and the rows whose first column is <= max_key (an interrupted run's rows
// after its checkpoint go, so a resumed run appends to the same history)
static int train__csv_truncate(const char * path, int64_t max_key, const char * header) {
    FILE * f = fopen(path, "r");
    char tmp[RUN_PATH + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE * o = fopen(tmp, "w");
    if (!o) { if (f) fclose(f); return -1; }
    fprintf(o, "%s\n", header);
    char line[4096];
    int first = 1;
    while (f && fgets(line, sizeof line, f)) {
        if (first) { first = 0; continue; }
        if (strtoll(line, NULL, 10) <= max_key) fputs(line, o);
    }
    if (f) fclose(f);
    if (fclose(o) != 0) return -1;
    return rename(tmp, path);
}

#define TRAIN_STEPS_HEADER   "step,epoch,batch,lr,loss,cls,loc,w_sb,n_pos,grad_norm,images_per_s"
#define TRAIN_RESULTS_HEADER "step,epoch,images_seen,lr,loss,AP,AP50,AP75,APs,APm,APl,AR100,oLRP,oLRP_loc,oLRP_FP,oLRP_FN,seconds"

struct train {
    const struct run_args * a;
    struct run_env env;
    struct run_dataset rd;
    struct config c;
    struct config_derived d;
    char config_name[128];
    char run_dir[RUN_PATH], last[RUN_PATH], best[RUN_PATH], steps_csv[RUN_PATH], results_csv[RUN_PATH];
    struct run_log log;
    FILE * steps_f;                 // steps.csv, open for the run (a row per update, flushed)
    struct coco_dataset train_ds, val_ds;
    int have_val;
    struct ckpt_meta meta;          // classes, position, best
    struct alrp_backend * be;
    struct alrp_context * ctx_w;
    struct alrp_buffer * buf_w;     // the weights and the optimizer state
    struct model * m;
    struct step * s;
    struct loader * loader;
    struct anchors anchors;
    struct infer * inf;
    struct run_classes cls;
    int n_threads;
    double t_start;
    float last_loss;
    int64_t ckpt_step;              // the update of the last checkpoint written (last.safetensors)
};

static int train__save(struct train * t, const char * path, const char * kind, char * err, size_t err_size) {
    snprintf(t->meta.kind, sizeof t->meta.kind, "%s", kind);
    t->meta.config = t->c;
    t->meta.sb = t->s->sb;
    t->meta.step = alrp_optimizer_n_steps(t->s->opt);
    const int rc = ckpt_save(path, t->be, t->m, strcmp(kind, "last") == 0 ? t->s->opt : NULL, &t->meta, err, err_size);
    if (rc == 0 && strcmp(kind, "last") == 0) t->ckpt_step = t->meta.step;
    if (rc) {
        char e2[1400];
        snprintf(e2, sizeof e2, "%s; the previous checkpoint (if any) is intact", err);
        snprintf(err, err_size, "%s", e2);
    }
    return rc;
}

// evaluation of the current weights on val; *er filled (caller frees) when it returns 0
static int train__evaluate(struct train * t, struct coco_eval_result * er, struct run_preview * pv, char * err, size_t err_size) {
    if (infer_copy_from(t->inf, t->m, err, err_size)) return -1;
    struct coco_det * dets = NULL;
    int64_t n = 0;
    if (run_detect_split(t->inf, &t->c, &t->val_ds, t->rd.val_images, &t->cls, t->n_threads, &dets, &n, pv, err, err_size)) return -1;
    struct coco_results res = { dets, n, "" };
    if (snprintf(res.name, sizeof res.name, "%s (step %lld)", t->run_dir, (long long) t->meta.step) < 0) res.name[0] = '\0';
    struct coco_eval_params ep;
    coco_eval_params_default(&ep);
    const int rc = coco_eval(er, &t->val_ds, &res, &ep, err, err_size);
    if (rc == 0 && pv == NULL) { free(dets); return 0; }
    if (rc == 0) {   // the final evaluation: the table and the results file
        char path[RUN_PATH];
        run_join(path, sizeof path, t->run_dir, "results_val.json");
        if (coco_results_write(path, dets, n, err, err_size)) { free(dets); coco_eval_result_free(er); return -1; }
        coco_eval_print(stdout, er, &t->val_ds, &res, 1, ep.olrp_mode);
        if (t->log.file) coco_eval_print(t->log.file, er, &t->val_ds, &res, 1, ep.olrp_mode);
        run_log_printf(&t->log, "detections of val written to %s\n", path);
    }
    free(dets);
    return rc;
}

static void train__results_row(struct train * t, const struct coco_eval_result * er, double lr) {
    FILE * f = fopen(t->results_csv, "a");
    if (!f) return;
    const double * s = er ? er->stats : NULL;
    fprintf(f, "%lld,%lld,%lld,%.6g,%.6g", (long long) t->meta.step, (long long) t->meta.epoch, (long long) t->meta.images_seen, lr,
            (double) t->last_loss);
    if (s) fprintf(f, ",%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f", s[COCO_STAT_AP], s[COCO_STAT_AP50], s[COCO_STAT_AP75],
                   s[COCO_STAT_APS], s[COCO_STAT_APM], s[COCO_STAT_APL], s[COCO_STAT_AR100], er->olrp, er->olrp_loc, er->olrp_fp, er->olrp_fn);
    else fprintf(f, ",,,,,,,,,,,");
    fprintf(f, ",%.1f\n", train__now() - t->t_start);
    fclose(f);
}

static void train__warn(struct train * t, const char * what, const char * err) {
    run_log_printf(&t->log, "warning: %s: %s (training goes on)\n", what, err);
}

// ---- setup --------------------------------------------------------------------------------

static int train__config(struct train * t, char * err, size_t err_size) {
    const struct run_args * a = t->a;
    if (a->resume) {
        run_join(t->last, sizeof t->last, a->resume, "last.safetensors");
        if (ckpt_read(t->last, &t->meta, err, err_size)) return -1;
        t->c = t->meta.config;
        struct config o = t->c;
        for (int i = 0; i < a->n_overrides; i++) if (config_set(&o, a->overrides[i], err, err_size)) return -1;
        if (!config_equal(&o, &t->c)) {
            for (int i = 0; i < config_n_keys(); i++) {
                const struct config_key * k = config_key_at(i);
                char v1[256], v2[256];
                config_format_value(&t->c, k, v1, sizeof v1);
                config_format_value(&o, k, v2, sizeof v2);
                if (strcmp(v1, v2) != 0) {
                    snprintf(err, err_size, "%s: the checkpoint is of another config: %s = %s there, %s here "
                             "(resume without overrides, or start a new run)", t->last, k->name, v1, v2);
                    return -1;
                }
            }
        }
        snprintf(t->config_name, sizeof t->config_name, "resumed");
        return 0;
    }
    const char * name = a->config ? a->config : t->rd.is_coco ? "alrp500_r50" : "shapes";
    char path[RUN_PATH];
    if (run_config_path(&t->env, name, path, sizeof path, err, err_size)) return -1;
    if (config_load(path, &t->c, err, err_size)) return -1;
    for (int i = 0; i < a->n_overrides; i++) if (config_set(&t->c, a->overrides[i], err, err_size)) return -1;
    if (a->seed_set) t->c.seed = (int) a->seed;
    if (config_check(&t->c, err, err_size)) return -1;
    const char * b = strrchr(name, '/');
    snprintf(t->config_name, sizeof t->config_name, "%s", b ? b + 1 : name);
    ckpt_meta_init(&t->meta);
    return 0;
}

static int train__data(struct train * t, char * err, size_t err_size) {
    if (coco_dataset_load(&t->train_ds, t->rd.train_json, err, err_size)) return -1;
    t->have_val = run_file_exists(t->rd.val_json) && coco_dataset_load(&t->val_ds, t->rd.val_json, err, err_size) == 0;
    if (!t->have_val && run_file_exists(t->rd.val_json)) return -1;
    const int K = (int) t->train_ds.n_categories;
    if (K < 1) { snprintf(err, err_size, "%s: no categories", t->rd.train_json); return -1; }
    if (t->a->resume) {   // the checkpoint's classes must be the dataset's
        if (t->meta.n_classes != K) {
            (void) !snprintf(err, err_size, "%.300s: the checkpoint has %d classes, %.300s has %d: it is of another dataset", t->last,
                     t->meta.n_classes, t->rd.train_json, K);
            return -1;
        }
        for (int k = 0; k < K; k++) if (t->meta.cat_ids[k] != t->train_ds.categories[k].id) {
            (void) !snprintf(err, err_size, "%.300s: class %d is category id %lld in the checkpoint and %lld in %.300s: another dataset", t->last, k,
                     (long long) t->meta.cat_ids[k], (long long) t->train_ds.categories[k].id, t->rd.train_json);
            return -1;
        }
    } else {
        int64_t * ids = (int64_t *) malloc(sizeof(int64_t) * (size_t) K);
        const char ** names = (const char **) malloc(sizeof(char *) * (size_t) K);
        if (!ids || !names) { free(ids); free(names); snprintf(err, err_size, "out of memory"); return -1; }
        for (int k = 0; k < K; k++) { ids[k] = t->train_ds.categories[k].id; names[k] = t->train_ds.categories[k].name; }
        const int rc = ckpt_meta_set_classes(&t->meta, K, ids, names);
        free(ids); free(names);
        if (rc) { snprintf(err, err_size, "out of memory"); return -1; }
        if (snprintf(t->meta.dataset, sizeof t->meta.dataset, "%s", t->rd.dir) >= (int) sizeof t->meta.dataset) {
            snprintf(err, err_size, "%.200s...: the dataset path is too long", t->rd.dir);
            return -1;
        }
        t->meta.seed = (uint64_t) t->c.seed;
    }
    t->cls.n = K;
    t->cls.ids = t->meta.cat_ids;
    t->cls.names = (const char * const *) t->meta.cat_names;

    struct anchors_config ac;
    config_anchors(&t->c, &ac);
    if (anchors_init_image(&t->anchors, &ac, t->c.size, t->c.size, err, err_size)) return -1;
    struct loader_params lp;
    memset(&lp, 0, sizeof lp);
    lp.ds = &t->train_ds;
    lp.image_dir = t->rd.train_images;
    lp.train = 1;
    lp.batch = t->c.batch;
    lp.size = t->c.size;
    lp.test_size = t->c.test_size;
    lp.test_max_size = t->c.test_max_size;
    lp.pad = 32;
    augment_params_default(&lp.aug);
    lp.aug.photometric = t->c.aug_photometric;
    lp.aug.expand = t->c.aug_expand;
    lp.aug.crop = t->c.aug_crop;
    lp.aug.flip = t->c.aug_flip;
    config_image_norm(&t->c, &lp.norm);
    lp.anchors = &t->anchors;
    config_assign_params(&t->c, &lp.assign);
    lp.n_classes = K;
    lp.n_threads = t->n_threads > 1 ? t->n_threads - 1 : 1;
    lp.prefetch = 3;
    lp.seed = (uint64_t) t->c.seed;
    t->loader = loader_new(&lp, err, err_size);
    if (!t->loader) return -1;
    if (config_derive(&t->c, loader_n_images(t->loader), K, &t->d, err, err_size)) return -1;
    return 0;
}

static int train__model(struct train * t, char * err, size_t err_size) {
    struct model_options mo;
    if (config_model_options(&t->c, t->cls.n, -1, &mo, err, err_size)) return -1;
    struct alrp_init_params ip = { model_weights_mem_size(&mo), NULL, true };
    t->ctx_w = alrp_init(ip);
    t->m = (struct model *) calloc(1, sizeof(*t->m));
    t->s = (struct step *) calloc(1, sizeof(*t->s));
    if (!t->ctx_w || !t->m || !t->s) { snprintf(err, err_size, "out of memory"); return -1; }
    if (model_init(t->m, t->ctx_w, &mo, err, err_size)) return -1;
    struct loss_options lo;
    config_loss_options(&t->c, &t->d, &lo);
    struct alrp_opt_params op = alrp_opt_default_params(t->c.optimizer == CONFIG_OPT_ADAMW ? ALRP_OPT_ADAMW : ALRP_OPT_SGD);
    op.momentum = t->c.momentum;
    op.weight_decay = t->c.weight_decay;
    op.lr = t->d.lr;
    if (step_init(t->s, t->m, t->ctx_w, t->be, t->c.batch, t->c.size, t->c.size, &lo, op, err, err_size)) return -1;
    if (!(t->buf_w = alrp_backend_alloc_ctx_tensors(t->ctx_w, t->be))) { snprintf(err, err_size, "out of memory for the weights"); return -1; }
    if (model_init_weights(t->m, t->be, (uint64_t) t->c.seed)) { snprintf(err, err_size, "out of memory"); return -1; }
    if (t->a->weights && !t->a->resume) {
        if (weights_load(t->m, t->be, t->a->weights, WEIGHTS_AUTO, 1, stdout, err, err_size) ||
            ckpt_check_finite(t->a->weights, t->m, t->be, err, err_size)) return -1;
    }
    if (step_place(t->s, err, err_size)) return -1;
    if (t->a->resume) {
        if (ckpt_load(t->last, t->be, t->m, t->s->opt, err, err_size)) return -1;
        alrp_optimizer_set_n_steps(t->s->opt, t->meta.step);
        t->s->sb = t->meta.sb;
        t->ckpt_step = t->meta.step;
    } else {
        t->s->sb.weight = t->c.sb_init;
    }
    if (t->have_val && !(t->inf = infer_new(&t->c, t->cls.n, t->be, err, err_size))) return -1;
    return 0;
}

static int train__run_dir(struct train * t, char * err, size_t err_size) {
    if (t->a->resume) snprintf(t->run_dir, sizeof t->run_dir, "%s", t->a->resume);
    else if (run_new_dir(&t->env, t->a->out, t->rd.name, t->config_name, t->run_dir, sizeof t->run_dir, err, err_size)) return -1;
    run_join(t->last, sizeof t->last, t->run_dir, "last.safetensors");
    run_join(t->best, sizeof t->best, t->run_dir, "best.safetensors");
    run_join(t->steps_csv, sizeof t->steps_csv, t->run_dir, "steps.csv");
    run_join(t->results_csv, sizeof t->results_csv, t->run_dir, "results.csv");
    char path[RUN_PATH];
    run_join(path, sizeof path, t->run_dir, "train.log");
    t->log.file = fopen(path, t->a->resume ? "a" : "w");
    if (!t->log.file) { snprintf(err, err_size, "%s: cannot write (check the folder's permissions)", path); return -1; }
    if (train__csv_truncate(t->steps_csv, t->meta.step, TRAIN_STEPS_HEADER) ||
        train__csv_truncate(t->results_csv, t->meta.step, TRAIN_RESULTS_HEADER)) {
        snprintf(err, err_size, "%s: cannot write the run's csv files", t->run_dir);
        return -1;
    }
    if (!(t->steps_f = fopen(t->steps_csv, "a"))) { snprintf(err, err_size, "%s: cannot write", t->steps_csv); return -1; }
    run_join(path, sizeof path, t->run_dir, "config");
    FILE * f = fopen(path, "w");
    if (f) { config_print(f, &t->c, &t->d); fclose(f); }
    return 0;
}

static void train__free(struct train * t) {
    infer_free(t->inf);
    if (t->s && t->s->g) step_free(t->s);
    if (t->m && t->m->reg.n) model_free(t->m);
    free(t->s);
    free(t->m);
    if (t->buf_w) alrp_buffer_free(t->buf_w);
    if (t->ctx_w) alrp_free(t->ctx_w);
    loader_free(t->loader);
    anchors_free(&t->anchors);
    if (t->be) alrp_backend_free(t->be);
    coco_dataset_free(&t->train_ds);
    if (t->have_val) coco_dataset_free(&t->val_ds);
    ckpt_meta_free(&t->meta);
    if (t->log.file) fclose(t->log.file);
    if (t->steps_f) fclose(t->steps_f);
}

// ---- the loop -----------------------------------------------------------------------------

int run_train(const struct run_args * a) {
    static struct train T;   // large; one per process
    struct train * t = &T;
    memset(t, 0, sizeof(*t));
    t->a = a;
    char err[2048];
    int rc = 2;
    t->n_threads = a->threads > 0 ? a->threads : (int) sysconf(_SC_NPROCESSORS_ONLN);
    if (t->n_threads < 1) t->n_threads = 1;
    signal(SIGXFSZ, SIG_IGN);   // a full disk or `ulimit -f`: the write fails (and says so) instead of killing the run
    if (run_env_init(&t->env, a->data_dir, err, sizeof err)) goto fail;
    if (a->resume && !a->dataset) {   // the dataset of the checkpoint
        char last[RUN_PATH];
        struct ckpt_meta m;
        run_join(last, sizeof last, a->resume, "last.safetensors");
        if (ckpt_read(last, &m, err, sizeof err)) goto fail;
        const int r = run_dataset_resolve(&t->env, m.dataset, 1, &t->rd, stdout, err, sizeof err);
        ckpt_meta_free(&m);
        if (r) goto fail;
        if (strstr(t->rd.dir, "/shapes")) t->rd.is_shapes = 1;
    } else if (!a->dataset) {
        snprintf(err, sizeof err, "no DATASET (coco, shapes or a folder in COCO's layout; see ./detector train --help)");
        goto fail;
    } else if (run_dataset_resolve(&t->env, a->dataset, 1, &t->rd, stdout, err, sizeof err)) goto fail;
    if (train__config(t, err, sizeof err)) goto fail;
    if (!(t->be = run_backend_new(a->device, t->n_threads, err, sizeof err))) goto fail;
    if (train__data(t, err, sizeof err)) goto fail;
    if (train__run_dir(t, err, sizeof err)) goto fail;
    if (train__model(t, err, sizeof err)) goto fail;

    // an epoch is iters_per_epoch updates of accum micro-batches; when the loader's epoch is
    // shorter (accum > 1), the last update is filled up from the start of the same order
    const int64_t bpe = t->d.iters_per_epoch * t->c.accum, loader_bpe = loader_batches_per_epoch(t->loader);
    const int64_t total = t->d.total_iters;
    run_log_printf(&t->log, "train: %s, config %s, %lld images (%lld per update), %d classes, %s\n", t->rd.dir, t->config_name,
                   (long long) t->d.n_images, (long long) t->d.eff_batch, t->cls.n, alrp_backend_name(t->be));
    run_log_printf(&t->log, "train: %s backbone, %.2f M parameters (%.2f M trainable), loss %s, %d anchors per location, %s assigner\n",
                   config_choice("backbone", t->c.backbone), (double) model_n_values(t->m, false) / 1e6,
                   (double) model_n_values(t->m, true) / 1e6, config_choice("loss", t->c.loss), t->d.n_anchors,
                   config_choice("assigner", t->c.assigner));
    run_log_printf(&t->log, "train: %d epochs x %lld updates = %lld, lr %g%s, warmup %d, steps at epochs", t->c.epochs,
                   (long long) t->d.iters_per_epoch, (long long) total, (double) t->d.lr,
                   t->d.lr_scaled ? " (base_lr scaled to the batch)" : "", t->c.warmup_iters);
    for (int i = 0; i < t->c.lr_steps.n; i++) run_log_printf(&t->log, " %d", t->c.lr_steps.v[i]);
    run_log_printf(&t->log, "; run folder %s\n", t->run_dir);
    if (a->resume) run_log_printf(&t->log, "train: resumed at update %lld (epoch %lld, batch %lld)\n", (long long) t->meta.step,
                                  (long long) t->meta.epoch + 1, (long long) t->meta.batch);

    signal(SIGINT, train__on_signal);
    signal(SIGTERM, train__on_signal);
    const int tty = isatty(STDOUT_FILENO);
    const int log_every = a->log_every > 0 ? a->log_every : tty ? 1 : 20;
    t->t_start = train__now();
    double t_run = 0.0, ema_ips = 0.0;
    int64_t steps_this_run = 0;
    int drew_batch = a->resume != NULL;
    double lr = 0.0;
    struct coco_eval_result er;
    int have_er = 0;
    for (int64_t epoch = t->meta.epoch; epoch < t->c.epochs; epoch++) {
        const int64_t first = epoch == t->meta.epoch ? t->meta.batch : 0;
        if (loader_start(t->loader, epoch, first % loader_bpe, err, sizeof err)) goto fail;
        double t_prev = train__now();
        for (int64_t bi = first; bi < bpe; bi++) {
            const struct loader_batch * b = NULL;
            int r = loader_next(t->loader, &b, err, sizeof err);
            if (r == 1) {   // wrap around (accum > 1)
                if (loader_start(t->loader, epoch, 0, err, sizeof err)) goto fail;
                r = loader_next(t->loader, &b, err, sizeof err);
            }
            if (r != 0) { if (r == 1) snprintf(err, sizeof err, "the loader has no batch"); goto fail; }
            const int64_t it = alrp_optimizer_n_steps(t->s->opt);
            lr = config_lr_at(&t->c, &t->d, it);
            struct step_out out;
            if (step_run(t->s, b->images, b->labels, b->targets, (float) lr, &out, err, sizeof err)) {
                if (tty) printf("\n");
                if (run_file_exists(t->last))
                    fprintf(stderr, "train: %s; stopped: %s (update %lld) is the last good checkpoint: lower the lr, or resume with --resume %s\n",
                            err, t->last, (long long) t->ckpt_step, t->run_dir);
                else fprintf(stderr, "train: %s; stopped before any checkpoint: start again with a lower lr\n", err);
                if (t->log.file) fprintf(t->log.file, "train: %s; stopped\n", err);
                train__free(t);
                return 3;
            }
            t->meta.images_seen += t->c.batch;
            t->meta.epoch = epoch;
            t->meta.batch = bi + 1;
            if (!out.applied) continue;   // a micro-batch that only accumulated
            const double t_now = train__now(), dt = t_now - t_prev;   // the update: its micro-batches, loader waits, logging
            t_prev = t_now;
            t_run += dt;
            steps_this_run++;
            t->meta.step = out.step;
            t->last_loss = out.total;
            const double ips = (double) t->d.eff_batch / dt;
            ema_ips = steps_this_run == 1 ? ips : 0.9 * ema_ips + 0.1 * ips;
            {
                FILE * f = t->steps_f;
                fprintf(f, "%lld,%lld,%lld,%.9g,%.9g,%.9g,%.9g,%.9g,%lld,%.9g,%.2f\n", (long long) out.step, (long long) epoch,
                        (long long) bi, lr, (double) out.total, (double) out.cls, (double) out.loc, (double) out.w_sb,
                        (long long) out.n_pos, (double) out.grad_norm, ips);
                fflush(f);   // a killed run keeps every row up to its last update
            }
            if (out.step % log_every == 0 || out.step == total || out.step == 1) {
                char eta[32];
                train__hms((double) (total - out.step) * (double) t->d.eff_batch / (ema_ips > 0 ? ema_ips : 1), eta, sizeof eta);
                if (tty) printf("\r\033[K");
                run_log_printf(&t->log, "%6lld/%lld ep %lld/%d | loss %.4f  cls %.4f  loc %.4f  w_SB %.2f  P %lld | lr %.5f | %.1f img/s | ETA %s\n",
                               (long long) out.step, (long long) total, (long long) epoch + 1, t->c.epochs, (double) out.total,
                               (double) out.cls, (double) out.loc, (double) out.w_sb, (long long) out.n_pos, lr, ema_ips, eta);
                if (tty) {
                    const int width = 40, fill = (int) ((double) width * (double) out.step / (double) (total ? total : 1));
                    printf("[");
                    for (int i = 0; i < width; i++) putchar(i < fill ? '=' : i == fill ? '>' : ' ');
                    printf("] %3d%%", (int) (100.0 * (double) out.step / (double) (total ? total : 1)));
                    fflush(stdout);
                }
            }
            if (!drew_batch) {
                drew_batch = 1;
                struct image_norm nm;
                config_image_norm(&t->c, &nm);
                if (run_draw_batch(t->run_dir, b, &nm, &t->cls, err, sizeof err)) train__warn(t, "train_batch.png", err);
            }
            const int stop = train__stop || (a->stop_after > 0 && out.step >= a->stop_after);
            if ((t->c.ckpt_every > 0 && out.step % t->c.ckpt_every == 0) || stop) {
                if (train__save(t, t->last, "last", err, sizeof err)) {
                    if (tty) printf("\n");
                    fprintf(stderr, "train: %s\n", err);
                    train__free(t);
                    return 2;
                }
            }
            if (stop) {
                if (tty) printf("\n");
                run_log_printf(&t->log, "train: stopped at update %lld (%s); %s written: continue with --resume %s\n",
                               (long long) out.step, train__stop ? "signal" : "--stop-after", t->last, t->run_dir);
                train__free(t);
                return train__stop ? 130 : 0;
            }
        }
        if (tty) printf("\n");
        // the epoch's end: position at the next epoch, evaluation, checkpoints, pictures
        t->meta.epoch = epoch + 1;
        t->meta.batch = 0;
        const int last_epoch = epoch + 1 == t->c.epochs;
        const int do_eval = t->have_val && (last_epoch || (t->c.eval_every > 0 && (epoch + 1) % t->c.eval_every == 0));
        if (have_er) { coco_eval_result_free(&er); have_er = 0; }
        if (do_eval && !last_epoch) {
            if (train__evaluate(t, &er, NULL, err, sizeof err)) goto fail;
            have_er = 1;
            run_log_printf(&t->log, "epoch %lld: val AP %.4f  AP50 %.4f  AP75 %.4f  oLRP %.4f\n", (long long) epoch + 1,
                           er.stats[COCO_STAT_AP], er.stats[COCO_STAT_AP50], er.stats[COCO_STAT_AP75], er.olrp);
        }
        struct run_preview pv;
        memset(&pv, 0, sizeof pv);
        pv.want = 8;
        if (do_eval && last_epoch) {
            run_log_printf(&t->log, "train: final evaluation on %s\n", t->rd.val_json);
            if (train__evaluate(t, &er, &pv, err, sizeof err)) goto fail;
            have_er = 1;
        }
        if (have_er && er.stats[COCO_STAT_AP] > t->meta.best_ap) {
            t->meta.best_ap = er.stats[COCO_STAT_AP];
            t->meta.best_epoch = epoch + 1;
            if (train__save(t, t->best, "best", err, sizeof err)) { fprintf(stderr, "train: %s\n", err); run_preview_free(&pv); train__free(t); return 2; }
        } else if (!t->have_val && last_epoch) {
            if (train__save(t, t->best, "best", err, sizeof err)) { fprintf(stderr, "train: %s\n", err); run_preview_free(&pv); train__free(t); return 2; }
        }
        train__results_row(t, have_er ? &er : NULL, lr);
        if (train__save(t, t->last, "last", err, sizeof err)) { fprintf(stderr, "train: %s\n", err); run_preview_free(&pv); train__free(t); return 2; }
        if (run_plot_steps(t->run_dir, err, sizeof err)) train__warn(t, "loss.png", err);
        if (run_plot_epochs(t->run_dir, err, sizeof err)) train__warn(t, "metrics.png", err);
        if (have_er && last_epoch) {
            if (run_plot_eval(t->run_dir, &er, err, sizeof err)) train__warn(t, "pr.png / lrp.png", err);
            if (run_draw_preview(t->run_dir, "val_predictions.png", &pv, &t->cls, err, sizeof err)) train__warn(t, "val_predictions.png", err);
        }
        run_preview_free(&pv);
    }
    struct loader_stats ls;
    loader_get_stats(t->loader, &ls);
    run_log_printf(&t->log, "train: done, %lld updates in %.1f s this run (%.1f images/s); the loader kept the step waiting %.1f%% of the time\n",
                   (long long) steps_this_run, t_run, steps_this_run ? (double) (steps_this_run * t->d.eff_batch) / t_run : 0.0,
                   t_run > 0 ? 100.0 * ls.wait_s / t_run : 0.0);
    if (have_er) {
        run_log_printf(&t->log, "train: val AP %.4f  AP50 %.4f  AP75 %.4f  APs %.4f  APm %.4f  APl %.4f  oLRP %.4f  (best AP %.4f at epoch %lld)\n",
                       er.stats[COCO_STAT_AP], er.stats[COCO_STAT_AP50], er.stats[COCO_STAT_AP75], er.stats[COCO_STAT_APS],
                       er.stats[COCO_STAT_APM], er.stats[COCO_STAT_APL], er.olrp, t->meta.best_ap, (long long) t->meta.best_epoch);
        coco_eval_result_free(&er);
    }
    run_log_printf(&t->log, "train: weights %s (best) and %s (last); pictures and csv files in %s\n", t->best, t->last, t->run_dir);
    rc = 0;
    train__free(t);
    return rc;
fail:
    fprintf(stderr, "train: %s\n", err);
    if (t->log.file) fprintf(t->log.file, "train: %s\n", err);
    train__free(t);
    return rc;
}
