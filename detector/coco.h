// coco.h - a COCO annotation file (instances_*.json) in memory: images, categories and box
// annotations. Segmentations, licenses and info are skipped (validated, not stored), so a
// 450 MB train2017 file reads with the reader's 1 MiB buffer plus ~80 bytes per annotation.
//
//     struct coco_dataset ds;
//     char err[512];
//     if (coco_dataset_load(&ds, "instances_val2017.json", err, sizeof(err)) != 0) { puts(err); ... }
//     for (int64_t i = 0; i < ds.n_images; i++) {
//         const struct coco_image * im = &ds.images[i];
//         for (int64_t j = 0; j < im->n_anns; j++) {
//             const struct coco_ann * a = &ds.anns[ds.image_anns[im->ann_begin + j]];
//             // a->bbox is x, y, w, h in pixels; a->category indexes ds.categories
//         }
//     }
//     coco_dataset_free(&ds);
//
// What is read, and the rules (an error names the file, the entry and the field):
//   images[]:      id (integer, unique), file_name (string), width, height (integers >= 0);
//                  id is required, the others default to "" and 0.
//   categories[]:  id (integer, unique), name (string, default ""). Ids are the dataset's own
//                  (COCO's run 1..90 with gaps).
//   annotations[]: id (integer, unique), image_id and category_id (must name an image and a
//                  category of the file), bbox [x, y, w, h] (finite, w and h >= 0), area
//                  (finite, >= 0; default w*h), iscrowd (0/1 or false/true; default 0).
//   "images" and "categories" are required, "annotations" may be absent (test-set info files).
//   Any other key, anywhere, is skipped. A key of interest given twice in one object is an error.
// Arrays keep file order; images[i].ann_begin/n_anns index image_anns, which lists each image's
// annotations in file order.

#ifndef COCO_COCO_H
#define COCO_COCO_H

#include <stddef.h>
#include <stdint.h>

struct coco_image {
    int64_t id;
    int32_t width, height;
    const char * file_name;     // into the dataset's string pool
    int64_t ann_begin;          // this image's annotations: image_anns[ann_begin .. + n_anns)
    int64_t n_anns;
    size_t file_name_off;       // (internal) offset in the pool while loading
};

struct coco_category {
    int64_t id;
    const char * name;
    size_t name_off;            // (internal)
};

struct coco_ann {
    int64_t id;
    int64_t image_id;
    int64_t category_id;
    double  bbox[4];            // x, y, w, h
    double  area;               // the file's area (segment area in COCO), used for area ranges
    int32_t image;              // index into images
    int32_t category;           // index into categories
    int32_t iscrowd;            // 0 or 1
};

struct coco_id_index {          // (id, index) sorted by id, for lookups
    int64_t id;
    int64_t index;
};

struct coco_dataset {
    struct coco_image * images;        int64_t n_images;
    struct coco_category * categories; int64_t n_categories;
    struct coco_ann * anns;            int64_t n_anns;
    int64_t * image_anns;              // annotation indices grouped by image (see above)
    struct coco_id_index * image_ids;      // n_images entries sorted by id
    struct coco_id_index * category_ids;   // n_categories entries sorted by id
    char * strings;                    // string pool
    size_t strings_size, strings_cap;
    char name[200];                    // the file name, for messages
};

// 0 on success; otherwise -1 with a one-line message in err ("FILE:LINE: section[i].field: ...").
int  coco_dataset_load(struct coco_dataset * ds, const char * path, char * err, size_t err_size);
int  coco_dataset_load_mem(struct coco_dataset * ds, const void * data, size_t size, const char * name,
                           char * err, size_t err_size);
void coco_dataset_free(struct coco_dataset * ds);

// Index of the image / category with this id, or -1.
int64_t coco_dataset_find_image(const struct coco_dataset * ds, int64_t id);
int64_t coco_dataset_find_category(const struct coco_dataset * ds, int64_t id);

// Shared by the annotation and results readers: an index sorted by id.
int64_t coco_id_index_find(const struct coco_id_index * idx, int64_t n, int64_t id);

struct json_reader;
// Reads a [x, y, w, h] box (finite numbers, w, h >= 0) at the reader's position.
int coco_read_bbox(struct json_reader * r, double bbox[4]);

// (internal, shared by the readers) grow *p to hold need elements; mark a key as seen once.
int coco__grow(void ** p, int64_t * cap, int64_t need, size_t elem);
int coco__seen(struct json_reader * r, unsigned * seen, unsigned bit, const char * key);

#endif // COCO_COCO_H
