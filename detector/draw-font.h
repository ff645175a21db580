// draw-font.h - the detector's bitmap font: printable ASCII 32..126 as 5 x 9 glyphs (7 rows above
// the baseline, 2 below it for descenders), designed for this project and embedded as data.
//
// Glyph pixels are read one at a time with draw_font_pixel; text is laid out on a grid of
// DRAW_FONT_ADVANCE x DRAW_FONT_H cells (5 columns of ink, 1 of spacing) and drawn at an integer
// scale by draw_text (draw-image.h), which is what callers normally use. Characters outside
// 32..126 are drawn as '?'.
#ifndef DET_DRAW_FONT_H
#define DET_DRAW_FONT_H

#define DRAW_FONT_W       5   // glyph width in pixels (at scale 1)
#define DRAW_FONT_H       9   // glyph height: rows 0..6 above the baseline, 7..8 below
#define DRAW_FONT_ADVANCE 6   // horizontal distance from one glyph to the next
#define DRAW_FONT_FIRST   32
#define DRAW_FONT_LAST    126

// 1 when pixel (x, y) of character c is ink, 0 otherwise (also outside 0 <= x < 5, 0 <= y < 9)
int draw_font_pixel(int c, int x, int y);

#endif // DET_DRAW_FONT_H
