// image.h - the 8-bit RGB image every stage of the detector passes around: decoded by
// data-image.c, augmented by data-augment.c, drawn on by draw-*.c, written as PNG/JPEG.
#ifndef DET_IMAGE_H
#define DET_IMAGE_H

#include <stdint.h>

struct image {
    int w, h;           // pixels
    uint8_t * rgb;      // w * h * 3 bytes, row-major, R G B interleaved; owned (free with image_free)
};

#endif // DET_IMAGE_H
