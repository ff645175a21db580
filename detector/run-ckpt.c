// run-ckpt.c - checkpoints (run-ckpt.h)
#include "run-ckpt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ckpt_meta_init(struct ckpt_meta * m) {
    memset(m, 0, sizeof(*m));
    snprintf(m->kind, sizeof m->kind, "last");
    config_defaults(&m->config);
    m->best_ap = -1.0;
    m->best_epoch = -1;
}

void ckpt_meta_free(struct ckpt_meta * m) {
    for (int i = 0; i < m->n_classes; i++) free(m->cat_names ? m->cat_names[i] : NULL);
    free(m->cat_names);
    free(m->cat_ids);
    m->cat_names = NULL; m->cat_ids = NULL; m->n_classes = 0;
}

int ckpt_meta_set_classes(struct ckpt_meta * m, int n, const int64_t * ids, const char * const * names) {
    ckpt_meta_free(m);
    m->cat_ids = (int64_t *) calloc((size_t) (n > 0 ? n : 1), sizeof(int64_t));
    m->cat_names = (char **) calloc((size_t) (n > 0 ? n : 1), sizeof(char *));
    if (!m->cat_ids || !m->cat_names) return -1;
    m->n_classes = n;
    for (int i = 0; i < n; i++) {
        m->cat_ids[i] = ids[i];
        const char * s = names && names[i] ? names[i] : "";
        m->cat_names[i] = (char *) malloc(strlen(s) + 1);
        if (!m->cat_names[i]) return -1;
        // tabs and newlines would break the "id<TAB>name" lines
        char * d = m->cat_names[i];
        for (; *s; s++) *d++ = (*s == '\t' || *s == '\n' || *s == '\r') ? ' ' : *s;
        *d = '\0';
    }
    return 0;
}

// ---- writing -------------------------------------------------------------------------------

static char * ckpt__config_text(const struct config * c) {
    char * buf = NULL;
    size_t n = 0;
    FILE * f = open_memstream(&buf, &n);
    if (!f) return NULL;
    config_print(f, c, NULL);
    fclose(f);
    return buf;
}

static char * ckpt__classes_text(const struct ckpt_meta * m) {
    char * buf = NULL;
    size_t n = 0;
    FILE * f = open_memstream(&buf, &n);
    if (!f) return NULL;
    for (int i = 0; i < m->n_classes; i++) fprintf(f, "%" PRId64 "\t%s\n", m->cat_ids[i], m->cat_names[i]);
    fclose(f);
    return buf;
}

int ckpt_save(const char * path, struct alrp_backend * be, const struct model * model,
              const struct alrp_optimizer * opt, const struct ckpt_meta * m, char * err, size_t err_size) {
    const int n_model = model_n_tensors(model);
    struct alrp_tensor ** st = NULL;
    const int n_state = opt ? alrp_optimizer_state(opt, &st) : 0;
    struct alrp_tensor ** ts = (struct alrp_tensor **) malloc(sizeof(void *) * (size_t) (n_model + n_state));
    char * cfg = ckpt__config_text(&m->config), * cls = ckpt__classes_text(m);
    if (!ts || !cfg || !cls) {
        free(ts); free(cfg); free(cls);
        snprintf(err, err_size, "%s: out of memory", path);
        return -1;
    }
    memcpy(ts, model_tensors(model), sizeof(void *) * (size_t) n_model);
    if (n_state) memcpy(ts + n_model, st, sizeof(void *) * (size_t) n_state);
    char v[16][64];
    snprintf(v[0], sizeof v[0], "%" PRId64, m->step);
    snprintf(v[1], sizeof v[1], "%" PRId64, m->epoch);
    snprintf(v[2], sizeof v[2], "%" PRId64, m->batch);
    snprintf(v[3], sizeof v[3], "%" PRId64, m->images_seen);
    snprintf(v[4], sizeof v[4], "%" PRId64, m->sb.period);
    snprintf(v[5], sizeof v[5], "%" PRId64, m->sb.count);
    snprintf(v[6], sizeof v[6], "%" PRId64, m->sb.n_updates);
    snprintf(v[7], sizeof v[7], "%.17g", m->sb.sum_cls);
    snprintf(v[8], sizeof v[8], "%.17g", m->sb.sum_loc);
    snprintf(v[9], sizeof v[9], "%.9g", (double) m->sb.weight);
    snprintf(v[10], sizeof v[10], "%" PRIu64, m->seed);
    snprintf(v[11], sizeof v[11], "%.17g", m->best_ap);
    snprintf(v[12], sizeof v[12], "%" PRId64, m->best_epoch);
    snprintf(v[13], sizeof v[13], "%d", m->n_classes);
    const char * meta[] = {
        "format", CKPT_FORMAT, "kind", m->kind, "config", cfg, "classes", cls, "n_classes", v[13],
        "dataset", m->dataset, "step", v[0], "epoch", v[1], "batch", v[2], "images_seen", v[3],
        "sb_period", v[4], "sb_count", v[5], "sb_n_updates", v[6], "sb_sum_cls", v[7], "sb_sum_loc", v[8],
        "sb_weight", v[9], "seed", v[10], "best_ap", v[11], "best_epoch", v[12], NULL,
    };
    const int rc = alrp_save_tensors(be, path, n_model + n_state, ts, meta, err, err_size);
    free(ts); free(cfg); free(cls);
    return rc;
}

// ---- reading -------------------------------------------------------------------------------

static int ckpt__i64(const struct alrp_st_file * f, const char * path, const char * key, int64_t * out, char * err, size_t err_size) {
    const char * s = alrp_st_metadata(f, key);
    char * end = NULL;
    errno = 0;
    long long v = s ? strtoll(s, &end, 10) : 0;
    if (!s || !*s || *end || errno) {
        snprintf(err, err_size, "%s: checkpoint metadata '%s' is %s", path, key, s ? "not an integer" : "missing");
        return -1;
    }
    *out = (int64_t) v;
    return 0;
}

static int ckpt__f64(const struct alrp_st_file * f, const char * path, const char * key, double * out, char * err, size_t err_size) {
    const char * s = alrp_st_metadata(f, key);
    char * end = NULL;
    double v = s ? strtod(s, &end) : 0;
    if (!s || !*s || *end) {
        snprintf(err, err_size, "%s: checkpoint metadata '%s' is %s", path, key, s ? "not a number" : "missing");
        return -1;
    }
    *out = v;
    return 0;
}

static int ckpt__classes(struct ckpt_meta * m, const char * text, int n, const char * path, char * err, size_t err_size) {
    int64_t * ids = (int64_t *) calloc((size_t) (n > 0 ? n : 1), sizeof(int64_t));
    char ** names = (char **) calloc((size_t) (n > 0 ? n : 1), sizeof(char *));
    int k = 0, rc = -1;
    const char * p = text;
    if (!ids || !names) goto done;
    while (*p && k < n) {
        char * end = NULL;
        ids[k] = strtoll(p, &end, 10);
        if (end == p || *end != '\t') break;
        const char * e = strchr(end + 1, '\n');
        if (!e) break;
        names[k] = strndup(end + 1, (size_t) (e - end - 1));
        if (!names[k]) goto done;
        k++;
        p = e + 1;
    }
    if (k != n || *p) {
        snprintf(err, err_size, "%s: checkpoint metadata 'classes' is malformed (line %d)", path, k + 1);
        goto done;
    }
    rc = ckpt_meta_set_classes(m, n, ids, (const char * const *) names);
    if (rc) snprintf(err, err_size, "%s: out of memory", path);
done:
    for (int i = 0; i < n && names; i++) free(names[i]);
    free(names);
    free(ids);
    return rc;
}

int ckpt_read(const char * path, struct ckpt_meta * m, char * err, size_t err_size) {
    ckpt_meta_init(m);
    struct alrp_st_file * f = alrp_st_load(path, err, err_size);
    if (!f) return -1;
    int rc = -1;
    const char * fmt = alrp_st_metadata(f, "format");
    if (!fmt || strcmp(fmt, CKPT_FORMAT) != 0) {
        snprintf(err, err_size, "%s: not a checkpoint of this program (no \"format\": \"%s\" metadata); "
                 "for weights from PyTorch or a bare safetensors file use --weights", path, CKPT_FORMAT);
        goto done;
    }
    const char * kind = alrp_st_metadata(f, "kind"), * cfg = alrp_st_metadata(f, "config");
    const char * cls = alrp_st_metadata(f, "classes"), * ds = alrp_st_metadata(f, "dataset");
    if (!kind || !cfg || !cls) {
        snprintf(err, err_size, "%s: checkpoint metadata 'kind', 'config' or 'classes' is missing", path);
        goto done;
    }
    snprintf(m->kind, sizeof m->kind, "%s", kind);
    snprintf(m->dataset, sizeof m->dataset, "%s", ds ? ds : "");
    char where[300];
    snprintf(where, sizeof where, "%s (its config)", path);
    if (config_parse(cfg, strlen(cfg), where, &m->config, err, err_size)) goto done;
    int64_t n_classes, seed, period, count, n_upd;
    double w;
    if (ckpt__i64(f, path, "n_classes", &n_classes, err, err_size) || ckpt__i64(f, path, "step", &m->step, err, err_size) ||
        ckpt__i64(f, path, "epoch", &m->epoch, err, err_size) || ckpt__i64(f, path, "batch", &m->batch, err, err_size) ||
        ckpt__i64(f, path, "images_seen", &m->images_seen, err, err_size) ||
        ckpt__i64(f, path, "sb_period", &period, err, err_size) || ckpt__i64(f, path, "sb_count", &count, err, err_size) ||
        ckpt__i64(f, path, "sb_n_updates", &n_upd, err, err_size) ||
        ckpt__f64(f, path, "sb_sum_cls", &m->sb.sum_cls, err, err_size) ||
        ckpt__f64(f, path, "sb_sum_loc", &m->sb.sum_loc, err, err_size) ||
        ckpt__f64(f, path, "sb_weight", &w, err, err_size) || ckpt__i64(f, path, "seed", &seed, err, err_size) ||
        ckpt__f64(f, path, "best_ap", &m->best_ap, err, err_size) ||
        ckpt__i64(f, path, "best_epoch", &m->best_epoch, err, err_size)) goto done;
    if (n_classes < 1 || n_classes > 100000) {
        snprintf(err, err_size, "%s: checkpoint metadata 'n_classes' is %lld", path, (long long) n_classes);
        goto done;
    }
    m->sb.period = period; m->sb.count = count; m->sb.n_updates = n_upd; m->sb.weight = (float) w;
    m->seed = (uint64_t) seed;
    if (ckpt__classes(m, cls, (int) n_classes, path, err, err_size)) goto done;
    rc = 0;
done:
    alrp_st_close(f);
    if (rc) ckpt_meta_free(m);
    return rc;
}

int ckpt_check_finite(const char * path, const struct model * model, struct alrp_backend * be, char * err, size_t err_size) {
    char e[512];
    if (model_check_finite(model, be, e, sizeof e) == 0) return 0;
    snprintf(err, err_size, "%s: %s: these weights are unusable (written by a run that diverged, or damaged); use an earlier checkpoint", path, e);
    return -1;
}

int ckpt_load(const char * path, struct alrp_backend * be, struct model * model, struct alrp_optimizer * opt,
              char * err, size_t err_size) {
    // one pass over the file: the model tensors and the optimizer state together
    const int n_model = model_n_tensors(model);
    struct alrp_tensor ** st = NULL;
    const int n_state = opt ? alrp_optimizer_state(opt, &st) : 0;
    struct alrp_tensor ** ts = (struct alrp_tensor **) malloc(sizeof(void *) * (size_t) (n_model + n_state));
    if (!ts) { snprintf(err, err_size, "%s: out of memory", path); return -1; }
    memcpy(ts, model_tensors(model), sizeof(void *) * (size_t) n_model);
    if (n_state) memcpy(ts + n_model, st, sizeof(void *) * (size_t) n_state);
    const int rc = alrp_load_tensors(be, path, n_model + n_state, ts, false, err, err_size) < 0 ? -1 : 0;
    free(ts);
    return rc ? rc : ckpt_check_finite(path, model, be, err, err_size);
}
