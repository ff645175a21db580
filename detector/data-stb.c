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

#define STBI_NO_HDR
#define STBI_NO_PSD
#define STBI_NO_PIC
#define STBI_NO_LINEAR
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBIW_WINDOWS_UTF8_NOT_USED
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
