// coco-gen.h - deterministic generator of COCO-shaped annotation and results files, for tests,
// benchmarks and the cross-check against tools/coco_eval_ref.py. Used by tools/coco-gen.c,
// tests/test-coco-*.c and bench/bench-eval.c (include it after detector/json.c).
//
// Everything is integer arithmetic on a splitmix64 stream seeded per image, and every number is
// written from integers (coordinates in hundredths, scores in hundredths or thousandths), so
// the same parameters give the same bytes on any machine, and Python's json reads the same
// doubles as our reader.
//
// What the files hold, to exercise each rule of the evaluator:
//   * image ids with gaps, listed out of id order; ann ids with gaps;
//   * boxes small, medium and large, areas below the box area, some exactly 32^2 and 96^2;
//   * about 1% crowd annotations (large), with detections inside them;
//   * detections jittered around the gts (IoU from ~0.3 to 1), duplicates, wrong-class
//     detections, background false positives, scores with many ties, file order shuffled;
//   * optionally one image with more than 100 detections of one category (maxDets cut);
//   * optionally a category that has gts but no detections, and one with detections but no gt.
//   * polygons = 1: COCO train2017-like segmentation polygons and RLE crowd counts, "info",
//     "licenses" and the image URL fields, for the reader benchmark (~520 bytes per annotation).

#ifndef COCO_GEN_H
#define COCO_GEN_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct coco_gen_params {
    uint64_t seed;
    int64_t  n_images;
    int      gts_per_image;     // mean; each image gets 0 .. 2*mean annotations
    int      dets_per_image;    // mean detections per image (background FPs fill up to it)
    int      n_categories;      // 1..80, COCO's ids and names
    int      polygons;          // train2017-like segmentation and extra fields
    int      edge_cases;        // the over-100 image, the category without dets / without gts
};

// The named cases: small = the cross-check case (tests/data/coco/ref-small*.json); val2017 =
// the evaluator benchmark; train2017 = the reader benchmark. 0, or -1 for an unknown name.
static inline int coco_gen_preset(struct coco_gen_params * p, const char * name) {
    memset(p, 0, sizeof(*p));
    p->seed = 1;
    if (strcmp(name, "small") == 0) {
        p->n_images = 300; p->gts_per_image = 6; p->dets_per_image = 40; p->n_categories = 12; p->edge_cases = 1;
    } else if (strcmp(name, "val2017") == 0) {
        p->n_images = 5000; p->gts_per_image = 7; p->dets_per_image = 100; p->n_categories = 80;
    } else if (strcmp(name, "train2017") == 0) {
        p->n_images = 118287; p->gts_per_image = 7; p->dets_per_image = 100; p->n_categories = 80; p->polygons = 1;
    } else {
        return -1;
    }
    return 0;
}

static const int coco_gen_cat_ids[80] = {
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27, 28,
    31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55,
    56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 67, 70, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 84,
    85, 86, 87, 88, 89, 90,
};

static const char * const coco_gen_cat_names[80] = {
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
};

static inline uint64_t coco_gen_next(uint64_t * s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline int64_t coco_gen_int(uint64_t * s, int64_t n) {   // uniform in [0, n)
    return n > 0 ? (int64_t) (coco_gen_next(s) % (uint64_t) n) : 0;
}

// Image i's id: ids with gaps, in an order unrelated to i (7919 is prime).
static inline int64_t coco_gen_image_id(const struct coco_gen_params * p, int64_t i) {
    int64_t n = p->n_images;
    int64_t q = (n % 7919 == 0) ? i : (i * 7919) % n;
    return 1 + 2 * q + (q % 3 == 0);
}

struct coco_gen_box {       // in hundredths of a pixel
    int64_t x, y, w, h;
    int64_t area;           // the segment area in hundredths of a pixel^2
    int cat;                // index into the 80 categories
    int crowd;
};

struct coco_gen_image {
    int64_t id;
    int64_t width, height;
    int n;
    struct coco_gen_box box[64];
};

// Image i and its annotations.
static inline void coco_gen_image(const struct coco_gen_params * p, int64_t i, struct coco_gen_image * im) {
    uint64_t s = p->seed * 0x100000001B3ull + (uint64_t) i * 0x9E3779B97F4A7C15ull;
    coco_gen_next(&s);
    im->id = coco_gen_image_id(p, i);
    im->width = 200 + coco_gen_int(&s, 441);
    im->height = 200 + coco_gen_int(&s, 441);
    int mean = p->gts_per_image < 32 ? p->gts_per_image : 32;
    im->n = (int) coco_gen_int(&s, 2 * mean + 1);
    const int nc = p->n_categories;
    for (int j = 0; j < im->n; j++) {
        struct coco_gen_box * b = &im->box[j];
        // category: a skewed choice, the first ones are frequent (like "person")
        int64_t u = coco_gen_int(&s, 1000);
        b->cat = u < 300 ? 0 : (int) coco_gen_int(&s, nc);
        if (p->edge_cases && nc > 2 && b->cat == nc - 1) b->cat = nc - 2;   // the last has no gt
        // size class: small, medium, large
        int64_t sz = coco_gen_int(&s, 100);
        int64_t side = sz < 40 ? 300 + coco_gen_int(&s, 2900)
                     : sz < 75 ? 3200 + coco_gen_int(&s, 6400)
                     : 9600 + coco_gen_int(&s, 30000);
        int64_t ar = 50 + coco_gen_int(&s, 151);                  // aspect, percent
        b->w = side * ar / 100;
        b->h = side * 100 / ar;
        if (b->w > im->width * 100) b->w = im->width * 100;
        if (b->h > im->height * 100) b->h = im->height * 100;
        if (b->w < 100) b->w = 100;
        if (b->h < 100) b->h = 100;
        b->x = coco_gen_int(&s, im->width * 100 - b->w + 1);
        b->y = coco_gen_int(&s, im->height * 100 - b->h + 1);
        b->crowd = coco_gen_int(&s, 100) == 0;
        // the segment area, in hundredths of a pixel^2: 50..100% of the box
        int64_t frac = 50 + coco_gen_int(&s, 51);
        b->area = (b->w * b->h / 100) * frac / 100;
        int64_t edge = coco_gen_int(&s, 100);
        if (edge < 2) b->area = 102400;                   // exactly 32^2
        else if (edge < 4) b->area = 921600;              // exactly 96^2
    }
}

// Writes integer v / 10^dec as decimal text; returns the length.
static inline int coco_gen_fmt(char * buf, int64_t v, int dec) {
    char tmp[32];
    int n = 0, neg = v < 0;
    uint64_t u = neg ? (uint64_t) 0 - (uint64_t) v : (uint64_t) v;
    int d = 0;
    do {
        tmp[n++] = (char) ('0' + u % 10);
        u /= 10;
        d++;
        if (d == dec) tmp[n++] = '.';
    } while (u > 0 || d <= dec);
    int o = 0;
    if (neg) buf[o++] = '-';
    while (n > 0) buf[o++] = tmp[--n];
    buf[o] = 0;
    return o;
}

static inline void coco_gen_num(struct json_writer * w, int64_t v, int dec) {
    char buf[32];
    int n = coco_gen_fmt(buf, v, dec);
    json_write_number_text(w, buf, (size_t) n);
}

static inline int coco_gen_write_gt(FILE * f, const struct coco_gen_params * p) {
    struct json_writer w;
    json_writer_init(&w, f, 2);
    json_write_begin_object(&w);
    if (p->polygons) {
        json_write_key(&w, "info");
        json_write_begin_object(&w);
        json_write_key(&w, "description"); json_write_string(&w, "generated by tools/coco-gen (train2017-shaped)");
        json_write_key(&w, "version"); json_write_string(&w, "1.0");
        json_write_key(&w, "year"); json_write_int64(&w, 2017);
        json_write_end_object(&w);
        json_write_key(&w, "licenses");
        json_write_begin_array(&w);
        for (int l = 1; l <= 8; l++) {
            json_write_begin_object(&w);
            json_write_key(&w, "url"); json_write_string(&w, "http://creativecommons.org/licenses/by/2.0/");
            json_write_key(&w, "id"); json_write_int64(&w, l);
            json_write_key(&w, "name"); json_write_string(&w, "Attribution License");
            json_write_end_object(&w);
        }
        json_write_end_array(&w);
    }
    struct coco_gen_image im;
    char name[64];
    json_write_key(&w, "images");
    json_write_begin_array(&w);
    for (int64_t i = 0; i < p->n_images; i++) {
        coco_gen_image(p, i, &im);
        json_write_begin_object(&w);
        if (p->polygons) { json_write_key(&w, "license"); json_write_int64(&w, 1 + i % 8); }
        snprintf(name, sizeof(name), "%012lld.jpg", (long long) im.id);
        json_write_key(&w, "file_name"); json_write_string(&w, name);
        if (p->polygons) {
            char url[128];
            snprintf(url, sizeof(url), "http://images.cocodataset.org/train2017/%s", name);
            json_write_key(&w, "coco_url"); json_write_string(&w, url);
        }
        json_write_key(&w, "height"); json_write_int64(&w, im.height);
        json_write_key(&w, "width"); json_write_int64(&w, im.width);
        if (p->polygons) {
            json_write_key(&w, "date_captured"); json_write_string(&w, "2013-11-14 17:02:52");
            json_write_key(&w, "flickr_url"); json_write_string(&w, "http://farm4.staticflickr.com/3153/2970773875_164f0c0b83_z.jpg");
        }
        json_write_key(&w, "id"); json_write_int64(&w, im.id);
        json_write_end_object(&w);
    }
    json_write_end_array(&w);
    json_write_key(&w, "annotations");
    json_write_begin_array(&w);
    int64_t ann_id = 0;
    for (int64_t i = 0; i < p->n_images; i++) {
        coco_gen_image(p, i, &im);
        uint64_t s = p->seed ^ ((uint64_t) i * 0xD1B54A32D192ED03ull);
        for (int j = 0; j < im.n; j++) {
            const struct coco_gen_box * b = &im.box[j];
            ann_id += 1 + coco_gen_int(&s, 3);
            json_write_begin_object(&w);
            json_write_key(&w, "segmentation");
            if (!p->polygons) {
                json_write_begin_array(&w);
                json_write_end_array(&w);
            } else if (b->crowd) {
                json_write_begin_object(&w);
                json_write_key(&w, "counts");
                json_write_begin_array(&w);
                int nc = 50 + (int) coco_gen_int(&s, 150);
                for (int c = 0; c < nc; c++) json_write_int64(&w, coco_gen_int(&s, 400));
                json_write_end_array(&w);
                json_write_key(&w, "size");
                json_write_begin_array(&w);
                json_write_int64(&w, im.height);
                json_write_int64(&w, im.width);
                json_write_end_array(&w);
                json_write_end_object(&w);
            } else {
                json_write_begin_array(&w);
                int parts = coco_gen_int(&s, 10) == 0 ? 2 : 1;
                for (int q = 0; q < parts; q++) {
                    json_write_begin_array(&w);
                    int np = 6 + (int) coco_gen_int(&s, 41);
                    for (int k = 0; k < np; k++) {
                        coco_gen_num(&w, b->x + coco_gen_int(&s, b->w + 1), 2);
                        coco_gen_num(&w, b->y + coco_gen_int(&s, b->h + 1), 2);
                    }
                    json_write_end_array(&w);
                }
                json_write_end_array(&w);
            }
            json_write_key(&w, "area"); coco_gen_num(&w, b->area, 2);
            json_write_key(&w, "iscrowd"); json_write_int64(&w, b->crowd);
            json_write_key(&w, "image_id"); json_write_int64(&w, im.id);
            json_write_key(&w, "bbox");
            json_write_begin_array(&w);
            coco_gen_num(&w, b->x, 2);
            coco_gen_num(&w, b->y, 2);
            coco_gen_num(&w, b->w, 2);
            coco_gen_num(&w, b->h, 2);
            json_write_end_array(&w);
            json_write_key(&w, "category_id"); json_write_int64(&w, coco_gen_cat_ids[b->cat]);
            json_write_key(&w, "id"); json_write_int64(&w, ann_id);
            json_write_end_object(&w);
        }
    }
    json_write_end_array(&w);
    json_write_key(&w, "categories");
    json_write_begin_array(&w);
    for (int c = 0; c < p->n_categories; c++) {
        json_write_begin_object(&w);
        json_write_key(&w, "supercategory"); json_write_string(&w, "thing");
        json_write_key(&w, "id"); json_write_int64(&w, coco_gen_cat_ids[c]);
        json_write_key(&w, "name"); json_write_string(&w, coco_gen_cat_names[c]);
        json_write_end_object(&w);
    }
    json_write_end_array(&w);
    json_write_end_object(&w);
    fputc('\n', f);
    return json_writer_finish(&w);
}

struct coco_gen_det {
    int64_t x, y, w, h;     // hundredths
    int64_t score;          // in units of 10^-score_dec
    int score_dec;
    int cat;
};

static inline int64_t coco_gen_clamp(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

// Detections of image i (file order), at most cap; returns the count.
static inline int coco_gen_image_dets(const struct coco_gen_params * p, int64_t i, const struct coco_gen_image * im,
                               struct coco_gen_det * out, int cap) {
    uint64_t s = (p->seed + 7) * 0xC2B2AE3D27D4EB4Full + (uint64_t) i * 0x165667B19E3779F9ull;
    coco_gen_next(&s);
    const int nc = p->n_categories;
    int n = 0;
    for (int j = 0; j < im->n && n < cap; j++) {
        const struct coco_gen_box * b = &im->box[j];
        int copies = coco_gen_int(&s, 100) < 85 ? 1 : 0;
        if (coco_gen_int(&s, 100) < 15) copies++;                 // a duplicate
        if (b->crowd) copies = 2 + (int) coco_gen_int(&s, 3);     // detections on a crowd region
        for (int c = 0; c < copies && n < cap; c++) {
            struct coco_gen_det * d = &out[n++];
            int64_t q = coco_gen_int(&s, 400);                    // jitter, permille of the size
            int64_t jx = b->w * q / 1000, jy = b->h * q / 1000;
            d->x = b->x + coco_gen_int(&s, 2 * jx + 1) - jx;
            d->y = b->y + coco_gen_int(&s, 2 * jy + 1) - jy;
            d->w = coco_gen_clamp(b->w + coco_gen_int(&s, 2 * jx + 1) - jx, 1, 1000000);
            d->h = coco_gen_clamp(b->h + coco_gen_int(&s, 2 * jy + 1) - jy, 1, 1000000);
            if (b->crowd) {   // a smaller box inside the crowd region
                d->w = b->w / 3 + 1; d->h = b->h / 3 + 1;
                d->x = b->x + coco_gen_int(&s, b->w - d->w + 1);
                d->y = b->y + coco_gen_int(&s, b->h - d->h + 1);
            }
            d->cat = coco_gen_int(&s, 100) < 8 ? (int) coco_gen_int(&s, nc) : b->cat;   // wrong class
            // better boxes score higher, with noise; hundredths give many ties
            int64_t sc = 900 - q - 250 * c + coco_gen_int(&s, 301) - 150;
            d->score_dec = coco_gen_int(&s, 4) == 0 ? 3 : 2;
            sc = coco_gen_clamp(sc, 1, 999);
            d->score = d->score_dec == 3 ? sc : sc / 10;
        }
    }
    int target = (int) coco_gen_int(&s, 2 * p->dets_per_image + 1);
    while (n < target && n < cap) {                               // background false positives
        struct coco_gen_det * d = &out[n++];
        d->w = 500 + coco_gen_int(&s, 20000);
        d->h = 500 + coco_gen_int(&s, 20000);
        d->x = coco_gen_int(&s, im->width * 100);
        d->y = coco_gen_int(&s, im->height * 100);
        d->cat = coco_gen_int(&s, 2) ? 0 : (int) coco_gen_int(&s, nc);
        d->score_dec = 2;
        d->score = 1 + coco_gen_int(&s, 60);
    }
    if (p->edge_cases && i == 3) {                                // more than 100 of one category
        while (n < 140 && n < cap) {
            struct coco_gen_det * d = &out[n++];
            d->w = 2000 + coco_gen_int(&s, 5000);
            d->h = 2000 + coco_gen_int(&s, 5000);
            d->x = coco_gen_int(&s, im->width * 100);
            d->y = coco_gen_int(&s, im->height * 100);
            d->cat = 0;
            d->score_dec = 2;
            d->score = 1 + coco_gen_int(&s, 99);
        }
    }
    for (int k = 0; k < n; k++) {
        if (p->edge_cases && nc > 2 && out[k].cat == 1) out[k].cat = 0;   // category 1: no dets
    }
    for (int k = n - 1; k > 0; k--) {                              // shuffle the file order
        int j = (int) coco_gen_int(&s, k + 1);
        struct coco_gen_det t = out[k]; out[k] = out[j]; out[j] = t;
    }
    return n;
}

static inline int coco_gen_write_dets(FILE * f, const struct coco_gen_params * p) {
    struct json_writer w;
    json_writer_init(&w, f, 1);
    json_write_begin_array(&w);
    struct coco_gen_image im;
    enum { CAP = 1024 };
    struct coco_gen_det * dets = (struct coco_gen_det *) malloc(CAP * sizeof(*dets));
    if (!dets) return -1;
    for (int64_t i = 0; i < p->n_images; i++) {
        coco_gen_image(p, i, &im);
        int n = coco_gen_image_dets(p, i, &im, dets, CAP);
        for (int k = 0; k < n; k++) {
            const struct coco_gen_det * d = &dets[k];
            json_write_begin_object(&w);
            json_write_key(&w, "image_id"); json_write_int64(&w, im.id);
            json_write_key(&w, "category_id"); json_write_int64(&w, coco_gen_cat_ids[d->cat]);
            json_write_key(&w, "bbox");
            json_write_begin_array(&w);
            coco_gen_num(&w, d->x, 2);
            coco_gen_num(&w, d->y, 2);
            coco_gen_num(&w, d->w, 2);
            coco_gen_num(&w, d->h, 2);
            json_write_end_array(&w);
            json_write_key(&w, "score"); coco_gen_num(&w, d->score, d->score_dec);
            json_write_end_object(&w);
        }
    }
    json_write_end_array(&w);
    fputc('\n', f);
    free(dets);
    return json_writer_finish(&w);
}

#endif // COCO_GEN_H
