// coco-results.c - COCO results reader and writer; see coco-results.h.
// Needs json.c and coco.c in the same program.
#include "coco-results.h"
#include "coco.h"
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int coco__results_parse(struct coco_results * res, struct json_reader * r, const struct coco_dataset * gt) {
    int64_t cap = 0;
    int k;
    if (json_peek(r) != JSON_ARRAY) {
        if (!r->failed) json_reader_fail(r, "expected the top level to be an array of detections "
                                            "{\"image_id\", \"category_id\", \"bbox\", \"score\"}");
        return -1;
    }
    r->ctx_section = "detection";
    if (json_begin_array(r)) return -1;
    while ((k = json_next_item(r)) == 1) {
        r->ctx_index = res->n;
        r->ctx_field = NULL;
        if (coco__grow((void **) &res->dets, &cap, res->n + 1, sizeof(*res->dets)))
            return json_reader_fail(r, "out of memory");
        struct coco_det * d = &res->dets[res->n];
        memset(d, 0, sizeof(*d));
        unsigned seen = 0;
        int kk;
        if (json_begin_object(r)) return -1;
        while ((kk = json_next_key(r)) == 1) {
            if (json_key_is(r, "image_id")) {
                if (coco__seen(r, &seen, 1, "image_id") || json_read_int64(r, &d->image_id)) return -1;
                int64_t i = coco_dataset_find_image(gt, d->image_id);
                if (i < 0) return json_reader_fail(r, "image_id %lld is not an image of %s", (long long) d->image_id, gt->name);
                d->image = (int32_t) i;
            } else if (json_key_is(r, "category_id")) {
                if (coco__seen(r, &seen, 2, "category_id") || json_read_int64(r, &d->category_id)) return -1;
                int64_t c = coco_dataset_find_category(gt, d->category_id);
                if (c < 0) return json_reader_fail(r, "category_id %lld is not a category of %s", (long long) d->category_id, gt->name);
                d->category = (int32_t) c;
            } else if (json_key_is(r, "bbox")) {
                if (coco__seen(r, &seen, 4, "bbox") || coco_read_bbox(r, d->bbox)) return -1;
            } else if (json_key_is(r, "score")) {
                if (coco__seen(r, &seen, 8, "score") || json_read_double(r, &d->score)) return -1;
                if (!isfinite(d->score)) return json_reader_fail(r, "score is not a finite number");
            } else {
                r->ctx_field = NULL;
                if (json_skip_value(r)) return -1;
            }
            r->ctx_field = NULL;   // an error in the next key is not about this field
        }
        if (kk < 0) return -1;
        r->ctx_field = NULL;
        if (!(seen & 1)) return json_reader_fail(r, "detection has no \"image_id\"");
        if (!(seen & 2)) return json_reader_fail(r, "detection has no \"category_id\"");
        if (!(seen & 4)) return json_reader_fail(r, "detection has no \"bbox\"");
        if (!(seen & 8)) return json_reader_fail(r, "detection has no \"score\"");
        res->n++;
    }
    if (k < 0) return -1;
    r->ctx_section = NULL;
    r->ctx_index = -1;
    return json_finish(r);
}

static void coco__results_init(struct coco_results * res, const char * name) {
    memset(res, 0, sizeof(*res));
    snprintf(res->name, sizeof(res->name), "%s", name ? name : "<input>");
    for (char * c = res->name; *c; c++) if ((unsigned char) *c < 0x20) *c = '?';
}

int coco_results_load(struct coco_results * res, const char * path, const struct coco_dataset * gt,
                      char * err, size_t err_size) {
    coco__results_init(res, path);
    struct json_reader r;
    int rc = json_reader_open(&r, path, 0);
    if (rc == 0) rc = coco__results_parse(res, &r, gt);
    if (rc) {
        snprintf(err, err_size, "%s", r.err);
        coco_results_free(res);
    }
    json_reader_close(&r);
    return rc ? -1 : 0;
}

int coco_results_load_mem(struct coco_results * res, const void * data, size_t size, const char * name,
                          const struct coco_dataset * gt, char * err, size_t err_size) {
    coco__results_init(res, name);
    struct json_reader r;
    json_reader_init_mem(&r, data, size, name);
    int rc = coco__results_parse(res, &r, gt);
    if (rc) {
        snprintf(err, err_size, "%s", r.err);
        coco_results_free(res);
    }
    json_reader_close(&r);
    return rc ? -1 : 0;
}

void coco_results_free(struct coco_results * res) {
    free(res->dets);
    res->dets = NULL;
    res->n = 0;
}

int coco_results_write_file(FILE * f, const struct coco_det * dets, int64_t n) {
    struct json_writer w;
    json_writer_init(&w, f, 1);
    json_write_begin_array(&w);
    for (int64_t i = 0; i < n; i++) {
        const struct coco_det * d = &dets[i];
        json_write_begin_object(&w);
        json_write_key(&w, "image_id");    json_write_int64(&w, d->image_id);
        json_write_key(&w, "category_id"); json_write_int64(&w, d->category_id);
        json_write_key(&w, "bbox");
        json_write_begin_array(&w);
        for (int j = 0; j < 4; j++) {
            if (!isfinite(d->bbox[j])) return -1;   // null would not read back as a box
            json_write_double(&w, d->bbox[j]);
        }
        json_write_end_array(&w);
        json_write_key(&w, "score");
        if (!isfinite(d->score)) return -1;
        json_write_double(&w, d->score);
        json_write_end_object(&w);
    }
    json_write_end_array(&w);
    fputc('\n', f);
    return json_writer_finish(&w);
}

int coco_results_write(const char * path, const struct coco_det * dets, int64_t n, char * err, size_t err_size) {
    size_t len = strlen(path);
    char * tmp = (char *) malloc(len + 5);
    if (!tmp) { snprintf(err, err_size, "%s: out of memory", path); return -1; }
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp", 5);
    FILE * f = fopen(tmp, "wb");
    if (!f) {
        snprintf(err, err_size, "%s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    int rc = coco_results_write_file(f, dets, n);
    if (fclose(f) != 0) rc = -1;
    if (rc != 0) {
        snprintf(err, err_size, "%s: write failed (disk full, or a non-finite box or score)", tmp);
        remove(tmp);
        free(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        snprintf(err, err_size, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
        remove(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}
