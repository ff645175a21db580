// weights.c - weights files (safetensors or .pth) mapped to our names and loaded into the model
// (weights.h). Needs weights-pth.c, weights-map.c, the model's files and alrp.h's
// implementation in the same program.
#include "weights.h"
#include "weights-pth.h"
#include "det-err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char * const weights__names[] = { "auto", "ours", "torchvision", "mmdet", "seed" };

const char * weights_from_name(enum weights_from from) {
    return (int) from >= 0 && (int) from < 5 ? weights__names[from] : "?";
}

int weights_from_parse(const char * s, enum weights_from * out) {
    for (int i = 0; i < 5; i++) if (s && strcmp(s, weights__names[i]) == 0) { *out = (enum weights_from) i; return 0; }
    return -1;
}

void weights_close(struct weights_file * w) {
    if (w->st) alrp_st_close(w->st);
    if (w->pth) pth_close(w->pth);
    free(w->e);
    memset(w, 0, sizeof(*w));
}

static int weights__by_name(const void * a, const void * b) {
    const struct weights_entry * x = (const struct weights_entry *) a, * y = (const struct weights_entry *) b;
    int c = (x->what != WMAP_MAPPED) - (y->what != WMAP_MAPPED);   // mapped ones first
    return c ? c : strcmp(x->name, y->name);
}

const struct weights_entry * weights_find(const struct weights_file * w, const char * name) {
    int lo = 0, hi = w->n_mapped;   // the first n_mapped entries of the sorted copy: see weights_open
    const struct weights_entry * s = w->e + w->n;
    while (lo < hi) {
        int mid = (lo + hi) / 2, c = strcmp(s[mid].name, name);
        if (c == 0) return &s[mid];
        if (c < 0) lo = mid + 1; else hi = mid;
    }
    return NULL;
}

int weights_open(struct weights_file * w, const char * path, enum weights_from from, char * err, size_t err_size) {
    memset(w, 0, sizeof(*w));
    unsigned char head[16] = { 0 };
    FILE * f = fopen(path, "rb");
    if (!f) return det_errf(err, err_size, "%s: cannot open: %s", path, strerror(errno));
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    int n;
    if (pth_sniff(head, got)) {
        w->pth = pth_load(path, err, err_size);
        if (!w->pth) return -1;
        struct pth_info in;
        pth_get_info(w->pth, &in);
        char wrap[48] = "";
        if (in.container[0]) snprintf(wrap, sizeof wrap, ", wrapper '%s' of %d keys", in.container, in.n_wrapper_keys);
        snprintf(w->format, sizeof w->format, "pth (%s%s%s)", in.format == PTH_ZIP ? "zip" : "legacy", wrap, in.module_prefix ? ", 'module.' removed" : "");
        n = pth_count(w->pth);
    } else {
        w->st = alrp_st_load(path, err, err_size);
        if (!w->st) return -1;
        snprintf(w->format, sizeof w->format, "safetensors");
        n = alrp_st_count(w->st);
    }
    // two copies: file order, then sorted by our name (weights_find)
    w->e = (struct weights_entry *) calloc((size_t) (2 * n + 1), sizeof(struct weights_entry));
    const char ** names = (const char **) malloc(sizeof(char *) * (size_t) (n + 1));
    if (!w->e || !names) { free(names); weights_close(w); return det_errf(err, err_size, "%s: out of memory", path); }
    for (int i = 0; i < n; i++) {
        w->e[i].t = w->pth ? pth_at(w->pth, i) : alrp_st_at(w->st, i);
        names[i] = w->e[i].t->name;
    }
    if (wmap_check_arch(n, names, path, err, err_size)) { free(names); weights_close(w); return -1; }
    switch (from) {
    case WEIGHTS_AUTO:        w->source = wmap_guess(n, names); break;
    case WEIGHTS_OURS:        w->source = WMAP_OURS; break;
    case WEIGHTS_TORCHVISION: w->source = WMAP_TORCHVISION; break;
    case WEIGHTS_MMDET:       w->source = WMAP_MMDET; break;
    case WEIGHTS_SEED:        w->source = WMAP_SEED; break;
    default: free(names); weights_close(w); return det_errf(err, err_size, "%s: unknown weights source %d", path, (int) from);
    }
    free(names);
    w->n = n;
    for (int i = 0; i < n; i++) {
        struct weights_entry * e = &w->e[i];
        e->what = wmap_name(w->source, e->t->name, e->name, sizeof e->name);
        w->n_mapped += e->what == WMAP_MAPPED;
        w->n_dropped += e->what == WMAP_DROPPED;
        w->n_unused += e->what == WMAP_UNUSED;
    }
    memcpy(w->e + n, w->e, sizeof(struct weights_entry) * (size_t) n);
    qsort(w->e + n, (size_t) n, sizeof(struct weights_entry), weights__by_name);
    for (int i = 1; i < w->n_mapped; i++) {
        const struct weights_entry * a = &w->e[n + i - 1], * b = &w->e[n + i];
        if (strcmp(a->name, b->name) == 0) {
            char q1[160], q2[160], q3[160];
            int rc = det_errf(err, err_size, "%s: '%s' and '%s' both map to '%s'", path, wmap_quote(a->t->name, q1, sizeof q1),
                              wmap_quote(b->t->name, q2, sizeof q2), wmap_quote(a->name, q3, sizeof q3));
            weights_close(w);
            return rc;
        }
    }
    return 0;
}

// "(64, 3, 7, 7)"
static void weights__shape(char * buf, size_t size, int n_dims, const int64_t * shape) {
    size_t j = 0;
    j += (size_t) snprintf(buf, size, "(");
    for (int d = 0; d < n_dims && j < size; d++) j += (size_t) snprintf(buf + j, size - j, d ? ", %lld" : "%lld", (long long) shape[d]);
    if (j < size) snprintf(buf + j, size - j, n_dims == 1 ? ",)" : ")");
}

static bool weights__is_backbone(const char * name) { return strncmp(name, "backbone.", 9) == 0; }

// prints "weights:   <what>: a, b, c" for the entries of that kind (ours: model tensors not in w)
static void weights__list(FILE * log, const char * what, const char * const * names, int n) {
    if (!log || n == 0) return;
    fprintf(log, "weights:   %s (%d):", what, n);
    char q[160];
    for (int i = 0; i < n; i++) fprintf(log, "%s %s", i ? "," : "", wmap_quote(names[i], q, sizeof q));
    fprintf(log, "\n");
}

int weights_load(struct model * m, struct alrp_backend * be, const char * path, enum weights_from from, int backbone_only,
                 FILE * log, char * err, size_t err_size) {
    struct weights_file w;
    if (weights_open(&w, path, from, err, err_size)) return -1;
    const int nt = model_n_tensors(m);
    struct alrp_tensor * const * ts = model_tensors(m);
    const struct weights_entry ** src = (const struct weights_entry **) calloc((size_t) nt + 1, sizeof(*src));
    const char ** missing = (const char **) malloc(sizeof(char *) * ((size_t) nt + 1));
    const char ** unused = (const char **) malloc(sizeof(char *) * ((size_t) w.n + 1));
    float * tmp = NULL;
    int rc = -1, n_missing = 0, n_unused = 0, n_loaded = 0, n_expected = 0;
    if (!src || !missing || !unused) { det_errf(err, err_size, "%s: out of memory", path); goto done; }
    // 1. every expected tensor: present, same shape, a dtype that converts
    for (int i = 0; i < nt; i++) {
        const struct alrp_tensor * t = ts[i];
        if (backbone_only && !weights__is_backbone(t->name)) continue;
        n_expected++;
        const struct weights_entry * e = weights_find(&w, t->name);
        if (!e) { missing[n_missing++] = t->name; continue; }
        bool ok = e->t->n_dims == t->n_dims && e->t->numel == alrp_nelements(t);
        for (int d = 0; ok && d < t->n_dims; d++) ok = e->t->shape[d] == alrp_dim(t, d);
        if (!ok) {
            char fs[160], ms[160], alias[ALRP_ST_MAX_NAME + 48] = "";
            int64_t sh[ALRP_ST_MAX_DIMS];
            for (int d = 0; d < t->n_dims && d < ALRP_ST_MAX_DIMS; d++) sh[d] = alrp_dim(t, d);
            weights__shape(fs, sizeof fs, e->t->n_dims, e->t->shape);
            weights__shape(ms, sizeof ms, t->n_dims, sh);
            char q[ALRP_ST_MAX_NAME];
            if (strcmp(e->t->name, t->name) != 0) snprintf(alias, sizeof alias, " ('%s' there)", wmap_quote(e->t->name, q, sizeof q));
            det_errf(err, err_size, "%s: tensor '%s'%s has shape %s in the file, the model expects %s (a checkpoint of another architecture or config?)",
                     path, t->name, alias, fs, ms);
            goto done;
        }
        if (strcmp(e->t->dtype, "BOOL") == 0) { det_errf(err, err_size, "%s: tensor '%s' is BOOL, not a number", path, t->name); goto done; }
        src[i] = e;
    }
    // 2. what the file has that the model does not
    for (int i = 0; i < w.n; i++) {
        const struct weights_entry * e = &w.e[i];
        if (e->what == WMAP_DROPPED) continue;
        if (e->what == WMAP_MAPPED && !model_find(m, e->name)) {
            if (!backbone_only || weights__is_backbone(e->name)) {
                char fs[160], alias[ALRP_ST_MAX_NAME + 48] = "", q[ALRP_ST_MAX_NAME], q2[ALRP_ST_MAX_NAME];
                weights__shape(fs, sizeof fs, e->t->n_dims, e->t->shape);
                if (strcmp(e->t->name, e->name) != 0) snprintf(alias, sizeof alias, " (ours: '%s')", wmap_quote(e->name, q2, sizeof q2));
                det_errf(err, err_size, "%s: tensor '%s' %s%s is not in the model (a checkpoint of another depth or architecture?)",
                         path, wmap_quote(e->t->name, q, sizeof q), fs, alias);
                goto done;
            }
            unused[n_unused++] = e->t->name;
        } else if (e->what == WMAP_MAPPED && backbone_only && !weights__is_backbone(e->name)) {
            unused[n_unused++] = e->t->name;
        } else if (e->what == WMAP_UNUSED) {
            unused[n_unused++] = e->t->name;
        }
    }
    if (log) {
        fprintf(log, "weights: %s: %s, %s names%s: %d tensors loaded, %d num_batches_tracked dropped, %d unused, %d missing\n",
                path, w.format, wmap_source_name(w.source), backbone_only ? " (backbone only)" : "", n_expected - n_missing,
                w.n_dropped, n_unused, n_missing);
        weights__list(log, "unused", unused, n_unused);
        weights__list(log, "missing", missing, n_missing);
    }
    if (n_missing) {
        det_errf(err, err_size, "%s: %d of the model's %d tensors are not in the file, the first '%s' (%s)", path, n_missing,
                 n_expected, missing[0], backbone_only ? "not a ResNet/ResNeXt backbone of this depth?" : "a backbone-only file? train --weights takes those");
        goto done;
    }
    // 3. load
    int64_t cap = 0;
    for (int i = 0; i < nt; i++) {
        if (!src[i]) continue;
        int64_t k = src[i]->t->numel;
        if (k > cap) {
            free(tmp);
            cap = k;
            tmp = (float *) malloc(sizeof(float) * (size_t) cap);
            if (!tmp) { det_errf(err, err_size, "%s: out of memory", path); goto done; }
        }
        if (alrp_st_to_f32(src[i]->t, tmp) != 0) { det_errf(err, err_size, "%s: tensor '%s' (%s) does not convert to f32", path, ts[i]->name, src[i]->t->dtype); goto done; }
        alrp_backend_tensor_set(be, ts[i], tmp, 0, alrp_nbytes(ts[i]));
        n_loaded++;
    }
    (void) n_loaded;
    rc = 0;
done:
    free(tmp);
    free(src);
    free(missing);
    free(unused);
    weights_close(&w);
    return rc;
}
