// data-image.h - images in and out of the detector: decoding (JPEG, PNG, BMP, GIF, PNM, TGA via
// stb_image, always to 8-bit RGB), PNG/JPEG writing (temp file then rename), and the test-time
// input rule of the official aLRP Loss code ([A], mmdetection v2): keep-ratio resize,
// normalisation, padding.
//
//     struct image im;
//     char err[512];
//     if (image_load("val2017/000000000139.jpg", &im, err, sizeof(err)) != 0) { puts(err); ... }
//     struct test_geom g;
//     image_test_geom(im.w, im.h, 500, 833, 32, &g);           // 640x480 -> 667x500, padded 672x512
//     struct image_norm nm;  image_norm_default(&nm);
//     float * x = malloc(sizeof(float) * 3 * g.ph * g.pw);
//     image_to_input(&im, &g, &nm, x);                         // (3, ph, pw), CHW planes
//     // a box found in x maps back to the original image as x1 / g.scale_w, y1 / g.scale_h, ...
//     image_free(&im);
//
// Decoding rules. Every error is one line naming the file: "PATH: not a readable image
// (REASON)" with stb_image's reason, "PATH: cannot open (No such file or directory)",
// "PATH: image of W x H pixels is larger than the limit of N pixels". On top of stb_image:
//   - at most IMAGE_MAX_PIXELS pixels (checked from the header, before anything is allocated);
//   - a JPEG's marker segments are walked first: it must have its end-of-image marker (FF D9)
//     after its last scan (stb_image, like libjpeg under mmcv's cv2, decodes a truncated JPEG
//     into a partly grey image without complaint, and a training set should not learn from
//     those), and no Huffman table may have more than 256 codes (stb_image 2.27, Debian's,
//     writes past its table on such a file; stb fixed it in 2.28);
//   - a binary PNM header number may have at most 9 digits (stb_image 2.27 overflows an int),
//     and 16-bit PNMs are refused (2.27 reads past its buffer converting a short one); empty
//     IDAT chunks of a PNG are dropped before decoding (2.27 offsets a NULL pointer on them);
//   - stb_image's allocations are tracked per thread (data-stb.c) and whatever a failed decode
//     leaves behind is freed (2.27 leaks on some corrupt PNGs); its failure reason is made
//     printable (its unknown-PNG-chunk reason carries the file's bytes).
// The functions never abort on data; stb_image's failure reason is thread-local, so decoding
// on several threads at once is fine.
//
// Test-time rule of [A] (mmcv's rescale_size + imresize, mmdet's Normalize and Pad):
//   scale = min(max(S, M) / max(w, h), min(S, M) / min(w, h))   (S short side, M max side; double)
//   rw = (int) (w * scale + 0.5), rh = (int) (h * scale + 0.5)
//   scale_w = rw / w, scale_h = rh / h (float, as mmdet's scale_factor; boxes in the resized image
//   divided by them are in original pixels)
//   pw, ph = rw, rh rounded up to a multiple of pad (pad <= 0: no padding)
// Resize filter: bilinear with OpenCV's INTER_LINEAR coordinate mapping (what mmcv.imresize
// calls): source x = (dx + 0.5) * (w / rw) - 0.5, floored; below 0 it is clamped to pixel 0 with
// weight 0, past the last pixel to the last pixel (edge replicate). This is also PyTorch's
// interpolate(mode='bilinear', align_corners=False) for float input. Unlike cv2 on 8-bit
// images, the weights are float (cv2 rounds them to 11 bits) and the result is not rounded back
// to 8 bits before normalisation, so values differ from cv2's by less than one grey level
// (< 0.02 after dividing by the std). Not stb_image_resize: its filters widen when shrinking
// (area-like), which is not what the official code does.
// Normalisation: (v - mean[c]) * (1 / std[c]) in float, RGB order unless bgr (then planes are
// B, G, R and mean/std are given in that order). Padding (bottom and right) is 0 after
// normalisation, as mmdet's Pad runs after Normalize.

#ifndef DET_DATA_IMAGE_H
#define DET_DATA_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "image.h"

#ifndef IMAGE_MAX_PIXELS
#define IMAGE_MAX_PIXELS (1 << 26)   // 67 M pixels (200 MB as RGB); COCO's largest is 0.4 M
#endif

int  image_load(const char * path, struct image * im, char * err, size_t err_size);
// name: for messages (a path, or "<memory>")
int  image_decode(const void * data, size_t n, const char * name, struct image * im, char * err,
                  size_t err_size);
void image_free(struct image * im);
// w x h pixels, zeroed; -1 on bad sizes (< 1, more than IMAGE_MAX_PIXELS) or out of memory
int  image_alloc(struct image * im, int w, int h);

// Written to PATH.tmp-PID-THREAD then renamed over PATH, so PATH is never half-written.
int  image_write_png(const char * path, const struct image * im, char * err, size_t err_size);
int  image_write_jpg(const char * path, const struct image * im, int quality, char * err,
                     size_t err_size);   // quality 1..100

// Reads a whole file into memory (malloc'd, *data NULL for an empty file). 0 or -1 + message.
int  image_read_file(const char * path, uint8_t ** data, size_t * n, char * err, size_t err_size);

struct image_norm {
    float mean[3], std[3];
    int   bgr;            // 1: output planes in B, G, R order
};
// [A]: RGB, mean 123.675 116.28 103.53, std 58.395 57.12 57.375
void image_norm_default(struct image_norm * n);

struct test_geom {
    int   in_w, in_h;     // the original image
    int   rw, rh;         // resized
    int   pw, ph;         // padded (the network's input)
    float scale_w, scale_h;   // rw / in_w, rh / in_h
};
void image_test_geom(int w, int h, int short_side, int max_side, int pad, struct test_geom * g);

// out (3, g->ph, g->pw): im resized to rw x rh, normalised, zero padding. -1 if im does not match
// g->in_w x g->in_h or a size is bad.
int  image_to_input(const struct image * im, const struct test_geom * g, const struct image_norm * nm,
                    float * out);

// The bilinear resize above on a float HWC image (3 channels) given through a pixel-fetch
// callback (the augmentation samples a virtual canvas through it): dst (dh, dw, 3).
typedef void (*image_fetch_fn)(const void * ctx, int x, int y, float rgb[3]);
void image_resize_bilinear_f(const void * ctx, image_fetch_fn fetch, int sw, int sh, float * dst,
                             int dw, int dh);

#endif // DET_DATA_IMAGE_H
