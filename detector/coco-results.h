// coco-results.h - COCO detection results files: a JSON array of
//     {"image_id": int, "category_id": int, "bbox": [x, y, w, h], "score": number}
// (other keys, e.g. "segmentation", are skipped). The reader checks every entry against the
// annotation file: an unknown image or category id, a non-finite number or a negative box size
// is a one-line error naming the file and the entry. The writer writes the same format with a
// real JSON writer, one detection per line, to a temporary file that is renamed into place.

#ifndef COCO_RESULTS_H
#define COCO_RESULTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct coco_dataset;

struct coco_det {
    int64_t image_id;
    int64_t category_id;
    double  bbox[4];            // x, y, w, h in pixels of the original image
    double  score;
    int32_t image;              // index into the dataset's images (set by the reader)
    int32_t category;           // index into the dataset's categories (set by the reader)
};

struct coco_results {
    struct coco_det * dets;     // file order
    int64_t n;
    char name[200];
};

// gt: the annotation file the ids must exist in (required).
int  coco_results_load(struct coco_results * res, const char * path, const struct coco_dataset * gt,
                       char * err, size_t err_size);
int  coco_results_load_mem(struct coco_results * res, const void * data, size_t size, const char * name,
                           const struct coco_dataset * gt, char * err, size_t err_size);
void coco_results_free(struct coco_results * res);

// Writes dets[0..n) to f / to path (atomically: path.tmp then rename). 0 or -1 with err set.
int  coco_results_write_file(FILE * f, const struct coco_det * dets, int64_t n);
int  coco_results_write(const char * path, const struct coco_det * dets, int64_t n, char * err, size_t err_size);

#endif // COCO_RESULTS_H
