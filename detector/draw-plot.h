// draw-plot.h - line plots rasterised into a struct image (image.h) and written as PNG: the
// training curves (loss parts, w_SB, lr over steps; AP and oLRP per epoch), precision-recall and
// LRP curves. Drawn with draw-image.c and draw-font.c; no other dependency.
//
// A plot has a title, axis labels, a frame with ticks on "nice" values (1, 2 or 5 times a power
// of ten, integers only when x_is_int), light grid lines at the ticks, one colour per series
// (draw_class_color's palette) and a legend of the named series in the corner that hides the
// fewest points. Auto axis ranges run from the data's minimum to its maximum (y with 2% room on
// each side), widened to the neighbouring ticks; a fixed y_min / y_max (or x_min / x_max) is
// used as given (a reversed pair is swapped), and lines running along the frame are drawn over it.
//
// Points whose x or y is NaN or infinite (with log_y also y <= 0) are skipped and break the
// line into pieces; a point with no neighbour to join is drawn as a dot, and series of at most
// 40 points get a dot on every point. Degenerate input draws an honest picture and returns 0:
// no series or no valid point (empty axes saying "no data"), one point, all-equal values (the
// axis spans the value +- 10%, or +- 1 around 0), ranges up to +-1e300 (beyond that values are
// clamped for the axis).
//
// log_y: the y axis is log10; ticks on powers of ten (every 2nd, 5th... when they are many, with
// unlabelled 2..9 grid lines when there are few decades), or on nice linear values when the
// range is under one decade.
//
// Use:
//     struct plot_opts o;
//     plot_opts_default(&o);
//     o.title = "loss"; o.xlabel = "step"; o.x_is_int = 1;
//     struct plot_series s[2] = { { "cls", n, steps, cls }, { "box", n, steps, box } };
//     if (plot_png("run/loss.png", &o, 2, s, err, sizeof(err))) fprintf(stderr, "%s\n", err);
#ifndef DET_DRAW_PLOT_H
#define DET_DRAW_PLOT_H

#include "image.h"

#include <stddef.h>
#include <stdint.h>

struct plot_series {
    const char * name;      // legend entry; NULL or "" for none
    int64_t n;              // points
    const double * x;       // n values; NULL: 0, 1, ..., n - 1
    const double * y;       // n values
};

struct plot_opts {
    const char * title, * xlabel, * ylabel;   // NULL: none
    int width, height;                        // pixels, 96 .. 8192 x 64 .. 8192
    int log_y;                                // y axis log10
    double y_min, y_max;                      // NaN: from the data
    int x_is_int;                             // x ticks on integers only (steps, epochs)
    double x_min, x_max;                      // NaN: from the data
};

// 640 x 400, no titles, linear axes, every range from the data
void plot_opts_default(struct plot_opts * o);

// Draws the plot into im: im->rgb is allocated by the call (free it with free()); o NULL means
// the defaults. Returns 0, or -1 on bad arguments (sizes out of range, n < 0, a series with
// points but no y) or out of memory, im then without pixels.
int plot_draw(struct image * im, const struct plot_opts * o, int n_series, const struct plot_series * s);

// plot_draw, then draw_write_png. Returns 0, or -1 with one line naming path in err.
int plot_png(const char * path, const struct plot_opts * o, int n_series, const struct plot_series * s,
             char * err, size_t err_size);

// Several plots in one PNG, cols per row (cols <= 0: about square): plot i has options o[i] and
// series s[i][0 .. n_series[i] - 1]. Returns 0, or -1 with one line naming path in err.
int plot_png_grid(const char * path, int n_plots, int cols, const struct plot_opts * o, const int * n_series,
                  const struct plot_series * const * s, char * err, size_t err_size);

#endif // DET_DRAW_PLOT_H
