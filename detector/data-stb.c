// data-stb.c - the one place that compiles the stb image libraries (stb_image: decoding,
// stb_image_write: PNG/JPEG output, stb_image_resize: kept for the drawing stage). Every other
// file includes the stb headers without an implementation; a program includes this file once
// (data-image.c does). stb's own warnings are silenced here only, so the rest of the detector
// stays -Wall -Wextra clean.
//
// Configuration: only the decoders a dataset can hold (JPEG, PNG, BMP, GIF, PNM, TGA; no HDR,
// PSD, PIC: fewer code paths for bad files to reach), no stdio path functions of stb_image
// (data-image.c reads the files itself, so the messages name them), failure strings kept.
#ifndef DET_DATA_STB_C
#define DET_DATA_STB_C

#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wunused-function"
#pragma clang diagnostic ignored "-Wsign-compare"
#pragma clang diagnostic ignored "-Wunused-parameter"
#pragma clang diagnostic ignored "-Wmissing-field-initializers"
#pragma clang diagnostic ignored "-Wimplicit-fallthrough"
#pragma clang diagnostic ignored "-Wunused-but-set-variable"
#elif defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wtype-limits"
#pragma GCC diagnostic ignored "-Wshadow"
#endif

// stb_image's allocations go through a per-thread list, so image_decode can free whatever a
// failed decode leaves behind (stb_image 2.27 leaks its output buffer on some corrupt PNGs).
#include <stddef.h>
#include <stdlib.h>
struct data__blk { struct data__blk * prev, * next; size_t size; max_align_t pad[]; };
static _Thread_local struct data__blk * data__live;
static void * data__stb_malloc(size_t n) {
    struct data__blk * b = (struct data__blk *) malloc(sizeof(struct data__blk) + n);
    if (!b) return NULL;
    b->prev = NULL; b->next = data__live; b->size = n;
    if (data__live) data__live->prev = b;
    data__live = b;
    return b + 1;
}
static void data__stb_unlink(struct data__blk * b) {
    if (b->prev) b->prev->next = b->next; else data__live = b->next;
    if (b->next) b->next->prev = b->prev;
}
static void data__stb_free(void * p) {
    if (!p) return;
    struct data__blk * b = (struct data__blk *) p - 1;
    data__stb_unlink(b);
    free(b);
}
static void * data__stb_realloc(void * p, size_t n) {
    if (!p) return data__stb_malloc(n);
    struct data__blk * b = (struct data__blk *) p - 1;
    data__stb_unlink(b);
    struct data__blk * nb = (struct data__blk *) realloc(b, sizeof(struct data__blk) + n);
    if (!nb) { nb = b; n = b->size; p = NULL; }   // the old block stays valid and listed
    nb->prev = NULL; nb->next = data__live; nb->size = n;
    if (data__live) data__live->prev = nb;
    data__live = nb;
    return p ? (void *) (nb + 1) : NULL;
}
// frees the stb blocks this thread allocated since the list head was `mark` (newer blocks sit
// in front of it)
static struct data__blk * data__stb_mark(void) { return data__live; }
static void data__stb_free_since(struct data__blk * mark) {
    while (data__live && data__live != mark) {
        struct data__blk * b = data__live;
        data__live = b->next;
        if (data__live) data__live->prev = NULL;
        free(b);
    }
}
#define STBI_MALLOC(n)        data__stb_malloc(n)
#define STBI_REALLOC(p, n)    data__stb_realloc(p, n)
#define STBI_FREE(p)          data__stb_free(p)

#define STBI_NO_HDR
#define STBI_NO_PSD
#define STBI_NO_PIC
#define STBI_NO_LINEAR
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>

// Known: stb_image_write 1.16's JPEG bit writer shifts a signed int into its sign bit
// (undefined in C, a plain wrap in practice), which UBSan builds (make SANITIZE=1) stop on;
// tests that write JPEGs use PNG in those builds (see tests/test-data.c).
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb/stb_image_resize.h>

// the implementation parts of the stb headers have no include guard of their own: a later
// #include of a header (draw-image.c, data-image.c) must see the declarations only
#undef STB_IMAGE_IMPLEMENTATION
#undef STB_IMAGE_WRITE_IMPLEMENTATION
#undef STB_IMAGE_RESIZE_IMPLEMENTATION

#if defined(__clang__)
#pragma clang diagnostic pop
#elif defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#endif // DET_DATA_STB_C
