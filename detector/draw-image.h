// draw-image.h - drawing on a struct image (image.h: 8-bit RGB): rectangles, lines, text in the
// built-in font (draw-font.h), detections with their labels, a grid of tiles, and PNG files.
//
// Every function clips to the image: coordinates may lie anywhere, also far outside, and
// non-finite coordinates draw nothing. Nothing here aborts or allocates except draw_grid (the
// output picture) and draw_write_png (stb_image_write's buffer).
//
// Coordinates are pixels with no +1, as the detector's boxes: a box x1 y1 x2 y2 covers the
// pixels whose centres lie inside it, columns round(x1) .. round(x2) - 1 (so 0 0 w h is the
// whole image); draw_fill_rect takes the same half-open integer range.
//
// PNG writing needs stb_image_write's implementation in the program (detector/data-stb.c holds
// it; a test may define STB_IMAGE_WRITE_IMPLEMENTATION itself). The file is written to a
// temporary name in the same folder and renamed into place, so a failed write leaves nothing.
//
// Use:
//     draw_detection(&im, box, cls, "circle 0.93");
//     if (draw_write_png("pred.png", &im, err, sizeof(err))) fprintf(stderr, "%s\n", err);
#ifndef DET_DRAW_IMAGE_H
#define DET_DRAW_IMAGE_H

#include "image.h"

#include <stddef.h>
#include <stdint.h>

// A distinct, readable colour for class index cls (the first 16 hand-picked, later ones spread
// around the hue circle); grey for cls < 0.
void draw_class_color(int cls, uint8_t rgb[3]);

// The outline of box x1 y1 x2 y2 (either corner order), thickness pixels wide, drawn inside the
// box (a box thinner than two lines is filled). thickness < 1 counts as 1.
void draw_rect(struct image * im, float x1, float y1, float x2, float y2, const uint8_t rgb[3], int thickness);
// Fills columns x1 .. x2 - 1, rows y1 .. y2 - 1 (either order) with rgb blended at alpha
// (0: nothing, 1: opaque; clamped to [0, 1]).
void draw_fill_rect(struct image * im, int x1, int y1, int x2, int y2, const uint8_t rgb[3], float alpha);
// An anti-aliased line of the given width (round ends) between the two points (pixel centres at
// i + 0.5). thickness < 1 counts as 1.
void draw_line(struct image * im, float x0, float y0, float x1, float y1, const uint8_t rgb[3], int thickness);
// The same with a fractional width and an opacity (0..1), for plots.
void draw_line_aa(struct image * im, double x0, double y0, double x1, double y1, const uint8_t rgb[3],
                  double width, double alpha);
// Clips segment seg (x0 y0 x1 y1) to the rectangle [x_min, x_max] x [y_min, y_max] in place
// (Liang-Barsky). Returns 1 when some of it is left, 0 when none is (or a value is not finite).
int draw_clip_segment(double seg[4], double x_min, double y_min, double x_max, double y_max);

// Text s with its top-left corner at (x, y), each font pixel a scale x scale square (scale < 1
// counts as 1); bg, if not NULL, fills the whole text box first. One line: '\n' and other
// characters outside 32..126 are drawn as '?'. Returns the width of the text box,
// draw_text_width(s, scale); its height is draw_text_height(scale).
int draw_text(struct image * im, int x, int y, const char * s, const uint8_t fg[3], const uint8_t * bg, int scale);
// strlen(s) * 6 * scale - scale (no spacing after the last glyph), 0 for an empty string
int draw_text_width(const char * s, int scale);
// 9 * scale (descenders included)
int draw_text_height(int scale);
// The text scale that suits labels on a w x h picture: 1 below 600 pixels on the short side, 2
// up to 1199, and so on.
int draw_label_scale(int w, int h);

// A detection: the box in the class colour, and label (may be NULL or empty: no tab) in black
// or white, whichever reads better, on a tab of the class colour above the box's top-left
// corner, or just inside the box when there is no room above; the tab is kept inside the image.
void draw_detection(struct image * im, const float box[4], int cls, const char * label);
// n detections (boxes n x 4; cls NULL: all class 0; labels NULL: none, or n strings, NULL or ""
// for none): every box first, then every label, the first detection's last, so that no box
// crosses a label and the first (best) label is on top.
void draw_detections(struct image * im, int n, const float * boxes, const int * cls, const char * const * labels);

// Writes im as an 8-bit RGB PNG at path (temporary file + rename). Returns 0, or -1 with one line
// naming the path in err.
int draw_write_png(const char * path, const struct image * im, char * err, size_t err_size);

// Tiles n images into one picture, cols per row (cols <= 0: about square), each in a cell as
// large as the largest tile, pad pixels of white between cells and around them. out->rgb is
// allocated (free with free()). Returns 0, or -1 (no tiles, a tile without pixels, out of memory,
// a picture over 2^31 bytes).
int draw_grid(const struct image * tiles, int n, int cols, int pad, struct image * out);

#endif // DET_DRAW_IMAGE_H
