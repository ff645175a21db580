// detector/draw-font, draw-image and draw-plot: the font (every printable glyph has ink, no two
// are alike), text boxes as measured, rectangles, lines and labels clipped at and beyond the
// edges (guard bytes after the pixels, and ASan with SANITIZE=1), tiles, plots of degenerate
// series, PNG files read back with stb_image, and failed writes that leave nothing behind.
// With DRAW_SAMPLE_DIR=folder it also writes sample pictures there to look at.
//
// This test holds stb's implementations itself (the detector's programs get them from
// detector/data-stb.c).
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#undef STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>
#undef STB_IMAGE_IMPLEMENTATION
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#include "../detector/draw-font.c"
#include "../detector/draw-image.c"
#include "../detector/draw-plot.c"
#include "one-line.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int n_checks, n_fail;

static void check(const char * what, int ok) {
    n_checks++;
    if (!ok) { n_fail++; printf("FAIL %s\n", what); }
}

#define GUARD 64

// a w x h image with GUARD guard bytes after its pixels, filled with v
static struct image new_image(int w, int h, uint8_t v) {
    struct image im = { w, h, (uint8_t *) malloc((size_t) w * h * 3 + GUARD) };
    if (!im.rgb) { printf("out of memory\n"); exit(1); }
    memset(im.rgb, v, (size_t) w * h * 3);
    memset(im.rgb + (size_t) w * h * 3, 0xA5, GUARD);
    return im;
}

static int guard_ok(const struct image * im) {
    const uint8_t * g = im->rgb + (size_t) im->w * im->h * 3;
    for (int i = 0; i < GUARD; i++) if (g[i] != 0xA5) return 0;
    return 1;
}

static const uint8_t * px(const struct image * im, int x, int y) {
    return im->rgb + ((size_t) y * im->w + x) * 3;
}

static int is_color(const struct image * im, int x, int y, const uint8_t c[3]) {
    return memcmp(px(im, x, y), c, 3) == 0;
}

// pixels not equal to the background v, and their bounding box
static long count_ink(const struct image * im, uint8_t v, int box[4]) {
    long n = 0;
    box[0] = box[1] = 1 << 30;
    box[2] = box[3] = -1;
    for (int y = 0; y < im->h; y++)
        for (int x = 0; x < im->w; x++) {
            const uint8_t * p = px(im, x, y);
            if (p[0] == v && p[1] == v && p[2] == v) continue;
            n++;
            if (x < box[0]) box[0] = x;
            if (y < box[1]) box[1] = y;
            if (x > box[2]) box[2] = x;
            if (y > box[3]) box[3] = y;
        }
    return n;
}

static void test_font(void) {
    uint64_t bits[DRAW_FONT_LAST + 1] = { 0 };
    int all_ink = 1, distinct = 1, space_blank = 1;
    for (int c = DRAW_FONT_FIRST; c <= DRAW_FONT_LAST; c++) {
        for (int y = 0; y < DRAW_FONT_H; y++)
            for (int x = 0; x < DRAW_FONT_W; x++)
                if (draw_font_pixel(c, x, y)) bits[c] |= (uint64_t) 1 << (y * DRAW_FONT_W + x);
        if (c == ' ') space_blank = bits[c] == 0;
        else if (bits[c] == 0) { all_ink = 0; printf("glyph '%c' is blank\n", c); }
        for (int d = DRAW_FONT_FIRST; d < c; d++)
            if (bits[d] == bits[c]) { distinct = 0; printf("glyphs '%c' and '%c' are the same\n", d, c); }
    }
    check("font: every glyph but space has ink", all_ink);
    check("font: space is blank", space_blank);
    check("font: the 95 glyphs are pairwise distinct", distinct);
    int q_same = 1;
    for (int y = 0; y < DRAW_FONT_H; y++)
        for (int x = 0; x < DRAW_FONT_W; x++)
            q_same &= draw_font_pixel(7, x, y) == draw_font_pixel('?', x, y) && draw_font_pixel(200, x, y) == draw_font_pixel('?', x, y);
    check("font: characters outside 32..126 are drawn as '?'", q_same);
    check("font: pixels outside the glyph are blank", !draw_font_pixel('M', -1, 0) && !draw_font_pixel('M', 5, 0) && !draw_font_pixel('M', 0, 9));
}

static void test_text(void) {
    static const uint8_t fg[3] = { 10, 20, 30 }, bg[3] = { 200, 100, 50 };
    check("text width: empty and NULL are 0", draw_text_width("", 2) == 0 && draw_text_width(NULL, 2) == 0);
    check("text width: 6 per glyph less the last gap", draw_text_width("abc", 1) == 17 && draw_text_width("abc", 3) == 51);
    check("text height: 9 per scale", draw_text_height(1) == 9 && draw_text_height(4) == 36 && draw_text_height(0) == 9);
    for (int scale = 1; scale <= 3; scale++) {
        // "Mg": M fills the first glyph's columns and the rows above the baseline, g the descender
        struct image im = new_image(80, 40, 255);
        int box[4];
        const int w = draw_text(&im, 7, 5, "Mg|", fg, NULL, scale);
        count_ink(&im, 255, box);
        char what[96];
        snprintf(what, sizeof(what), "text at scale %d: ink box is the measured text box", scale);
        check(what, w == draw_text_width("Mg|", scale) && box[0] == 7 && box[1] == 5 &&
              box[2] == 7 + w - 1 - (scale * 2) && box[3] == 5 + draw_text_height(scale) - 1);
        // with a background the whole box is painted and nothing outside it
        memset(im.rgb, 255, (size_t) im.w * im.h * 3);
        draw_text(&im, 7, 5, "Mg|", fg, bg, scale);
        const long n = count_ink(&im, 255, box);
        snprintf(what, sizeof(what), "text at scale %d with background: exactly the text box", scale);
        check(what, n == (long) w * draw_text_height(scale) && box[0] == 7 && box[1] == 5 && box[2] == 7 + w - 1 &&
              box[3] == 5 + draw_text_height(scale) - 1);
        check("text: guard bytes intact", guard_ok(&im));
        free(im.rgb);
    }
    // clipped at every edge and far beyond them
    struct image im = new_image(23, 11, 0);
    const int xs[] = { -1000000, -40, -3, 0, 5, 20, 22, 23, 1000000, 2147483000 };
    for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++)
        for (size_t j = 0; j < sizeof(xs) / sizeof(xs[0]); j++)
            draw_text(&im, xs[i], xs[j] / 2, "Clip me! gjpqy", fg, bg, 1 + (int) (i % 3));
    draw_text(&im, 2, 2, "x", fg, bg, 1000000);
    check("text: clipped at and beyond the edges", guard_ok(&im));
    free(im.rgb);
}

static void test_rects(void) {
    static const uint8_t c[3] = { 255, 0, 0 };
    struct image im = new_image(17, 13, 0);
    int box[4];
    draw_rect(&im, 0, 0, 17, 13, c, 1);
    check("rect: the whole image's outline is its border", count_ink(&im, 0, box) == 2 * 17 + 2 * 11 &&
          is_color(&im, 0, 0, c) && is_color(&im, 16, 12, c) && !is_color(&im, 1, 1, c));
    memset(im.rgb, 0, (size_t) 17 * 13 * 3);
    draw_rect(&im, -5, -5, 22, 18, c, 2);
    check("rect: edges beyond the image draw nothing", count_ink(&im, 0, box) == 0);
    draw_rect(&im, 12.6f, 9.4f, 3.2f, 2.5f, c, 1);   // corners swapped: columns 3..12, rows 3..8
    count_ink(&im, 0, box);
    check("rect: swapped corners, rounded edges", box[0] == 3 && box[1] == 3 && box[2] == 12 && box[3] == 8);
    memset(im.rgb, 0, (size_t) 17 * 13 * 3);
    draw_rect(&im, 2, 2, 6, 5, c, 10);
    check("rect: thicker than the box fills it", count_ink(&im, 0, box) == 4 * 3);
    memset(im.rgb, 0, (size_t) 17 * 13 * 3);
    draw_rect(&im, 4, 4, 4, 4, c, 1);
    check("rect: an empty box is one pixel", count_ink(&im, 0, box) == 1 && is_color(&im, 4, 4, c));

    // fill: the clipped area exactly, for rectangles anywhere
    uint32_t seed = 12345;
    int fill_ok = 1;
    for (int k = 0; k < 2000; k++) {
        int v[4];
        for (int j = 0; j < 4; j++) { seed = seed * 1664525u + 1013904223u; v[j] = (int) (seed >> 16) % 60 - 20; }
        memset(im.rgb, 0, (size_t) 17 * 13 * 3);
        draw_fill_rect(&im, v[0], v[1], v[2], v[3], c, 1);
        int xa = v[0] < v[2] ? v[0] : v[2], xb = v[0] < v[2] ? v[2] : v[0];
        int ya = v[1] < v[3] ? v[1] : v[3], yb = v[1] < v[3] ? v[3] : v[1];
        xa = xa < 0 ? 0 : xa; ya = ya < 0 ? 0 : ya; xb = xb > 17 ? 17 : xb; yb = yb > 13 ? 13 : yb;
        const long want = (xb > xa && yb > ya) ? (long) (xb - xa) * (yb - ya) : 0;
        if (count_ink(&im, 0, box) != want) fill_ok = 0;
    }
    check("fill: exactly the clipped area (2000 random rectangles)", fill_ok);
    memset(im.rgb, 100, (size_t) 17 * 13 * 3);
    static const uint8_t w[3] = { 200, 200, 200 };
    draw_fill_rect(&im, 0, 0, 1, 1, w, 0.5f);
    draw_fill_rect(&im, 1, 0, 2, 1, w, 0);
    draw_fill_rect(&im, 2, 0, 3, 1, w, NAN);
    check("fill: alpha blends, 0 and NaN draw nothing", px(&im, 0, 0)[0] == 150 && px(&im, 1, 0)[0] == 100 && px(&im, 2, 0)[0] == 100);

    // far outside, non-finite, huge thickness: nothing written out of bounds
    const float fs[] = { -1e30f, -1e9f, -100, -1, -0.4f, 0, 0.5f, 8, 12.7f, 13, 17, 17.6f, 1e9f, 3e38f, INFINITY, -INFINITY, NAN };
    const int nf = (int) (sizeof(fs) / sizeof(fs[0]));
    for (int a = 0; a < nf; a++)
        for (int b = 0; b < nf; b++) {
            draw_rect(&im, fs[a], fs[b], fs[(a + 3) % nf], fs[(b + 5) % nf], c, 1 + (a + b) % 4);
            draw_rect(&im, fs[a], fs[b], fs[(a * 7) % nf], fs[(b * 3) % nf], c, 1000000);
            draw_line(&im, fs[a], fs[b], fs[(a + 3) % nf], fs[(b + 5) % nf], c, 1 + (a + b) % 5);
            draw_fill_rect(&im, (int) fmaxf(fminf(fs[a], 1e9f), -1e9f), -2147483647 - 1, 2147483647, (int) fmaxf(fminf(fs[b], 1e9f), -1e9f), c, 0.5f);
        }
    draw_line(&im, -1e30f, 6, 1e30f, 6, c, 1000000);
    draw_rect(NULL, 0, 0, 1, 1, c, 1);
    draw_fill_rect(NULL, 0, 0, 1, 1, c, 1);
    draw_line(NULL, 0, 0, 1, 1, c, 1);
    check("rect, fill, line: clipped at and far beyond the edges", guard_ok(&im));

    // a horizontal line of width 1 through pixel centres covers exactly its row
    memset(im.rgb, 0, (size_t) 17 * 13 * 3);
    draw_line(&im, -50, 6.5f, 50, 6.5f, c, 1);
    count_ink(&im, 0, box);
    check("line: horizontal, width 1, one full row", box[0] == 0 && box[2] == 16 && box[1] == 6 && box[3] == 6 &&
          is_color(&im, 0, 6, c) && is_color(&im, 16, 6, c));
    double seg[4] = { -10, -10, 30, 30 };
    check("clip segment: diagonal to the box", draw_clip_segment(seg, 0, 0, 10, 10) && seg[0] == 0 && seg[1] == 0 && seg[2] == 10 && seg[3] == 10);
    double seg2[4] = { -10, 20, 30, 20 }, seg3[4] = { NAN, 0, 1, 1 };
    check("clip segment: outside and NaN give nothing", !draw_clip_segment(seg2, 0, 0, 10, 10) && !draw_clip_segment(seg3, 0, 0, 10, 10));
    free(im.rgb);
}

static void test_colors(void) {
    int distinct = 1;
    uint8_t a[3], b[3];
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < i; j++) {
            draw_class_color(i, a);
            draw_class_color(j, b);
            const int d = abs(a[0] - b[0]) + abs(a[1] - b[1]) + abs(a[2] - b[2]);
            if (d < 60) { distinct = 0; printf("classes %d and %d look alike\n", i, j); }
        }
    check("class colours: the first 16 far apart", distinct);
    draw_class_color(-1, a);
    draw_class_color(1000, b);
    check("class colours: grey below 0, any index works", a[0] == 128 && a[1] == 128 && a[2] == 128 && (b[0] | b[1] | b[2]));
}

static void test_detection(void) {
    const int W = 120, H = 90;
    struct image im = new_image(W, H, 0);
    uint8_t c[3];
    draw_class_color(3, c);
    // in the middle: box outline and a tab above it, with text in it
    const float mid[4] = { 40, 50, 100, 80 };
    draw_detection(&im, mid, 3, "cat 0.93");
    const int tab_h = draw_text_height(1) + 2;
    int tab_ok = is_color(&im, 40, 50 - tab_h, c) && is_color(&im, 40, 49, c) && !is_color(&im, 40, 50 - tab_h - 1, c) &&
                 is_color(&im, 41, 51, c) && !is_color(&im, 45, 60, c);
    int text_in_tab = 0;
    for (int y = 50 - tab_h; y < 50; y++)
        for (int x = 40; x < 40 + draw_text_width("cat 0.93", 1) + 4; x++) text_in_tab += !is_color(&im, x, y, c);
    check("detection: box in the class colour, tab above it", tab_ok);
    check("detection: label text on the tab", text_in_tab > 20);
    // at the top edge: the tab goes inside the box
    memset(im.rgb, 0, (size_t) W * H * 3);
    const float top[4] = { 10, 0, 60, 40 };
    draw_detection(&im, top, 3, "cat 0.93");
    check("detection: at the top edge the tab is inside", is_color(&im, 10, 0, c) && is_color(&im, 12, tab_h - 1, c) && !is_color(&im, 20, tab_h + 5, c));
    // corners, partly and wholly outside, long labels, non-finite boxes
    const float boxes[][4] = {
        { -30, -30, 20, 20 }, { 100, -10, 150, 30 }, { -20, 70, 30, 120 }, { 90, 60, 200, 200 }, { 0, 0, 120, 90 },
        { -500, -500, -400, -400 }, { 500, 500, 600, 600 }, { 119, 89, 120, 90 }, { 60, 45, 60, 45 },
        { NAN, 0, 10, 10 }, { 0, 0, INFINITY, 10 }, { -3e38f, -3e38f, 3e38f, 3e38f },
    };
    for (size_t i = 0; i < sizeof(boxes) / sizeof(boxes[0]); i++) {
        draw_detection(&im, boxes[i], (int) i, "a very long label that is wider than the whole picture 0.99");
        draw_detection(&im, boxes[i], (int) i - 1, "dog 0.5");
        draw_detection(&im, boxes[i], 40, NULL);
    }
    check("detection: at the corners and beyond, clipped", guard_ok(&im));
    // the tab stays inside the image at the bottom-right corner
    memset(im.rgb, 0, (size_t) W * H * 3);
    const float br[4] = { 110, 85, 130, 95 };
    draw_detection(&im, br, 3, "cat");
    const int tw = draw_text_width("cat", 1) + 4;
    check("detection: tab kept inside at the bottom-right corner", is_color(&im, W - tw, 85 - tab_h, c) && is_color(&im, W - 1, 85 - tab_h, c));
    free(im.rgb);

    // several: no box crosses a label, the first label is on top
    struct image two = new_image(W, H, 0);
    const float ab[8] = { 20, 30, 80, 70,   25, 10, 60, 50 };
    const int ac[2] = { 0, 1 };
    const char * al[2] = { "aaaa", "bbbb" };
    uint8_t c1[3];
    draw_class_color(1, c1);
    draw_detections(&two, 2, ab, ac, al);
    int crossed = 0;
    for (int y = 30 - tab_h; y < 30; y++) crossed += is_color(&two, 25, y, c1) || is_color(&two, 26, y, c1);
    check("detections: the second box does not cross the first label", crossed == 0 && is_color(&two, 25, 45, c1));
    draw_detections(&two, 2, ab, NULL, NULL);
    draw_detections(&two, -1, ab, NULL, NULL);
    draw_detections(&two, 2, NULL, ac, al);
    check("detections: NULL classes and labels, clipped", guard_ok(&two));
    free(two.rgb);

    // a 1200 x 700 picture gets labels at scale 2
    check("label scale: 1 below 600, 2 from 600", draw_label_scale(640, 480) == 1 && draw_label_scale(1200, 700) == 2 && draw_label_scale(2000, 1300) == 3);
}

static void test_grid(void) {
    struct image t[3] = { new_image(4, 3, 10), new_image(2, 5, 20), new_image(3, 3, 30) };
    struct image out;
    check("grid: made", draw_grid(t, 3, 2, 1, &out) == 0);
    // cells 4 x 5, 2 columns, 2 rows, pad 1: 1 + 2 * 5 wide, 1 + 2 * 6 high
    check("grid: size", out.w == 11 && out.h == 13);
    static const uint8_t white[3] = { 255, 255, 255 };
    check("grid: tiles in place, pad white", px(&out, 1, 1)[0] == 10 && px(&out, 4, 3)[0] == 10 && px(&out, 6, 1)[0] == 20 &&
          px(&out, 7, 5)[0] == 20 && px(&out, 1, 7)[0] == 30 && is_color(&out, 0, 0, white) && is_color(&out, 5, 1, white) &&
          is_color(&out, 8, 1, white) && is_color(&out, 1, 10, white));
    free(out.rgb);
    check("grid: cols <= 0 is about square", draw_grid(t, 3, 0, 0, &out) == 0 && out.w == 8 && out.h == 10);
    free(out.rgb);
    struct image bad[2] = { t[0], { 0, 0, NULL } };
    check("grid: no tiles, or a tile without pixels, fails", draw_grid(t, 0, 1, 0, &out) == -1 && out.rgb == NULL &&
          draw_grid(bad, 2, 1, 0, &out) == -1 && out.rgb == NULL);
    for (int i = 0; i < 3; i++) free(t[i].rgb);
}

static int has_color(const struct image * im, const uint8_t c[3]) {
    for (int y = 0; y < im->h; y++)
        for (int x = 0; x < im->w; x++) if (is_color(im, x, y, c)) return 1;
    return 0;
}

static void test_plots(void) {
    const double nan = NAN, inf = INFINITY;
    static const double x5[5] = { 0, 1, 2, 3, 4 };
    static const double y_const[5] = { 0.5, 0.5, 0.5, 0.5, 0.5 }, y_zero[5] = { 0, 0, 0, 0, 0 };
    const double y_nan[5] = { 1, nan, 3, nan, 5 }, y_allnan[5] = { nan, nan, nan, nan, nan };
    const double y_log[5] = { 0, 1e-3, -1, 10, 0 }, y_inf[5] = { 1, inf, -inf, 2, 3 };
    static const double x_huge[5] = { -1e308, -1e300, 0, 1e300, 1e308 }, y_huge[5] = { 1e308, -1e308, 1e-308, 4.9e-324, -1e-300 };
    static const double y1[1] = { 42 };
    uint8_t c0[3];
    draw_class_color(0, c0);
    struct {
        const char * what;
        int log_y;
        double y_min, y_max;
        struct plot_series s;
        int expect_color;
    } cases[] = {
        { "no points",            0, nan, nan, { "empty", 0, NULL, NULL }, 0 },
        { "one point",            0, nan, nan, { "one", 1, x5, y1 }, 1 },
        { "constant",             0, nan, nan, { "flat", 5, x5, y_const }, 1 },
        { "constant zero",        0, nan, nan, { "zero", 5, NULL, y_zero }, 1 },
        { "NaN gaps",             0, nan, nan, { "gaps", 5, x5, y_nan }, 1 },
        { "all NaN",              0, nan, nan, { "nan", 5, x5, y_allnan }, 0 },
        { "infinities",           0, nan, nan, { "inf", 5, x5, y_inf }, 1 },
        { "log_y with zeros",     1, nan, nan, { "log", 5, x5, y_log }, 1 },
        { "log_y all zeros",      1, nan, nan, { "log0", 5, x5, y_zero }, 0 },
        { "log_y constant",       1, nan, nan, { "logc", 5, x5, y_const }, 1 },
        { "huge ranges",          0, nan, nan, { "huge", 5, x_huge, y_huge }, 1 },
        { "huge ranges, log",     1, nan, nan, { "huge", 5, x_huge, y_huge }, 1 },
        { "fixed equal y range",  0, 1, 1,     { "fixed", 5, x5, y_const }, 0 },
        { "fixed reversed range", 0, 2, -2,    { "rev", 5, x5, y_const }, 0 },
        { "fixed log range <= 0", 1, -1, 0,    { "flog", 5, x5, y_const }, 1 },
        { "fixed 0..1",           0, 0, 1,     { "pr", 5, x5, y_const }, 1 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct plot_opts o;
        plot_opts_default(&o);
        o.title = cases[i].what;
        o.xlabel = "x";
        o.ylabel = "y";
        o.log_y = cases[i].log_y;
        o.y_min = cases[i].y_min;
        o.y_max = cases[i].y_max;
        o.x_is_int = (int) (i % 2);
        struct image im;
        const int rc = plot_draw(&im, &o, 1, &cases[i].s);
        char what[128];
        snprintf(what, sizeof(what), "plot %s: drawn at 640 x 400", cases[i].what);
        check(what, rc == 0 && im.w == 640 && im.h == 400 && im.rgb);
        if (rc == 0 && cases[i].expect_color) {
            snprintf(what, sizeof(what), "plot %s: the series is visible", cases[i].what);
            check(what, has_color(&im, c0));
        }
        free(im.rgb);
    }
    struct image im;
    struct plot_opts o;
    plot_opts_default(&o);
    check("plot: no series at all", plot_draw(&im, &o, 0, NULL) == 0 && im.w == 640);
    free(im.rgb);
    check("plot: NULL options are the defaults", plot_draw(&im, NULL, 0, NULL) == 0 && im.w == 640 && im.h == 400);
    free(im.rgb);
    o.width = 96; o.height = 64; o.title = "a title far too long for so small a plot"; o.ylabel = "y label"; o.xlabel = "x";
    const struct plot_series one = { "s", 5, x5, y_nan };
    check("plot: smallest size", plot_draw(&im, &o, 1, &one) == 0 && im.w == 96 && im.h == 64);
    free(im.rgb);
    o.width = 95;
    check("plot: too small fails without pixels", plot_draw(&im, &o, 1, &one) == -1 && im.rgb == NULL && im.w == 0);
    plot_opts_default(&o);
    const struct plot_series neg = { "neg", -1, x5, y_nan }, noy = { "noy", 3, x5, NULL };
    check("plot: n < 0, or points without y, fail", plot_draw(&im, &o, 1, &neg) == -1 && plot_draw(&im, &o, 1, &noy) == -1 &&
          plot_draw(&im, &o, -1, &one) == -1 && plot_draw(&im, &o, 2, NULL) == -1 && plot_draw(NULL, &o, 1, &one) == -1);
    // many series, long names: all colours show
    double ys[20][5];
    struct plot_series many[20];
    for (int k = 0; k < 20; k++) {
        for (int i = 0; i < 5; i++) ys[k][i] = k + 0.1 * i;
        many[k] = (struct plot_series) { k % 3 ? "series with a long name" : NULL, 5, x5, ys[k] };
    }
    o.height = 800;
    check("plot: 20 series", plot_draw(&im, &o, 20, many) == 0);
    int colors_ok = 1;
    for (int k = 0; k < 20; k++) { uint8_t c[3]; draw_class_color(k, c); colors_ok &= has_color(&im, c); }
    check("plot: every series' colour shows", colors_ok);
    free(im.rgb);
}

static void test_ticks(void) {
    char buf[64];
    draw__fmt_value(buf, sizeof(buf), 0.25, 0.05, 1);
    check("tick label 0.25", strcmp(buf, "0.25") == 0);
    draw__fmt_value(buf, sizeof(buf), 1500, 500, 3000);
    check("tick label 1500", strcmp(buf, "1500") == 0);
    draw__fmt_value(buf, sizeof(buf), -1e-17, 0.1, 1);
    check("tick label: near 0 is 0", strcmp(buf, "0") == 0);
    draw__fmt_value(buf, sizeof(buf), 2.5e-5, 5e-6, 1e-4);
    check("tick label 2.5e-5", strcmp(buf, "2.5e-5") == 0);
    draw__fmt_value(buf, sizeof(buf), 1e300, 2e299, 1e300);
    check("tick label 1e300", strcmp(buf, "1e300") == 0);
    draw__fmt_value(buf, sizeof(buf), 3e6, 1e6, 5e6);
    check("tick label 3e6", strcmp(buf, "3e6") == 0);
    check("nice steps 1 2 5", draw__nice_step(0.13, 0) == 0.1 && draw__nice_step(0.3, 0) == 0.2 && draw__nice_step(4.2, 0) == 5 &&
          draw__nice_step(80, 0) == 100 && draw__nice_step(0.13, 1) == 0.2 && draw__nice_step(0.13, 3) == 1);
    struct draw__axis a;
    memset(&a, 0, sizeof(a));
    draw__axis_ticks(&a, 0.13, 0.87, 0, 0, 4, 0, 0);
    check("axis 0.13..0.87: 0..1 by 0.2", a.lo == 0 && fabs(a.hi - 1) < 1e-12 && a.step == 0.2 && a.n_ticks == 6);
    draw__axis_ticks(&a, 0, 7, 0, 0, 20, 0, 1);
    check("axis of integers: steps of at least 1", a.step == 1 && a.n_ticks == 8);
    a.log = 1;
    draw__axis_ticks(&a, -6.3, 0.2, 0, 0, 5, 0, 0);
    check("log axis over 7 decades: powers of ten", a.step == 1 || a.step == 2);
    int powers = 1;
    for (int i = 0; i < a.n_ticks; i++) if (a.labelled[i]) powers &= fabs(a.ticks[i] - floor(a.ticks[i] + 0.5)) < 1e-9;
    check("log axis: labelled ticks on powers of ten", powers);
}

static void test_png(const char * dir) {
    char path[512], tmp[600], err[512];
    struct image im = new_image(7, 5, 0);
    for (int i = 0; i < 7 * 5 * 3; i++) im.rgb[i] = (uint8_t) (i * 37 + 11);
    snprintf(path, sizeof(path), "%s/a.png", dir);
    check("png: written", draw_write_png(path, &im, err, sizeof(err)) == 0);
    int w, h, n;
    uint8_t * back = stbi_load(path, &w, &h, &n, 3);
    check("png: read back with its size and pixels", back && w == 7 && h == 5 && memcmp(back, im.rgb, 7 * 5 * 3) == 0);
    stbi_image_free(back);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    check("png: no temporary file left", access(tmp, F_OK) != 0);

    // a missing folder: one line naming the path, nothing left behind
    snprintf(path, sizeof(path), "%s/missing/b.png", dir);
    err[0] = 0;
    const int rc = draw_write_png(path, &im, err, sizeof(err));
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    check("png into a missing folder: fails", rc == -1);
    check("png into a missing folder: one line naming the path", one_line(err) && strstr(err, path) != NULL);
    check("png into a missing folder: nothing left", access(path, F_OK) != 0 && access(tmp, F_OK) != 0);
    // over a folder: the rename fails, the temporary file is removed
    snprintf(path, sizeof(path), "%s/folder.png", dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (mkdir(path, 0755) == 0) {
        check("png over a folder: fails with one line", draw_write_png(path, &im, err, sizeof(err)) == -1 && one_line(err) && strstr(err, path));
        check("png over a folder: no temporary file left", access(tmp, F_OK) != 0);
        rmdir(path);
    }
    struct image empty = { 0, 0, NULL };
    check("png: an image without pixels fails", draw_write_png(path, &empty, err, sizeof(err)) == -1 && one_line(err) && access(path, F_OK) != 0);
    check("png: no path fails", draw_write_png(NULL, &im, err, sizeof(err)) == -1 && draw_write_png("", &im, NULL, 0) == -1);
    free(im.rgb);

    // plots as files
    static const double y[4] = { 3, 1, 2, 0.5 };
    const struct plot_series s = { "loss", 4, NULL, y };
    struct plot_opts o[3];
    for (int i = 0; i < 3; i++) { plot_opts_default(&o[i]); o[i].width = 320; o[i].height = 200; }
    snprintf(path, sizeof(path), "%s/plot.png", dir);
    check("plot_png: written", plot_png(path, &o[0], 1, &s, err, sizeof(err)) == 0);
    back = stbi_load(path, &w, &h, &n, 3);
    check("plot_png: read back 320 x 200", back && w == 320 && h == 200);
    stbi_image_free(back);
    const struct plot_series * ss[3] = { &s, &s, &s };
    const int ns[3] = { 1, 1, 1 };
    snprintf(path, sizeof(path), "%s/grid.png", dir);
    check("plot_png_grid: written", plot_png_grid(path, 3, 2, o, ns, ss, err, sizeof(err)) == 0);
    back = stbi_load(path, &w, &h, &n, 3);
    check("plot_png_grid: 3 panels, 2 per row: 640 x 400", back && w == 640 && h == 400);
    stbi_image_free(back);
    o[1].width = 10;
    snprintf(path, sizeof(path), "%s/bad.png", dir);
    check("plot_png_grid: a bad panel fails with one line naming the path",
          plot_png_grid(path, 3, 2, o, ns, ss, err, sizeof(err)) == -1 && one_line(err) && strstr(err, path) && access(path, F_OK) != 0);
    check("plot_png: bad series fail with one line naming the path",
          plot_png(path, &o[0], 1, NULL, err, sizeof(err)) == -1 && one_line(err) && strstr(err, path) && access(path, F_OK) != 0);
    snprintf(path, sizeof(path), "%s/missing/plot.png", dir);
    check("plot_png into a missing folder fails with one line naming the path",
          plot_png(path, &o[0], 1, &s, err, sizeof(err)) == -1 && one_line(err) && strstr(err, path));
}

// sample pictures to look at: a plot, a panel of plots, an annotated image
static void write_samples(const char * dir) {
    char path[512], err[512];
    enum { N = 2000 };
    static double st[N], cls[N], box[N], lr[N];
    for (int i = 0; i < N; i++) {
        st[i] = i;
        cls[i] = 1.1 * exp(-i / 500.0) + 0.03 * sin(i * 0.05) + 0.15;
        box[i] = 0.7 * exp(-i / 900.0) + 0.02 * cos(i * 0.03) + 0.2;
        lr[i] = i < 300 ? 0.01 * (0.001 + 0.999 * i / 300.0) : i < 1600 ? 0.01 : 0.001;
    }
    cls[700] = NAN;
    struct plot_opts o[2];
    plot_opts_default(&o[0]);
    o[0].title = "loss"; o[0].xlabel = "iteration"; o[0].ylabel = "loss"; o[0].x_is_int = 1;
    plot_opts_default(&o[1]);
    o[1].title = "learning rate"; o[1].xlabel = "iteration"; o[1].log_y = 1; o[1].x_is_int = 1;
    const struct plot_series loss[2] = { { "cls (aLRP)", N, st, cls }, { "box (GIoU)", N, st, box } }, lrs[1] = { { "lr", N, st, lr } };
    snprintf(path, sizeof(path), "%s/sample-loss.png", dir);
    if (plot_png(path, &o[0], 2, loss, err, sizeof(err))) printf("%s\n", err);
    const struct plot_series * panels[2] = { loss, lrs };
    const int ns[2] = { 2, 1 };
    snprintf(path, sizeof(path), "%s/sample-panels.png", dir);
    if (plot_png_grid(path, 2, 2, o, ns, panels, err, sizeof(err))) printf("%s\n", err);

    struct image im = new_image(480, 320, 0);
    for (int y = 0; y < im.h; y++)
        for (int x = 0; x < im.w; x++) {
            uint8_t * p = im.rgb + ((size_t) y * im.w + x) * 3;
            p[0] = (uint8_t) (x * 255 / im.w); p[1] = (uint8_t) (y * 255 / im.h); p[2] = (uint8_t) (((x / 16) ^ (y / 16)) & 1 ? 220 : 40);
        }
    const float b[5][4] = { { 40, 60, 170, 220 }, { -20, -10, 90, 50 }, { 400, 260, 520, 360 }, { 220, 110, 430, 190 }, { 250, 180, 330, 300 } };
    const char * labels[5] = { "circle 0.93", "square 0.71", "triangle 0.55", "person 0.42", "car 0.30" };
    const int classes[5] = { 0, 2, 4, 6, 8 };
    draw_detections(&im, 5, &b[0][0], classes, labels);
    static const uint8_t white[3] = { 255, 255, 255 }, black[3] = { 0, 0, 0 };
    draw_text(&im, 4, 262, " !\"#$%&'()*+,-./0123456789:;<=>?@", white, black, 1);
    draw_text(&im, 4, 274, "ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`", white, black, 1);
    draw_text(&im, 4, 286, "abcdefghijklmnopqrstuvwxyz{|}~", white, black, 1);
    draw_text(&im, 4, 298, "Scale 2: gjpqy 0.93", white, black, 2);
    snprintf(path, sizeof(path), "%s/sample-detections.png", dir);
    if (draw_write_png(path, &im, err, sizeof(err))) printf("%s\n", err);
    free(im.rgb);
}

int main(void) {
    char dir[] = "/tmp/test-draw-XXXXXX";
    if (!mkdtemp(dir)) { printf("cannot create a temporary folder\n"); return 1; }
    test_font();
    test_text();
    test_rects();
    test_colors();
    test_detection();
    test_grid();
    test_ticks();
    test_plots();
    test_png(dir);
    const char * names[] = { "a.png", "plot.png", "grid.png" };
    char path[600];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) { snprintf(path, sizeof(path), "%s/%s", dir, names[i]); remove(path); }
    if (rmdir(dir) != 0) { printf("FAIL the temporary folder %s is not empty\n", dir); n_fail++; }
    const char * samples = getenv("DRAW_SAMPLE_DIR");
    if (samples && *samples) write_samples(samples);
    printf("%d checks, %d failed\n", n_checks, n_fail);
    return n_fail != 0;
}
