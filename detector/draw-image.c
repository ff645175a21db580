// draw-image.c - rectangles, lines, text, detections, tiles and PNG files on a struct image; the
// rules are in draw-image.h. Needs draw-font.c and (for draw_write_png) stb_image_write's
// implementation in the same program.
#include "draw-image.h"
#include "draw-font.h"

#include <stb/stb_image_write.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int draw__valid(const struct image * im) {
    return im && im->rgb && im->w > 0 && im->h > 0;
}

// v rounded to the nearest integer and clamped to [lo, hi] (v finite)
static int draw__round_clamp(double v, int lo, int hi) {
    v = floor(v + 0.5);
    if (v < lo) return lo;
    if (v > hi) return hi;
    return (int) v;
}

static void draw__blend(uint8_t * p, const uint8_t rgb[3], double a) {
    for (int k = 0; k < 3; k++) p[k] = (uint8_t) (p[k] + (rgb[k] - p[k]) * a + 0.5);   // >= 0: truncation rounds
}

void draw_class_color(int cls, uint8_t rgb[3]) {
    static const uint8_t palette[16][3] = {
        { 230,  57,  70 }, {  29, 120, 220 }, {  46, 170,  80 }, { 245, 160,  30 },
        { 150,  80, 200 }, {  20, 180, 190 }, { 240, 100, 180 }, { 140, 100,  50 },
        { 160, 200,  40 }, {  90,  90, 230 }, { 250, 210,  50 }, {   0, 130, 120 },
        { 200,  40, 130 }, { 110, 160, 230 }, { 220, 110,  80 }, {  90, 140,  60 },
    };
    if (cls < 0) { rgb[0] = rgb[1] = rgb[2] = 128; return; }
    if (cls < 16) { memcpy(rgb, palette[cls], 3); return; }
    // golden-ratio steps around the hue circle, saturation 0.75, value 0.9
    double h = fmod(cls * 0.6180339887498949, 1.0) * 6.0, v = 0.9, s = 0.75;
    int i = (int) h;
    double f = h - i, p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    double r, g, b;
    switch (i % 6) {
    case 0:  r = v; g = t; b = p; break;
    case 1:  r = q; g = v; b = p; break;
    case 2:  r = p; g = v; b = t; break;
    case 3:  r = p; g = q; b = v; break;
    case 4:  r = t; g = p; b = v; break;
    default: r = v; g = p; b = q; break;
    }
    rgb[0] = (uint8_t) (r * 255 + 0.5); rgb[1] = (uint8_t) (g * 255 + 0.5); rgb[2] = (uint8_t) (b * 255 + 0.5);
}

void draw_fill_rect(struct image * im, int x1, int y1, int x2, int y2, const uint8_t rgb[3], float alpha) {
    if (!draw__valid(im) || !rgb || !(alpha > 0)) return;
    if (x1 > x2) { int t = x1; x1 = x2; x2 = t; }
    if (y1 > y2) { int t = y1; y1 = y2; y2 = t; }
    if (x1 < 0) x1 = 0;
    if (y1 < 0) y1 = 0;
    if (x2 > im->w) x2 = im->w;
    if (y2 > im->h) y2 = im->h;
    for (int y = y1; y < y2; y++) {
        uint8_t * p = im->rgb + ((size_t) y * (size_t) im->w + (size_t) x1) * 3;
        for (int x = x1; x < x2; x++, p += 3) {
            if (alpha >= 1) memcpy(p, rgb, 3);
            else draw__blend(p, rgb, alpha);
        }
    }
}

void draw_rect(struct image * im, float x1, float y1, float x2, float y2, const uint8_t rgb[3], int thickness) {
    if (!draw__valid(im) || !rgb || !isfinite(x1) || !isfinite(y1) || !isfinite(x2) || !isfinite(y2)) return;
    if (x1 > x2) { float t = x1; x1 = x2; x2 = t; }
    if (y1 > y2) { float t = y1; y1 = y2; y2 = t; }
    // clamped a line's width outside the image, so that edges beyond it stay beyond it
    const int t = thickness < 1 ? 1 : thickness > 100000 ? 100000 : thickness;
    const int X1 = draw__round_clamp(x1, -t - 1, im->w + t + 1), X2 = draw__round_clamp(x2, -t - 1, im->w + t + 1);
    const int Y1 = draw__round_clamp(y1, -t - 1, im->h + t + 1), Y2 = draw__round_clamp(y2, -t - 1, im->h + t + 1);
    const int xe = X2 > X1 ? X2 : X1 + 1, ye = Y2 > Y1 ? Y2 : Y1 + 1;   // at least one pixel
    draw_fill_rect(im, X1, Y1, xe, Y1 + t < ye ? Y1 + t : ye, rgb, 1);    // top
    draw_fill_rect(im, X1, ye - t > Y1 ? ye - t : Y1, xe, ye, rgb, 1);    // bottom
    draw_fill_rect(im, X1, Y1, X1 + t < xe ? X1 + t : xe, ye, rgb, 1);    // left
    draw_fill_rect(im, xe - t > X1 ? xe - t : X1, Y1, xe, ye, rgb, 1);    // right
}

int draw_clip_segment(double seg[4], double x_min, double y_min, double x_max, double y_max) {
    for (int k = 0; k < 4; k++) if (!isfinite(seg[k])) return 0;
    const double dx = seg[2] - seg[0], dy = seg[3] - seg[1];
    if (!isfinite(dx) || !isfinite(dy)) return 0;
    const double p[4] = { -dx, dx, -dy, dy };
    const double q[4] = { seg[0] - x_min, x_max - seg[0], seg[1] - y_min, y_max - seg[1] };
    double t0 = 0, t1 = 1;
    for (int k = 0; k < 4; k++) {
        if (p[k] == 0) {
            if (q[k] < 0) return 0;          // parallel to this edge and outside it
            continue;
        }
        const double r = q[k] / p[k];
        if (p[k] < 0) { if (r > t1) return 0; if (r > t0) t0 = r; }
        else          { if (r < t0) return 0; if (r < t1) t1 = r; }
    }
    const double x0 = seg[0], y0 = seg[1];
    seg[0] = x0 + t0 * dx; seg[1] = y0 + t0 * dy;
    seg[2] = x0 + t1 * dx; seg[3] = y0 + t1 * dy;
    return 1;
}

void draw_line_aa(struct image * im, double x0, double y0, double x1, double y1, const uint8_t rgb[3],
                  double width, double alpha) {
    if (!draw__valid(im) || !rgb || !(alpha > 0) || !isfinite(width)) return;
    if (alpha > 1) alpha = 1;
    const double half = (width < 1 ? 1 : width) / 2, margin = half + 2;
    double seg[4] = { x0, y0, x1, y1 };
    if (!draw_clip_segment(seg, -margin, -margin, im->w + margin, im->h + margin)) return;
    const double dx = seg[2] - seg[0], dy = seg[3] - seg[1], len2 = dx * dx + dy * dy;
    const int xa = draw__round_clamp(fmin(seg[0], seg[2]) - half - 1, 0, im->w);
    const int xb = draw__round_clamp(fmax(seg[0], seg[2]) + half + 1, 0, im->w);
    const int ya = draw__round_clamp(fmin(seg[1], seg[3]) - half - 1, 0, im->h);
    const int yb = draw__round_clamp(fmax(seg[1], seg[3]) + half + 1, 0, im->h);
    for (int y = ya; y < yb; y++) {
        for (int x = xa; x < xb; x++) {
            // distance from the pixel centre to the segment; coverage falls off over one pixel
            const double px = x + 0.5 - seg[0], py = y + 0.5 - seg[1];
            double t = len2 > 0 ? (px * dx + py * dy) / len2 : 0;
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            const double ex = px - t * dx, ey = py - t * dy, d = sqrt(ex * ex + ey * ey);
            double cov = half + 0.5 - d;
            if (cov <= 0) continue;
            if (cov > 1) cov = 1;
            draw__blend(im->rgb + ((size_t) y * (size_t) im->w + (size_t) x) * 3, rgb, cov * alpha);
        }
    }
}

void draw_line(struct image * im, float x0, float y0, float x1, float y1, const uint8_t rgb[3], int thickness) {
    draw_line_aa(im, x0, y0, x1, y1, rgb, thickness < 1 ? 1 : thickness, 1);
}

static int draw__scale(int scale) {
    return scale < 1 ? 1 : scale > 256 ? 256 : scale;
}

int draw_text_width(const char * s, int scale) {
    scale = draw__scale(scale);
    const size_t n = s ? strlen(s) : 0;
    if (n == 0) return 0;
    const double w = (double) n * DRAW_FONT_ADVANCE * scale - scale;
    return w > INT_MAX ? INT_MAX : (int) w;
}

int draw_text_height(int scale) {
    return DRAW_FONT_H * draw__scale(scale);
}

int draw_label_scale(int w, int h) {
    const int m = w < h ? w : h;
    return 1 + (m > 0 ? m : 0) / 600;
}

int draw_text(struct image * im, int x, int y, const char * s, const uint8_t fg[3], const uint8_t * bg, int scale) {
    scale = draw__scale(scale);
    const int width = draw_text_width(s, scale), height = draw_text_height(scale);
    if (!draw__valid(im) || !fg || width == 0) return width;
    // in long long: x + width may pass INT_MAX
    const long long x_end = (long long) x + width, y_end = (long long) y + height;
    if (x_end <= 0 || y_end <= 0 || x >= im->w || y >= im->h) return width;
    if (bg) draw_fill_rect(im, x, y, (int) (x_end < im->w ? x_end : im->w), (int) (y_end < im->h ? y_end : im->h), bg, 1);
    long long pen = x;
    for (const unsigned char * c = (const unsigned char *) s; *c && pen < im->w; c++, pen += (long long) DRAW_FONT_ADVANCE * scale) {
        if (pen + (long long) DRAW_FONT_W * scale <= 0) continue;
        for (int gy = 0; gy < DRAW_FONT_H; gy++)
            for (int gx = 0; gx < DRAW_FONT_W; gx++)
                if (draw_font_pixel(*c, gx, gy)) {
                    const int px = (int) (pen + (long long) gx * scale), py = y + gy * scale;
                    draw_fill_rect(im, px, py, px + scale, py + scale, fg, 1);
                }
    }
    return width;
}

static int draw__box_ok(const struct image * im, const float * box) {
    if (!draw__valid(im) || !box) return 0;
    for (int k = 0; k < 4; k++) if (!isfinite(box[k])) return 0;
    return 1;
}

static void draw__det_box(struct image * im, const float box[4], int cls) {
    uint8_t c[3];
    draw_class_color(cls, c);
    const int m = im->w < im->h ? im->w : im->h, thick = m / 300 > 2 ? m / 300 : 2;
    draw_rect(im, box[0], box[1], box[2], box[3], c, thick);
}

static void draw__det_label(struct image * im, const float box[4], int cls, const char * label) {
    if (!label || !*label) return;
    uint8_t c[3];
    draw_class_color(cls, c);
    const int s = draw_label_scale(im->w, im->h), pad_x = 2 * s, pad_y = s;
    const int tab_w = draw_text_width(label, s) + 2 * pad_x, tab_h = draw_text_height(s) + 2 * pad_y;
    const float bx = fminf(box[0], box[2]), by = fminf(box[1], box[3]);
    int x = draw__round_clamp(bx, -1, im->w + 1), y = draw__round_clamp(by, -1, im->h + 1) - tab_h;
    if (y < 0) y = draw__round_clamp(by, -1, im->h + 1);     // no room above: just inside the box
    if (x > im->w - tab_w) x = im->w - tab_w;
    if (y > im->h - tab_h) y = im->h - tab_h;
    if (x < 0) x = 0;
    if (y < 0) y = 0;
    // black or white text, whichever contrasts more with the tab (Rec. 601 luma)
    const double luma = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
    static const uint8_t black[3] = { 0, 0, 0 }, white[3] = { 255, 255, 255 };
    draw_fill_rect(im, x, y, x + tab_w, y + tab_h, c, 1);
    draw_text(im, x + pad_x, y + pad_y, label, luma > 140 ? black : white, NULL, s);
}

void draw_detection(struct image * im, const float box[4], int cls, const char * label) {
    if (!draw__box_ok(im, box)) return;
    draw__det_box(im, box, cls);
    draw__det_label(im, box, cls, label);
}

void draw_detections(struct image * im, int n, const float * boxes, const int * cls, const char * const * labels) {
    if (!draw__valid(im) || !boxes || n <= 0) return;
    for (int i = n - 1; i >= 0; i--)
        if (draw__box_ok(im, boxes + 4 * (size_t) i)) draw__det_box(im, boxes + 4 * (size_t) i, cls ? cls[i] : 0);
    for (int i = n - 1; labels && i >= 0; i--)
        if (draw__box_ok(im, boxes + 4 * (size_t) i)) draw__det_label(im, boxes + 4 * (size_t) i, cls ? cls[i] : 0, labels[i]);
}

struct draw__png_out {
    FILE * f;
    int failed;
};

static void draw__png_write(void * ctx, void * data, int size) {
    struct draw__png_out * o = (struct draw__png_out *) ctx;
    if (!o->failed && size > 0 && fwrite(data, 1, (size_t) size, o->f) != (size_t) size) o->failed = 1;
}

int draw_write_png(const char * path, const struct image * im, char * err, size_t err_size) {
    if (!path || !*path) { if (err && err_size) snprintf(err, err_size, "draw_write_png: no path given"); return -1; }
    if (!draw__valid(im)) {
        if (err && err_size) snprintf(err, err_size, "%s: nothing to write (an image without pixels)", path);
        return -1;
    }
    if ((double) im->w * im->h * 3 > INT_MAX) {
        if (err && err_size) snprintf(err, err_size, "%s: image of %d x %d pixels is too large for PNG writing", path, im->w, im->h);
        return -1;
    }
    const size_t len = strlen(path);
    char * tmp = (char *) malloc(len + 5);
    if (!tmp) { if (err && err_size) snprintf(err, err_size, "%s: out of memory", path); return -1; }
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp", 5);
    FILE * f = fopen(tmp, "wb");
    if (!f) {
        if (err && err_size) snprintf(err, err_size, "%s: cannot create %s: %s (does the folder exist and is it writable?)", path, tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    struct draw__png_out o = { f, 0 };
    const int ok = stbi_write_png_to_func(draw__png_write, &o, im->w, im->h, 3, im->rgb, im->w * 3);
    const int write_errno = errno;
    if (fclose(f) != 0) o.failed = 1;
    if (!ok || o.failed) {
        if (err && err_size) snprintf(err, err_size, "%s: write failed: %s", path, ok ? strerror(write_errno) : "out of memory while compressing");
        remove(tmp);
        free(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        if (err && err_size) snprintf(err, err_size, "%s: cannot rename %s over it: %s", path, tmp, strerror(errno));
        remove(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

int draw_grid(const struct image * tiles, int n, int cols, int pad, struct image * out) {
    if (!out) return -1;
    out->w = out->h = 0;
    out->rgb = NULL;
    if (!tiles || n <= 0) return -1;
    int cw = 0, ch = 0;
    for (int i = 0; i < n; i++) {
        if (!draw__valid(&tiles[i])) return -1;
        if (tiles[i].w > cw) cw = tiles[i].w;
        if (tiles[i].h > ch) ch = tiles[i].h;
    }
    if (cols <= 0) { cols = (int) ceil(sqrt((double) n)); if (cols < 1) cols = 1; }
    if (cols > n) cols = n;
    if (pad < 0) pad = 0;
    const int rows = (n + cols - 1) / cols;
    const double W = (double) cols * (cw + pad) + pad, H = (double) rows * (ch + pad) + pad;
    if (W * H * 3 > INT_MAX) return -1;
    out->rgb = (uint8_t *) malloc((size_t) (W * H * 3));
    if (!out->rgb) return -1;
    out->w = (int) W;
    out->h = (int) H;
    memset(out->rgb, 255, (size_t) (W * H * 3));
    for (int i = 0; i < n; i++) {
        const int x0 = pad + (i % cols) * (cw + pad), y0 = pad + (i / cols) * (ch + pad);
        for (int y = 0; y < tiles[i].h; y++)
            memcpy(out->rgb + ((size_t) (y0 + y) * (size_t) out->w + (size_t) x0) * 3,
                   tiles[i].rgb + (size_t) y * (size_t) tiles[i].w * 3, (size_t) tiles[i].w * 3);
    }
    return 0;
}
