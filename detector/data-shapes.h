// data-shapes.h - the built-in synthetic detection set `shapes`: coloured shapes of 7 classes on
// textured, cluttered backgrounds, written in COCO's layout so the ordinary loader reads it.
//
//     struct shapes_params p;  shapes_params_default(&p);      // 6000 train + 200 val, 128 x 128
//     if (shapes_ensure("data/shapes", &p, stderr, err, sizeof(err)) != 0) { puts(err); ... }
//     // data/shapes/annotations/instances_train2017.json, data/shapes/train2017/000000000001.jpg ...
//
// The set is a pure function of the parameters: image i of a split is drawn from its own random
// stream (seed, split, i), so the bytes are the same on every run and for any n_threads.
//
// Classes (category ids 1..7): circle, square, triangle, star, cross, ring, bar. An object's
// size is its circumradius R, log-uniform in [min_radius, max_radius] (given at size 256 and
// scaled with the size; the defaults, 20..64 at 256, are 10..32 px at the default 128 x 128:
// boxes of about 20..64 px, half of them with an area below 32 x 32). Rotations: any for
// triangle and star, +-15 degrees for square and cross, bars are horizontal or vertical +-12
// degrees, circles and rings have none. Shapes are drawn anti-aliased from their signed
// distance (coverage = clamp(0.5 - d, 0, 1) at pixel centres), filled with a solid colour, a
// two-tone gradient or a noisy texture, in a colour chosen to differ from the background under
// it (RGB distance >= 60 when one of 24 tries finds one).
//
// Backgrounds: a linear gradient, soft stripes, smooth value noise or a rotated checkerboard,
// then clutter that belongs to no class (wobbly blobs and thick line segments, up to max_clutter;
// a share p_clutter_over of it, none by default, is drawn after the objects, on top of them), and
// sensor noise (Gaussian, sigma uniform in 2..max_noise, 8 by default) over everything. Images
// are JPEG, quality 90 (stb_image_write: 4:2:0 chroma).
//
// Objects: 0 with probability p_empty (such images have no annotation; the training loader
// skips them as mmdetection does, evaluation keeps them), otherwise 1..max_objects. A share
// p_overlap (a quarter) of the objects is placed over an earlier one, so later shapes hide part of it.
// Occlusion is measured on the pixels (coverage > 0.5) of each object: hidden = the share of
// its own pixels that something drawn later covers. An object hidden by more than max_hidden
// (0.5) is drawn but not annotated; the others are annotated with the box of the whole shape
// (x1 y1 x2 y2 of its geometry, clipped to the image), whatever hides it. A shape may stick out
// of the image by up to a fifth of its size. Each annotation has COCO's fields (area = the
// shape's pixel coverage inside the image, iscrowd 0) plus "hidden" (0..1, rounded to 0.01).
//
// Atomicity: shapes_generate writes DIR.tmp-PID and renames it to DIR when everything is
// written, the marker DIR/shapes.done last inside it; an interrupted run leaves only the
// .tmp-PID folder (delete it). shapes_ensure uses DIR when its shapes.done matches the
// parameters, generates it when DIR does not exist (or is empty), and otherwise refuses with a
// message (it never deletes a folder).

#ifndef DET_DATA_SHAPES_H
#define DET_DATA_SHAPES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SHAPES_N_CLASSES 7

struct shapes_params {
    int      n_train, n_val;      // 6000, 200
    int      size;                // 128: square images of size x size
    uint64_t seed;                // 20240601
    float    min_radius, max_radius;   // 20, 64 (pixels, at size 256; scaled with size: 10..32 at 128)
    int      max_objects;         // 8
    float    p_empty;             // 0.06
    float    p_overlap;           // 0.25: an object placed over an earlier one
    float    max_hidden;          // 0.5
    int      max_clutter;         // 4
    float    p_clutter_over;      // 0: share of the clutter drawn after (over) the objects
    float    max_noise;           // 8: sensor noise sigma, uniform in [2, max_noise] per image
    int      jpeg_quality;        // 90
    int      n_threads;           // 1 (any count gives the same bytes)
    int      png;                 // 0; 1: lossless PNG files (*.png) instead of JPEG
};

struct shapes_stats {
    int64_t images, empty;        // empty: no annotation
    int64_t objects;              // annotated
    int64_t small;                // annotated with box area < 32 x 32
    int64_t occluded;             // annotated with hidden >= 1/3
    int64_t dropped;              // drawn but hidden > max_hidden: not annotated
    int64_t per_class[SHAPES_N_CLASSES];
    double  seconds;
};

const char * shapes_class_name(int k);   // k in 0..SHAPES_N_CLASSES-1 (category id k + 1)
void shapes_params_default(struct shapes_params * p);

// Generates into dir (which must not exist). st (train and val together) may be NULL.
int shapes_generate(const char * dir, const struct shapes_params * p, char * err, size_t err_size);
int shapes_generate_stats(const char * dir, const struct shapes_params * p, struct shapes_stats * st,
                          char * err, size_t err_size);
// Generates dir if absent (one line on log, which may be NULL, before and one after); 0 when dir
// holds a complete set made with these parameters.
int shapes_ensure(const char * dir, const struct shapes_params * p, FILE * log, char * err, size_t err_size);

// One image of a split (0 train, 1 val), drawn into rgb (size * size * 3); boxes (max_objects,
// 4) x1 y1 x2 y2, cls (max_objects) 0-based, hidden (max_objects); returns the annotated count
// (objects hidden more than max_hidden are left out), or -1 when out of memory. *n_dropped may
// be NULL.
int shapes_draw(const struct shapes_params * p, int split, int64_t index, uint8_t * rgb, float * boxes,
                int32_t * cls, float * hidden, float * seg_area, int * n_dropped);

#endif // DET_DATA_SHAPES_H
