// coco.c - COCO annotation reader; see coco.h. Needs json.c in the same program.
#include "coco.h"
#include "json.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ============================================================================================
// ===== small helpers shared with the results reader
// ============================================================================================

int coco__grow(void ** p, int64_t * cap, int64_t need, size_t elem) {
    if (need <= *cap) return 0;
    int64_t n = *cap ? *cap : 1024;
    while (n < need) n *= 2;
    void * q = realloc(*p, (size_t) n * elem);
    if (!q) return -1;
    *p = q;
    *cap = n;
    return 0;
}

static int coco__id_cmp(const void * a, const void * b) {
    const struct coco_id_index * x = (const struct coco_id_index *) a;
    const struct coco_id_index * y = (const struct coco_id_index *) b;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

int64_t coco_id_index_find(const struct coco_id_index * idx, int64_t n, int64_t id) {
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (idx[mid].id < id) lo = mid + 1; else hi = mid;
    }
    return lo < n && idx[lo].id == id ? idx[lo].index : -1;
}

int64_t coco_dataset_find_image(const struct coco_dataset * ds, int64_t id) {
    return coco_id_index_find(ds->image_ids, ds->n_images, id);
}

int64_t coco_dataset_find_category(const struct coco_dataset * ds, int64_t id) {
    return coco_id_index_find(ds->category_ids, ds->n_categories, id);
}

int coco_read_bbox(struct json_reader * r, double bbox[4]) {
    int n = 0, k;
    if (json_begin_array(r)) return -1;
    while ((k = json_next_item(r)) == 1) {
        double v;
        if (n == 4) return json_reader_fail(r, "a box has 4 numbers [x, y, w, h], this one has more");
        if (json_read_double(r, &v)) return -1;
        if (!isfinite(v)) return json_reader_fail(r, "box value %d is not a finite number", n);
        bbox[n++] = v;
    }
    if (k < 0) return -1;
    if (n != 4) return json_reader_fail(r, "a box has 4 numbers [x, y, w, h], this one has %d", n);
    if (bbox[2] < 0 || bbox[3] < 0)
        return json_reader_fail(r, "negative box size (w %g, h %g)", bbox[2], bbox[3]);
    return 0;
}

// Sorted (id, index) table; fails on a repeated id.
// base points to n records of stride bytes, each with an int64_t id at offset off.
static int coco__build_index(struct coco_id_index ** out, int64_t n, const void * base, size_t stride,
                             size_t off, int64_t * dup_index, int64_t * dup_id) {
    struct coco_id_index * idx = (struct coco_id_index *) malloc((size_t) (n ? n : 1) * sizeof(*idx));
    if (!idx) return -1;
    for (int64_t i = 0; i < n; i++) {
        memcpy(&idx[i].id, (const char *) base + (size_t) i * stride + off, sizeof(int64_t));
        idx[i].index = i;
    }
    qsort(idx, (size_t) n, sizeof(*idx), coco__id_cmp);
    *out = idx;
    for (int64_t i = 1; i < n; i++) {
        if (idx[i].id == idx[i - 1].id) {
            *dup_index = idx[i].index;
            *dup_id = idx[i].id;
            return -2;
        }
    }
    return 0;
}

// ============================================================================================
// ===== the annotation file
// ============================================================================================

struct coco__loader {
    struct coco_dataset * ds;
    struct json_reader * r;
    int64_t cap_images, cap_categories, cap_anns;
};

static int coco__pool_add(struct coco_dataset * ds, struct json_reader * r, const char * s, size_t n,
                          size_t * off) {
    if (ds->strings_size + n + 1 > ds->strings_cap) {
        size_t cap = ds->strings_cap ? ds->strings_cap : 4096;
        while (cap < ds->strings_size + n + 1) cap *= 2;
        char * p = (char *) realloc(ds->strings, cap);
        if (!p) return json_reader_fail(r, "out of memory");
        ds->strings = p;
        ds->strings_cap = cap;
    }
    memcpy(ds->strings + ds->strings_size, s, n);
    ds->strings[ds->strings_size + n] = 0;
    *off = ds->strings_size;
    ds->strings_size += n + 1;
    return 0;
}

// Marks a key of interest as seen; a second time is an error.
int coco__seen(struct json_reader * r, unsigned * seen, unsigned bit, const char * key) {
    r->ctx_field = key;
    if (*seen & bit) return json_reader_fail(r, "key \"%s\" appears twice", key);
    *seen |= bit;
    return 0;
}

static int coco__read_dim(struct json_reader * r, int32_t * out) {
    int64_t v;
    if (json_read_int64(r, &v)) return -1;
    if (v < 0 || v > INT32_MAX) return json_reader_fail(r, "size %lld is out of range", (long long) v);
    *out = (int32_t) v;
    return 0;
}

// Every section is an array of objects, one record per object, read by coco__objects(): set
// the error context (section[index]), make room for one more zeroed record, hand each key to
// the section's field(), which reads the keys of interest and returns 1 for any other key (the
// loop skips its value), then done() checks the required keys and fills in defaults.
struct coco__section {
    const char * name;          // error context: "images", "categories", "annotations"
    const char * too_many;      // message once the count reaches INT32_MAX; NULL: no limit
    void ** items;              // the records, *n of them, room for *cap (grown here)
    int64_t * n, * cap;
    size_t elem;                // bytes per record
    // the key in r->key of record rec: 0 read, 1 not a key of interest, -1 error
    int (*field)(struct coco__loader * L, void * rec, unsigned * seen);
    // after the object's last key; seen has the bits field() set. 0 or -1
    int (*done)(struct coco__loader * L, void * rec, unsigned seen);
};

static int coco__objects(struct coco__loader * L, const struct coco__section * s) {
    struct json_reader * r = L->r;
    int k;
    r->ctx_section = s->name;
    if (json_begin_array(r)) return -1;
    while ((k = json_next_item(r)) == 1) {
        r->ctx_index = *s->n;
        r->ctx_field = NULL;
        if (s->too_many && *s->n >= INT32_MAX) return json_reader_fail(r, "%s", s->too_many);
        if (coco__grow(s->items, s->cap, *s->n + 1, s->elem)) return json_reader_fail(r, "out of memory");
        void * rec = (char *) *s->items + (size_t) *s->n * s->elem;
        memset(rec, 0, s->elem);
        unsigned seen = 0;
        int kk;
        if (json_begin_object(r)) return -1;
        while ((kk = json_next_key(r)) == 1) {
            int rc = s->field(L, rec, &seen);
            if (rc < 0) return -1;
            if (rc > 0) {
                r->ctx_field = NULL;
                if (json_skip_value(r)) return -1;
            }
            r->ctx_field = NULL;   // an error in the next key is not about this field
        }
        if (kk < 0) return -1;
        r->ctx_field = NULL;
        if (s->done(L, rec, seen)) return -1;
        (*s->n)++;
    }
    return k < 0 ? -1 : 0;
}

// ---- images[]

static int coco__image_field(struct coco__loader * L, void * rec, unsigned * seen) {
    struct json_reader * r = L->r;
    struct coco_image * im = (struct coco_image *) rec;
    if (json_key_is(r, "id")) {
        if (coco__seen(r, seen, 1, "id") || json_read_int64(r, &im->id)) return -1;
    } else if (json_key_is(r, "file_name")) {
        const char * s; size_t n;
        if (coco__seen(r, seen, 2, "file_name") || json_read_string(r, &s, &n)) return -1;
        if (strlen(s) != n) return json_reader_fail(r, "file name contains a NUL character");
        if (coco__pool_add(L->ds, r, s, n, &im->file_name_off)) return -1;
    } else if (json_key_is(r, "width")) {
        if (coco__seen(r, seen, 4, "width") || coco__read_dim(r, &im->width)) return -1;
    } else if (json_key_is(r, "height")) {
        if (coco__seen(r, seen, 8, "height") || coco__read_dim(r, &im->height)) return -1;
    } else {
        return 1;
    }
    return 0;
}

static int coco__image_done(struct coco__loader * L, void * rec, unsigned seen) {
    struct coco_image * im = (struct coco_image *) rec;
    if (!(seen & 1)) return json_reader_fail(L->r, "image has no \"id\"");
    if (!(seen & 2)) im->file_name_off = (size_t) -1;   // no file_name: ""
    return 0;
}

static int coco__images(struct coco__loader * L) {
    const struct coco__section s = {
        "images", "too many images", (void **) &L->ds->images, &L->ds->n_images, &L->cap_images,
        sizeof(*L->ds->images), coco__image_field, coco__image_done,
    };
    return coco__objects(L, &s);
}

// ---- categories[]

static int coco__category_field(struct coco__loader * L, void * rec, unsigned * seen) {
    struct json_reader * r = L->r;
    struct coco_category * c = (struct coco_category *) rec;
    if (json_key_is(r, "id")) {
        if (coco__seen(r, seen, 1, "id") || json_read_int64(r, &c->id)) return -1;
    } else if (json_key_is(r, "name")) {
        const char * s; size_t n;
        if (coco__seen(r, seen, 2, "name") || json_read_string(r, &s, &n)) return -1;
        if (strlen(s) != n) return json_reader_fail(r, "name contains a NUL character");
        if (coco__pool_add(L->ds, r, s, n, &c->name_off)) return -1;
    } else {
        return 1;
    }
    return 0;
}

static int coco__category_done(struct coco__loader * L, void * rec, unsigned seen) {
    struct coco_category * c = (struct coco_category *) rec;
    if (!(seen & 1)) return json_reader_fail(L->r, "category has no \"id\"");
    if (!(seen & 2)) c->name_off = (size_t) -1;         // no name: ""
    return 0;
}

static int coco__categories(struct coco__loader * L) {
    const struct coco__section s = {
        "categories", "too many categories", (void **) &L->ds->categories, &L->ds->n_categories,
        &L->cap_categories, sizeof(*L->ds->categories), coco__category_field, coco__category_done,
    };
    return coco__objects(L, &s);
}

// ---- annotations[]

static int coco__ann_field(struct coco__loader * L, void * rec, unsigned * seen) {
    struct json_reader * r = L->r;
    struct coco_ann * a = (struct coco_ann *) rec;
    // most frequent first: segmentation is most of a COCO file
    if (json_key_is(r, "segmentation")) {
        r->ctx_field = "segmentation";
        if (json_skip_value(r)) return -1;
    } else if (json_key_is(r, "bbox")) {
        if (coco__seen(r, seen, 1, "bbox") || coco_read_bbox(r, a->bbox)) return -1;
    } else if (json_key_is(r, "area")) {
        if (coco__seen(r, seen, 2, "area") || json_read_double(r, &a->area)) return -1;
        if (!isfinite(a->area) || a->area < 0)
            return json_reader_fail(r, "area %g is not a finite number >= 0", a->area);
    } else if (json_key_is(r, "iscrowd")) {
        if (coco__seen(r, seen, 4, "iscrowd")) return -1;
        enum json_type t = json_peek(r);
        if (t == JSON_TRUE || t == JSON_FALSE) {
            int b;
            if (json_read_bool(r, &b)) return -1;
            a->iscrowd = b;
        } else {
            int64_t v;
            if (json_read_int64(r, &v)) return -1;
            if (v != 0 && v != 1) return json_reader_fail(r, "iscrowd must be 0 or 1, got %lld", (long long) v);
            a->iscrowd = (int32_t) v;
        }
    } else if (json_key_is(r, "id")) {
        if (coco__seen(r, seen, 8, "id") || json_read_int64(r, &a->id)) return -1;
    } else if (json_key_is(r, "image_id")) {
        if (coco__seen(r, seen, 16, "image_id") || json_read_int64(r, &a->image_id)) return -1;
    } else if (json_key_is(r, "category_id")) {
        if (coco__seen(r, seen, 32, "category_id") || json_read_int64(r, &a->category_id)) return -1;
    } else {
        return 1;
    }
    return 0;
}

static int coco__ann_done(struct coco__loader * L, void * rec, unsigned seen) {
    struct json_reader * r = L->r;
    struct coco_ann * a = (struct coco_ann *) rec;
    if (!(seen & 8))  return json_reader_fail(r, "annotation has no \"id\"");
    if (!(seen & 16)) return json_reader_fail(r, "annotation has no \"image_id\"");
    if (!(seen & 32)) return json_reader_fail(r, "annotation has no \"category_id\"");
    if (!(seen & 1))  return json_reader_fail(r, "annotation has no \"bbox\"");
    if (!(seen & 2))  a->area = a->bbox[2] * a->bbox[3];
    return 0;
}

static int coco__annotations(struct coco__loader * L) {
    const struct coco__section s = {
        "annotations", NULL, (void **) &L->ds->anns, &L->ds->n_anns, &L->cap_anns,
        sizeof(*L->ds->anns), coco__ann_field, coco__ann_done,
    };
    return coco__objects(L, &s);
}

// After parsing: id tables, annotation -> image/category, per-image lists, string pointers.
static int coco__finish(struct coco_dataset * ds, char * err, size_t err_size) {
    int64_t di = 0, did = 0;
    int rc = coco__build_index(&ds->image_ids, ds->n_images, ds->images, sizeof(struct coco_image),
                               offsetof(struct coco_image, id), &di, &did);
    if (rc == -1) { snprintf(err, err_size, "%s: out of memory", ds->name); return -1; }
    if (rc == -2) {
        snprintf(err, err_size, "%s: images[%lld]: image id %lld appears twice", ds->name, (long long) di, (long long) did);
        return -1;
    }
    rc = coco__build_index(&ds->category_ids, ds->n_categories, ds->categories, sizeof(struct coco_category),
                           offsetof(struct coco_category, id), &di, &did);
    if (rc == -1) { snprintf(err, err_size, "%s: out of memory", ds->name); return -1; }
    if (rc == -2) {
        snprintf(err, err_size, "%s: categories[%lld]: category id %lld appears twice", ds->name, (long long) di, (long long) did);
        return -1;
    }
    struct coco_id_index * ann_ids = NULL;
    rc = coco__build_index(&ann_ids, ds->n_anns, ds->anns, sizeof(struct coco_ann),
                           offsetof(struct coco_ann, id), &di, &did);
    free(ann_ids);
    if (rc == -1) { snprintf(err, err_size, "%s: out of memory", ds->name); return -1; }
    if (rc == -2) {
        snprintf(err, err_size, "%s: annotations[%lld]: annotation id %lld appears twice", ds->name, (long long) di, (long long) did);
        return -1;
    }
    for (int64_t i = 0; i < ds->n_anns; i++) {
        struct coco_ann * a = &ds->anns[i];
        int64_t im = coco_dataset_find_image(ds, a->image_id);
        if (im < 0) {
            snprintf(err, err_size, "%s: annotations[%lld] (id %lld): image_id %lld is not in \"images\"",
                     ds->name, (long long) i, (long long) a->id, (long long) a->image_id);
            return -1;
        }
        int64_t c = coco_dataset_find_category(ds, a->category_id);
        if (c < 0) {
            snprintf(err, err_size, "%s: annotations[%lld] (id %lld): category_id %lld is not in \"categories\"",
                     ds->name, (long long) i, (long long) a->id, (long long) a->category_id);
            return -1;
        }
        a->image = (int32_t) im;
        a->category = (int32_t) c;
        ds->images[im].n_anns++;
    }
    ds->image_anns = (int64_t *) malloc((size_t) (ds->n_anns ? ds->n_anns : 1) * sizeof(int64_t));
    if (!ds->image_anns) { snprintf(err, err_size, "%s: out of memory", ds->name); return -1; }
    int64_t pos = 0;
    for (int64_t i = 0; i < ds->n_images; i++) {
        ds->images[i].ann_begin = pos;
        pos += ds->images[i].n_anns;
        ds->images[i].n_anns = 0;
    }
    for (int64_t i = 0; i < ds->n_anns; i++) {
        struct coco_image * im = &ds->images[ds->anns[i].image];
        ds->image_anns[im->ann_begin + im->n_anns++] = i;
    }
    for (int64_t i = 0; i < ds->n_images; i++) {
        size_t off = ds->images[i].file_name_off;
        ds->images[i].file_name = off == (size_t) -1 ? "" : ds->strings + off;
    }
    for (int64_t i = 0; i < ds->n_categories; i++) {
        size_t off = ds->categories[i].name_off;
        ds->categories[i].name = off == (size_t) -1 ? "" : ds->strings + off;
    }
    return 0;
}

static int coco__load(struct coco_dataset * ds, struct json_reader * r, char * err, size_t err_size) {
    struct coco__loader L = { ds, r, 0, 0, 0 };
    unsigned seen = 0;
    int k;
    if (json_peek(r) != JSON_OBJECT) {
        if (!r->failed) json_reader_fail(r, "expected the top level to be an object with \"images\", \"annotations\" and \"categories\"");
        goto fail;
    }
    if (json_begin_object(r)) goto fail;
    while ((k = json_next_key(r)) == 1) {
        if (json_key_is(r, "images")) {
            if (coco__seen(r, &seen, 1, "images") || coco__images(&L)) goto fail;
        } else if (json_key_is(r, "annotations")) {
            if (coco__seen(r, &seen, 2, "annotations") || coco__annotations(&L)) goto fail;
        } else if (json_key_is(r, "categories")) {
            if (coco__seen(r, &seen, 4, "categories") || coco__categories(&L)) goto fail;
        } else {
            r->ctx_field = NULL;
            if (json_skip_value(r)) goto fail;
        }
        r->ctx_section = NULL;     // an error after a section is not inside it
        r->ctx_index = -1;
        r->ctx_field = NULL;
    }
    r->ctx_section = NULL;
    r->ctx_index = -1;
    r->ctx_field = NULL;
    if (k < 0 || json_finish(r)) goto fail;
    if (!(seen & 1)) { snprintf(err, err_size, "%s: no \"images\" array; is this a COCO annotation file?", ds->name); return -1; }
    if (!(seen & 4)) { snprintf(err, err_size, "%s: no \"categories\" array; is this a COCO annotation file?", ds->name); return -1; }
    return coco__finish(ds, err, err_size);
fail:
    snprintf(err, err_size, "%s", r->err);
    return -1;
}

static void coco__init(struct coco_dataset * ds, const char * name) {
    memset(ds, 0, sizeof(*ds));
    snprintf(ds->name, sizeof(ds->name), "%s", name ? name : "<input>");
    for (char * c = ds->name; *c; c++) if ((unsigned char) *c < 0x20) *c = '?';
}

int coco_dataset_load(struct coco_dataset * ds, const char * path, char * err, size_t err_size) {
    coco__init(ds, path);
    struct json_reader r;
    int rc;
    if (json_reader_open(&r, path, 0) != 0) {
        snprintf(err, err_size, "%s", r.err);
        rc = -1;
    } else {
        rc = coco__load(ds, &r, err, err_size);
    }
    json_reader_close(&r);
    if (rc) coco_dataset_free(ds);
    return rc;
}

int coco_dataset_load_mem(struct coco_dataset * ds, const void * data, size_t size, const char * name,
                          char * err, size_t err_size) {
    coco__init(ds, name);
    struct json_reader r;
    json_reader_init_mem(&r, data, size, name);
    int rc = coco__load(ds, &r, err, err_size);
    json_reader_close(&r);
    if (rc) coco_dataset_free(ds);
    return rc;
}

void coco_dataset_free(struct coco_dataset * ds) {
    free(ds->images);
    free(ds->categories);
    free(ds->anns);
    free(ds->image_anns);
    free(ds->image_ids);
    free(ds->category_ids);
    free(ds->strings);
    char name[sizeof(ds->name)];
    memcpy(name, ds->name, sizeof(name));
    memset(ds, 0, sizeof(*ds));
    memcpy(ds->name, name, sizeof(name));
}
