// draw-plot.c - line plots as pictures; the rules are in draw-plot.h. Needs draw-image.c and
// draw-font.c (and stb_image_write's implementation for the PNG functions) in the program.
#include "draw-plot.h"
#include "draw-font.h"
#include "draw-image.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DRAW__PLOT_LIMIT 1e300    // axis ranges are computed on values clamped to +-this
#define DRAW__MAX_TICKS  64
#define DRAW__DOTS_UPTO  40       // series with at most this many points get a dot on each

void plot_opts_default(struct plot_opts * o) {
    memset(o, 0, sizeof(*o));
    o->width = 640;
    o->height = 400;
    o->y_min = o->y_max = o->x_min = o->x_max = NAN;
}

// one axis: the range in axis units (log10 of y for a log axis), the ticks and how to label them
struct draw__axis {
    double lo, hi;              // axis units
    int log;                    // values are log10(y)
    int n_ticks;
    double ticks[DRAW__MAX_TICKS];     // axis units
    int labelled[DRAW__MAX_TICKS];     // 0: a minor grid line only
    double step;                // tick step in values (linear) or decades (log, >= 1), 0 for log minor
    int linear_in_log;          // log axis under one decade: ticks on linear values
};

// 1, 2 or 5 times a power of ten, the nearest to raw; bump > 0 moves that many nice steps further up
static double draw__nice_step(double raw, int bump) {
    if (!(raw > 0) || !isfinite(raw)) return 1;
    double mag = pow(10, floor(log10(raw)));
    const double f = raw / mag;
    int k = f < 1.5 ? 0 : f < 3.5 ? 1 : f < 7.5 ? 2 : 3;     // the nearest of 1 2 5 10
    k += bump;
    mag *= pow(10, k / 3);
    static const double m[3] = { 1, 2, 5 };
    return m[k % 3] * mag;
}

// tick label of value v on an axis stepping by step, without trailing noise: "0.25", "1500",
// "2.5e-5", "1e6"
static void draw__fmt_value(char * buf, size_t size, double v, double step, double max_abs) {
    if (fabs(v) < step * 1e-6) { snprintf(buf, size, "0"); return; }
    const int dec = step >= 1 ? 0 : (int) ceil(-log10(step) - 1e-9);
    if (max_abs < 1e6 && dec <= 4) { snprintf(buf, size, "%.*f", dec, v); return; }
    int digits = (int) floor(log10(fabs(v)) + 1e-9) - (int) floor(log10(step) + 1e-9);
    digits = digits < 0 ? 0 : digits > 6 ? 6 : digits;
    char t[48];
    snprintf(t, sizeof(t), "%.*e", digits, v);
    // "1.50e+06" -> "1.5e6", "2.0e-05" -> "2e-5"
    char * e = strchr(t, 'e');
    if (!e) { snprintf(buf, size, "%s", t); return; }
    char * m = e;                               // end of the mantissa without trailing zeros
    if (strchr(t, '.')) { while (m[-1] == '0') m--; if (m[-1] == '.') m--; }
    const char * x = e + 1;
    int neg = *x == '-';
    if (*x == '-' || *x == '+') x++;
    while (*x == '0' && x[1]) x++;
    snprintf(buf, size, "%.*se%s%s", (int) (m - t), t, neg ? "-" : "", x);
}

static void draw__tick_label(const struct draw__axis * a, int i, char * buf, size_t size) {
    if (!a->log) {
        draw__fmt_value(buf, size, a->ticks[i], a->step, fmax(fabs(a->lo), fabs(a->hi)));
    } else if (a->linear_in_log) {
        const double v = pow(10, a->ticks[i]);
        draw__fmt_value(buf, size, v, a->step, fmax(pow(10, a->lo), pow(10, a->hi)));
    } else {
        // m times 10^k
        const int k = (int) floor(a->ticks[i] + 1e-9), m = (int) floor(pow(10, a->ticks[i] - k) + 0.5);
        if (k >= -4 && k <= 5) draw__fmt_value(buf, size, m * pow(10, k), pow(10, k), pow(10, k));
        else snprintf(buf, size, "%de%d", m, k);
    }
}

// widest tick label in pixels
static int draw__axis_label_width(const struct draw__axis * a, int scale) {
    int w = 0;
    char buf[64];
    for (int i = 0; i < a->n_ticks; i++) {
        if (!a->labelled[i]) continue;
        draw__tick_label(a, i, buf, sizeof(buf));
        const int t = draw_text_width(buf, scale);
        if (t > w) w = t;
    }
    return w;
}

// Sets the range (data range lo..hi in axis units, fixed ends kept as given) and ticks for about
// target ticks, bump nice steps coarser than that. int_step: steps of at least 1.
static void draw__axis_ticks(struct draw__axis * a, double lo, double hi, int fix_lo, int fix_hi, double target,
                             int bump, int int_step) {
    a->n_ticks = 0;
    a->linear_in_log = 0;
    if (target < 1) target = 1;
    if (!a->log || hi - lo < 1) {
        // linear ticks (in values; for a log axis under one decade, mapped through log10)
        double vlo = a->log ? pow(10, lo) : lo, vhi = a->log ? pow(10, hi) : hi;
        double step = draw__nice_step((vhi - vlo) / target, bump);
        if (int_step && step < 1) step = 1;
        if (!a->log) {
            if (!fix_lo) vlo = floor(vlo / step) * step;
            if (!fix_hi) vhi = ceil(vhi / step) * step;
            a->lo = vlo;
            a->hi = vhi;
        } else {
            a->lo = lo;
            a->hi = hi;
            a->linear_in_log = 1;
        }
        a->step = step;
        double k = ceil(vlo / step - 1e-9);
        for (int it = 0; it < 4 * DRAW__MAX_TICKS && a->n_ticks < DRAW__MAX_TICKS; it++, k++) {
            const double v = k * step;
            if (v > vhi + step * 1e-9) break;
            if (a->log && !(v > 0)) continue;
            a->labelled[a->n_ticks] = 1;
            a->ticks[a->n_ticks++] = a->log ? log10(v) : v;
        }
        return;
    }
    // log axis over a decade or more: powers of ten every step decades; over at most 3 decades
    // the range ends on 1..9 times a power of ten and 2 and 5 times are labelled too
    double step = draw__nice_step((hi - lo) / target, bump);
    if (step < 1) step = 1;
    const int fine = step == 1 && hi - lo <= 3;
    if (fine) {
        if (!fix_lo) { const double k = floor(lo); lo = k + log10(floor(pow(10, lo - k) + 1e-9)); }
        if (!fix_hi) { const double k = floor(hi), m = ceil(pow(10, hi - k) - 1e-9); hi = k + log10(m); }
    } else {
        if (!fix_lo) lo = floor(lo / step) * step;
        if (!fix_hi) hi = ceil(hi / step) * step;
    }
    a->lo = lo;
    a->hi = hi;
    a->step = step;
    const int minor = step == 1 && hi - lo <= 6;
    for (double k = floor(lo); k <= hi + 1e-9 && a->n_ticks < DRAW__MAX_TICKS; k++)
        for (int m = 1; m <= (minor ? 9 : 1) && a->n_ticks < DRAW__MAX_TICKS; m++) {
            const double t = k + log10((double) m);
            if (t < lo - 1e-9 || t > hi + 1e-9) continue;
            const int major = m == 1 && fmod(k, step) == 0;
            if (m == 1 && !major) continue;
            a->labelled[a->n_ticks] = major || (fine && (m == 2 || m == 5));
            a->ticks[a->n_ticks++] = t;
        }
}

static double draw__clamp_limit(double v) {
    return v > DRAW__PLOT_LIMIT ? DRAW__PLOT_LIMIT : v < -DRAW__PLOT_LIMIT ? -DRAW__PLOT_LIMIT : v;
}

// the data range of one axis: lo..hi in axis units, widened when empty or all equal, else by 2%
// on each side when pad
static void draw__data_range(double * lo, double * hi, int log_axis, int pad) {
    if (!(*lo <= *hi)) { *lo = 0; *hi = 1; return; }   // no valid value
    const double span = *hi - *lo, mag = fmax(fabs(*lo), fabs(*hi));
    if (span <= mag * 1e-9 || span < 1e-290) {
        const double c = *lo / 2 + *hi / 2;
        const double d = log_axis ? 0.5 : (fabs(c) > 1e-290 ? fabs(c) * 0.1 : 1);
        *lo = c - d;
        *hi = c + d;
    } else if (pad) {
        // 2% of room, so that the extremes do not run along the frame
        const double d = (*hi / 2 - *lo / 2) * 0.04;
        *lo -= d;
        *hi += d;
    }
}

static int draw__point_ok(const struct plot_series * s, int64_t i, int log_y, double * x, double * y) {
    *x = s->x ? s->x[i] : (double) i;
    *y = s->y[i];
    if (!isfinite(*x) || !isfinite(*y) || (log_y && !(*y > 0))) return 0;
    if (log_y) *y = log10(*y);
    return 1;
}

// text rotated a quarter turn anticlockwise (reading upwards), its box's bottom-left at (x, y_bottom)
static void draw__text_up(struct image * im, int x, int y_bottom, const char * s, const uint8_t fg[3], int scale) {
    int pen = 0;
    for (const unsigned char * c = (const unsigned char *) s; *c; c++, pen += DRAW_FONT_ADVANCE)
        for (int gy = 0; gy < DRAW_FONT_H; gy++)
            for (int gx = 0; gx < DRAW_FONT_W; gx++)
                if (draw_font_pixel(*c, gx, gy)) {
                    const int px = x + gy * scale, py = y_bottom - (pen + gx + 1) * scale;
                    draw_fill_rect(im, px, py, px + scale, py + scale, fg, 1);
                }
}

static int draw__plot_check(const struct plot_opts * o, int n_series, const struct plot_series * s, char * err, size_t err_size) {
    const char * what = NULL;
    char buf[160];
    if (o->width < 96 || o->width > 8192 || o->height < 64 || o->height > 8192) {
        snprintf(buf, sizeof(buf), "plot size %d x %d is out of range (96..8192 x 64..8192)", o->width, o->height);
        what = buf;
    } else if (n_series < 0 || (n_series > 0 && !s)) {
        snprintf(buf, sizeof(buf), "%d series given without an array of them", n_series);
        what = buf;
    } else {
        for (int i = 0; i < n_series && !what; i++)
            if (s[i].n < 0 || (s[i].n > 0 && !s[i].y)) {
                snprintf(buf, sizeof(buf), "series %d (%s) has %lld points%s", i, s[i].name ? s[i].name : "unnamed",
                         (long long) s[i].n, s[i].n < 0 ? "" : " but no y values");
                what = buf;
            }
    }
    if (!what) return 0;
    if (err && err_size) snprintf(err, err_size, "%s", what);
    return -1;
}

int plot_draw(struct image * im, const struct plot_opts * opts, int n_series, const struct plot_series * s) {
    if (!im) return -1;
    im->w = im->h = 0;
    im->rgb = NULL;
    struct plot_opts o;
    if (opts) o = *opts; else plot_opts_default(&o);
    if (draw__plot_check(&o, n_series, s, NULL, 0)) return -1;
    im->rgb = (uint8_t *) malloc((size_t) o.width * (size_t) o.height * 3);
    if (!im->rgb) return -1;
    im->w = o.width;
    im->h = o.height;
    memset(im->rgb, 255, (size_t) o.width * (size_t) o.height * 3);

    static const uint8_t ink[3] = { 40, 40, 40 }, frame[3] = { 110, 110, 110 }, grid[3] = { 228, 228, 228 },
                         minor_grid[3] = { 242, 242, 242 }, white[3] = { 255, 255, 255 }, legend_edge[3] = { 170, 170, 170 },
                         grey[3] = { 150, 150, 150 };
    int sc = o.width / 560 < o.height / 350 ? o.width / 560 : o.height / 350;
    if (sc < 1) sc = 1;
    const int th = draw_text_height(sc), tick = 4 * sc, title_sc = o.width >= 320 ? 2 * sc : sc;

    // data ranges
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    int64_t n_valid = 0;
    for (int k = 0; k < n_series; k++)
        for (int64_t i = 0; i < s[k].n; i++) {
            double x, y;
            if (!draw__point_ok(&s[k], i, o.log_y, &x, &y)) continue;
            x = draw__clamp_limit(x);
            y = draw__clamp_limit(y);
            xlo = fmin(xlo, x); xhi = fmax(xhi, x);
            ylo = fmin(ylo, y); yhi = fmax(yhi, y);
            n_valid++;
        }
    const int fix_xlo = isfinite(o.x_min), fix_xhi = isfinite(o.x_max);
    const int fix_ylo = isfinite(o.y_min) && (!o.log_y || o.y_min > 0), fix_yhi = isfinite(o.y_max) && (!o.log_y || o.y_max > 0);
    draw__data_range(&xlo, &xhi, 0, 0);
    draw__data_range(&ylo, &yhi, o.log_y, 1);
    if (fix_xlo) xlo = draw__clamp_limit(o.x_min);
    if (fix_xhi) xhi = draw__clamp_limit(o.x_max);
    if (fix_ylo) ylo = o.log_y ? log10(o.y_min) : draw__clamp_limit(o.y_min);
    if (fix_yhi) yhi = o.log_y ? log10(o.y_max) : draw__clamp_limit(o.y_max);
    if (fix_xlo && fix_xhi && xlo > xhi) { const double t = xlo; xlo = xhi; xhi = t; }   // given reversed
    if (fix_ylo && fix_yhi && ylo > yhi) { const double t = ylo; ylo = yhi; yhi = t; }
    if (!(xlo < xhi)) { if (fix_xlo && !fix_xhi) xhi = xlo + fmax(fabs(xlo), 1); else xlo = xhi - fmax(fabs(xhi), 1); }
    if (!(ylo < yhi)) { if (fix_ylo && !fix_yhi) yhi = ylo + fmax(fabs(ylo), 1); else ylo = yhi - fmax(fabs(yhi), 1); }

    // vertical layout first (it does not depend on the ticks), then the y ticks, whose labels
    // set the left margin, then the x ticks
    const int top = o.title && *o.title ? draw_text_height(title_sc) + 10 * sc : 10 * sc;
    const int bottom = tick + 4 * sc + th + (o.xlabel && *o.xlabel ? 6 * sc + th : 0) + 6 * sc;
    const int py0 = top, py1 = o.height - bottom;   // plot area rows py0 .. py1 (frame lines on them)
    struct draw__axis ax, ay;
    memset(&ax, 0, sizeof(ax));
    memset(&ay, 0, sizeof(ay));
    ay.log = o.log_y;
    draw__axis_ticks(&ay, ylo, yhi, fix_ylo, fix_yhi, (py1 - py0) / (55.0 * sc), 0, 0);
    const int left = 6 * sc + (o.ylabel && *o.ylabel ? th + 8 * sc : 0) + draw__axis_label_width(&ay, sc) + 4 * sc + tick;
    const int px0 = left;
    int px1 = o.width - 16 * sc;
    for (int bump = 0; bump < 8; bump++) {
        draw__axis_ticks(&ax, xlo, xhi, fix_xlo, fix_xhi, (px1 - px0) / (90.0 * sc), bump, o.x_is_int);
        // labels must not touch: widest label + gap under the tick spacing
        const double span = ax.hi - ax.lo, spacing = span > 0 ? ax.step / span * (px1 - px0) : 0;
        if (spacing >= draw__axis_label_width(&ax, sc) + 12 * sc) break;
    }
    if (px1 - px0 < 8 || py1 - py0 < 8) return 0;   // too small to draw the inside; blank picture

    const double pw = px1 - px0, ph = py1 - py0;
    const double xspan = ax.hi - ax.lo, yspan = ay.hi - ay.lo;
#define DRAW__X(v) (px0 + ((v) - ax.lo) / xspan * pw)
#define DRAW__Y(v) (py1 - ((v) - ay.lo) / yspan * ph)

    // grid (minor first), frame, ticks and labels
    char buf[64];
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < ay.n_ticks; i++) {
            if (ay.labelled[i] != pass) continue;
            const int y = (int) floor(DRAW__Y(ay.ticks[i]) + 0.5);
            if (y <= py0 || y >= py1) continue;
            draw_fill_rect(im, px0 + 1, y, px1, y + 1, pass ? grid : minor_grid, 1);
        }
    for (int i = 0; i < ax.n_ticks; i++) {
        const int x = (int) floor(DRAW__X(ax.ticks[i]) + 0.5);
        if (x <= px0 || x >= px1) continue;
        draw_fill_rect(im, x, py0 + 1, x + 1, py1, grid, 1);
    }
    for (int i = 0; i < ay.n_ticks; i++) {
        if (!ay.labelled[i]) continue;
        const int y = (int) floor(DRAW__Y(ay.ticks[i]) + 0.5);
        if (y < py0 - 1 || y > py1 + 1) continue;
        draw_fill_rect(im, px0 - tick, y, px0, y + 1, frame, 1);
        draw__tick_label(&ay, i, buf, sizeof(buf));
        draw_text(im, px0 - tick - 4 * sc - draw_text_width(buf, sc), y - (7 * sc) / 2, buf, ink, NULL, sc);
    }
    for (int i = 0; i < ax.n_ticks; i++) {
        const int x = (int) floor(DRAW__X(ax.ticks[i]) + 0.5);
        if (x < px0 - 1 || x > px1 + 1) continue;
        draw_fill_rect(im, x, py1 + 1, x + 1, py1 + 1 + tick, frame, 1);
        draw__tick_label(&ax, i, buf, sizeof(buf));
        const int w = draw_text_width(buf, sc);
        int tx = x - w / 2;
        if (tx + w > o.width - 2) tx = o.width - 2 - w;
        if (tx < 2) tx = 2;
        draw_text(im, tx, py1 + 1 + tick + 4 * sc, buf, ink, NULL, sc);
    }
    draw_rect(im, (float) px0, (float) py0, (float) (px1 + 1), (float) (py1 + 1), frame, 1);
    if (o.title && *o.title) {
        const int w = draw_text_width(o.title, title_sc);
        int tx = (px0 + px1) / 2 - w / 2;
        if (tx + w > o.width - 4) tx = o.width - 4 - w;
        if (tx < 4) tx = 4;
        draw_text(im, tx, 5 * sc, o.title, ink, NULL, title_sc);
    }
    if (o.xlabel && *o.xlabel)
        draw_text(im, (px0 + px1) / 2 - draw_text_width(o.xlabel, sc) / 2, o.height - 6 * sc - th, o.xlabel, ink, NULL, sc);
    if (o.ylabel && *o.ylabel) {
        int yb = (py0 + py1) / 2 + draw_text_width(o.ylabel, sc) / 2;
        if (yb > o.height - 2) yb = o.height - 2;
        draw__text_up(im, 6 * sc, yb, o.ylabel, ink, sc);
    }
    if (n_valid == 0) {
        const char * msg = "no data";
        draw_text(im, (px0 + px1) / 2 - draw_text_width(msg, 2 * sc) / 2, (py0 + py1) / 2 - th, msg, grey, NULL, 2 * sc);
    }

    // the series, clipped to the frame (a line along it is drawn over it)
    const double lw = 2.0 * sc, dot = 5.0 * sc, big = 1e7;
    for (int k = 0; k < n_series; k++) {
        uint8_t c[3];
        draw_class_color(k, c);
        double x0 = 0, y0 = 0;
        int prev = 0;
        for (int64_t i = 0; i < s[k].n; i++) {
            double x, y;
            const int ok = draw__point_ok(&s[k], i, o.log_y, &x, &y);
            if (ok) {
                x = fmax(fmin(DRAW__X(x), big), -big);
                y = fmax(fmin(DRAW__Y(y), big), -big);
                if (prev) {
                    double seg[4] = { x0, y0, x, y };
                    if (draw_clip_segment(seg, px0, py0, px1, py1)) draw_line_aa(im, seg[0], seg[1], seg[2], seg[3], c, lw, 1);
                }
                double nx, ny;
                const int lone = !prev && !(i + 1 < s[k].n && draw__point_ok(&s[k], i + 1, o.log_y, &nx, &ny));
                if ((lone || s[k].n <= DRAW__DOTS_UPTO) && x >= px0 && x <= px1 && y >= py0 && y <= py1)
                    draw_line_aa(im, x, y, x, y, c, dot, 1);
                x0 = x;
                y0 = y;
            }
            prev = ok;
        }
    }

    // legend: named series, in the corner that hides the fewest points
    int n_named = 0, name_w = 0;
    for (int k = 0; k < n_series; k++)
        if (s[k].name && *s[k].name) {
            n_named++;
            const int w = draw_text_width(s[k].name, sc);
            if (w > name_w) name_w = w;
        }
    if (n_named > 0) {
        const int pad = 6 * sc, sample = 18 * sc, row = th + 5 * sc;
        const int lw_box = pad + sample + 5 * sc + name_w + pad, lh_box = pad + n_named * row - 5 * sc + pad;
        int best = 0;
        int64_t best_hidden = -1;
        for (int corner = 0; corner < 4; corner++) {   // top-right, top-left, bottom-right, bottom-left
            const int bx = corner % 2 == 0 ? px1 - 8 * sc - lw_box : px0 + 8 * sc;
            const int by = corner < 2 ? py0 + 8 * sc : py1 - 8 * sc - lh_box;
            int64_t hidden = 0;
            for (int k = 0; k < n_series; k++)
                for (int64_t i = 0; i < s[k].n; i++) {
                    double x, y;
                    if (!draw__point_ok(&s[k], i, o.log_y, &x, &y)) continue;
                    x = DRAW__X(x);
                    y = DRAW__Y(y);
                    hidden += x >= bx - 2 && x <= bx + lw_box + 2 && y >= by - 2 && y <= by + lh_box + 2;
                }
            if (best_hidden < 0 || hidden < best_hidden) { best_hidden = hidden; best = corner; }
        }
        const int bx = best % 2 == 0 ? px1 - 8 * sc - lw_box : px0 + 8 * sc;
        const int by = best < 2 ? py0 + 8 * sc : py1 - 8 * sc - lh_box;
        draw_fill_rect(im, bx, by, bx + lw_box, by + lh_box, white, 0.9f);
        draw_rect(im, (float) bx, (float) by, (float) (bx + lw_box), (float) (by + lh_box), legend_edge, 1);
        int r = 0;
        for (int k = 0; k < n_series; k++) {
            if (!s[k].name || !*s[k].name) continue;
            uint8_t c[3];
            draw_class_color(k, c);
            const int ty = by + pad + r * row;
            const double ly = ty + (7 * sc) / 2 + 0.5;
            draw_line_aa(im, bx + pad, ly, bx + pad + sample, ly, c, lw, 1);
            draw_text(im, bx + pad + sample + 5 * sc, ty, s[k].name, ink, NULL, sc);
            r++;
        }
    }
#undef DRAW__X
#undef DRAW__Y
    return 0;
}

int plot_png(const char * path, const struct plot_opts * o, int n_series, const struct plot_series * s,
             char * err, size_t err_size) {
    struct plot_opts d;
    if (!o) { plot_opts_default(&d); o = &d; }
    char msg[200];
    if (draw__plot_check(o, n_series, s, msg, sizeof(msg))) {
        if (err && err_size) snprintf(err, err_size, "%s: %s", path ? path : "plot", msg);
        return -1;
    }
    struct image im;
    if (plot_draw(&im, o, n_series, s)) {
        if (err && err_size) snprintf(err, err_size, "%s: out of memory drawing the plot", path ? path : "plot");
        return -1;
    }
    const int rc = draw_write_png(path, &im, err, err_size);
    free(im.rgb);
    return rc;
}

int plot_png_grid(const char * path, int n_plots, int cols, const struct plot_opts * o, const int * n_series,
                  const struct plot_series * const * s, char * err, size_t err_size) {
    const char * p = path ? path : "plot";
    if (n_plots <= 0 || !o || !n_series || !s) {
        if (err && err_size) snprintf(err, err_size, "%s: %d plots given, or their arrays are missing", p, n_plots);
        return -1;
    }
    struct image * tiles = (struct image *) calloc((size_t) n_plots, sizeof(struct image));
    if (!tiles) { if (err && err_size) snprintf(err, err_size, "%s: out of memory", p); return -1; }
    int rc = 0;
    for (int i = 0; i < n_plots && rc == 0; i++) {
        char msg[256];
        if (draw__plot_check(&o[i], n_series[i], s[i], msg, sizeof(msg))) {
            if (err && err_size) snprintf(err, err_size, "%s: plot %d (%s): %s", p, i, o[i].title ? o[i].title : "untitled", msg);
            rc = -1;
        } else if (plot_draw(&tiles[i], &o[i], n_series[i], s[i])) {
            if (err && err_size) snprintf(err, err_size, "%s: out of memory drawing plot %d", p, i);
            rc = -1;
        }
    }
    struct image all = { 0, 0, NULL };
    if (rc == 0 && draw_grid(tiles, n_plots, cols, 0, &all)) {
        if (err && err_size) snprintf(err, err_size, "%s: out of memory, or %d plots too large together", p, n_plots);
        rc = -1;
    }
    if (rc == 0) rc = draw_write_png(path, &all, err, err_size);
    free(all.rgb);
    for (int i = 0; i < n_plots; i++) free(tiles[i].rgb);
    free(tiles);
    return rc;
}
