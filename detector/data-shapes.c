// data-shapes.c - see data-shapes.h: the synthetic `shapes` detection set.
#include "data-shapes.h"
#include "data-image.h"
#include "data-rng.h"
#include "det-err.h"
#include "json.h"
#include "alrp.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char * const data__shape_names[SHAPES_N_CLASSES] = {
    "circle", "square", "triangle", "star", "cross", "ring", "bar",
};
enum { SH_CIRCLE, SH_SQUARE, SH_TRIANGLE, SH_STAR, SH_CROSS, SH_RING, SH_BAR };

const char * shapes_class_name(int k) {
    return k >= 0 && k < SHAPES_N_CLASSES ? data__shape_names[k] : "?";
}

void shapes_params_default(struct shapes_params * p) {
    memset(p, 0, sizeof(*p));
    p->n_train = 6000;        // more images, fewer epochs: the same updates see more variety
    p->n_val = 200;
    p->size = 128;            // 2 cores train on 128 x 128 about 4x faster than on 256 x 256
    p->seed = 20240601;
    p->min_radius = 20.0f;    // at size 256: 10..32 px at 128 (boxes of about 20..64 px)
    p->max_radius = 64.0f;
    p->max_objects = 8;
    p->p_empty = 0.06f;
    p->p_overlap = 0.25f;
    p->max_hidden = 0.5f;
    p->max_clutter = 4;
    p->p_clutter_over = 0.0f; // distractors lie under the objects, never over them
    p->max_noise = 8.0f;
    p->jpeg_quality = 90;
    p->n_threads = 1;
}

// ---- drawing -------------------------------------------------------------------------------

#define DATA__PI 3.14159265358979323846
#define DATA__MAXV 24

static float data__u(struct alrp_rng * r, float a, float b) { return a + (b - a) * (float) alrp_rng_uniform(r); }
static int   data__i(struct alrp_rng * r, int n) { return (int) (alrp_rng_uniform(r) * n); }   // 0..n-1
static float data__clampf(float v, float a, float b) { return v < a ? a : v > b ? b : v; }

static void data__hsv(float h, float s, float v, float rgb[3]) {   // h in [0, 6), s, v in [0, 1]
    int i = (int) h;
    float f = h - (float) i, p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    float r, g, b;
    switch (i % 6) {
        case 0: r = v; g = t; b = p; break;
        case 1: r = q; g = v; b = p; break;
        case 2: r = p; g = v; b = t; break;
        case 3: r = p; g = q; b = v; break;
        case 4: r = t; g = p; b = v; break;
        default: r = v; g = p; b = q; break;
    }
    rgb[0] = 255 * r; rgb[1] = 255 * g; rgb[2] = 255 * b;
}

static void data__rand_colour(struct alrp_rng * r, float smin, float smax, float vmin, float vmax, float rgb[3]) {
    float h = data__u(r, 0, 6), s = data__u(r, smin, smax), v = data__u(r, vmin, vmax);
    data__hsv(h, s, v, rgb);
}

// a shape in image coordinates: a circle, a ring, a polygon, a wobbly blob or a thick segment
enum { K_CIRCLE, K_RING, K_POLY, K_BLOB, K_SEGMENT };
struct data__shape {
    int   kind;
    float cx, cy, R, t;           // centre, radius; ring thickness / segment half-width
    int   nv;
    float v[DATA__MAXV][2];       // polygon vertices; a segment's two ends in v[0], v[1]
    float wob_a[4], wob_p[4];     // blob: harmonics 2..5
    float box[4];                 // geometry box (unclipped)
};

static float data__sd_poly(const struct data__shape * s, float px, float py) {
    float dx = px - s->v[0][0], dy = py - s->v[0][1];
    float d = dx * dx + dy * dy, sg = 1.0f;
    for (int i = 0, j = s->nv - 1; i < s->nv; j = i, i++) {
        float ex = s->v[j][0] - s->v[i][0], ey = s->v[j][1] - s->v[i][1];
        float wx = px - s->v[i][0], wy = py - s->v[i][1];
        float h = data__clampf((wx * ex + wy * ey) / (ex * ex + ey * ey), 0.0f, 1.0f);
        float bx = wx - ex * h, by = wy - ey * h, bb = bx * bx + by * by;
        if (bb < d) d = bb;
        int c1 = py >= s->v[i][1], c2 = py < s->v[j][1], c3 = ex * wy > ey * wx;
        if ((c1 && c2 && c3) || (!c1 && !c2 && !c3)) sg = -sg;
    }
    return sg * sqrtf(d);
}

static float data__sd(const struct data__shape * s, float px, float py) {
    float dx = px - s->cx, dy = py - s->cy;
    switch (s->kind) {
        case K_CIRCLE: return sqrtf(dx * dx + dy * dy) - s->R;
        case K_RING:   return fabsf(sqrtf(dx * dx + dy * dy) - (s->R - s->t * 0.5f)) - s->t * 0.5f;
        case K_POLY:   return data__sd_poly(s, px, py);
        case K_BLOB: {
            float a = atan2f(dy, dx), r = 1.0f;
            for (int k = 0; k < 4; k++) r += s->wob_a[k] * sinf((float) (k + 2) * a + s->wob_p[k]);
            return sqrtf(dx * dx + dy * dy) - s->R * r;
        }
        default: {   // K_SEGMENT
            float ax = s->v[0][0], ay = s->v[0][1], ex = s->v[1][0] - ax, ey = s->v[1][1] - ay;
            float wx = px - ax, wy = py - ay;
            float h = data__clampf((wx * ex + wy * ey) / (ex * ex + ey * ey + 1e-6f), 0.0f, 1.0f);
            float bx = wx - ex * h, by = wy - ey * h;
            return sqrtf(bx * bx + by * by) - s->t;
        }
    }
}

static void data__poly_box(struct data__shape * s) {
    s->box[0] = s->box[2] = s->v[0][0];
    s->box[1] = s->box[3] = s->v[0][1];
    for (int i = 1; i < s->nv; i++) {
        if (s->v[i][0] < s->box[0]) s->box[0] = s->v[i][0];
        if (s->v[i][0] > s->box[2]) s->box[2] = s->v[i][0];
        if (s->v[i][1] < s->box[1]) s->box[1] = s->v[i][1];
        if (s->v[i][1] > s->box[3]) s->box[3] = s->v[i][1];
    }
}

// local polygon (x, y) rotated by rot and moved to the centre
static void data__set_poly(struct data__shape * s, int nv, const float (*lv)[2], float rot) {
    float c = cosf(rot), sn = sinf(rot);
    s->kind = K_POLY;
    s->nv = nv;
    for (int i = 0; i < nv; i++) {
        s->v[i][0] = s->cx + lv[i][0] * c - lv[i][1] * sn;
        s->v[i][1] = s->cy + lv[i][0] * sn + lv[i][1] * c;
    }
    data__poly_box(s);
}

static void data__make_class_shape(struct data__shape * s, int cls, struct alrp_rng * r) {
    float R = s->R, lv[DATA__MAXV][2];
    const float deg = (float) (DATA__PI / 180.0);
    switch (cls) {
        case SH_CIRCLE:
            s->kind = K_CIRCLE;
            break;
        case SH_RING:
            s->kind = K_RING;
            s->t = R * data__u(r, 0.28f, 0.5f);
            break;
        case SH_SQUARE: {
            float a = R * 0.7071f;
            float sq[4][2] = { { -a, -a }, { a, -a }, { a, a }, { -a, a } };
            data__set_poly(s, 4, sq, data__u(r, -15, 15) * deg);
            return;
        }
        case SH_TRIANGLE:
            for (int i = 0; i < 3; i++) {
                lv[i][0] = R * cosf((float) (2 * DATA__PI * i / 3 - DATA__PI / 2));
                lv[i][1] = R * sinf((float) (2 * DATA__PI * i / 3 - DATA__PI / 2));
            }
            data__set_poly(s, 3, lv, data__u(r, 0, 360) * deg);
            return;
        case SH_STAR: {
            float ri = R * data__u(r, 0.38f, 0.5f);
            for (int i = 0; i < 10; i++) {
                float rr = i % 2 ? ri : R, a = (float) (DATA__PI * i / 5 - DATA__PI / 2);
                lv[i][0] = rr * cosf(a);
                lv[i][1] = rr * sinf(a);
            }
            data__set_poly(s, 10, lv, data__u(r, 0, 360) * deg);
            return;
        }
        case SH_CROSS: {
            float w = R * data__u(r, 0.2f, 0.3f), L = R * 0.95f;
            float cr[12][2] = { { -w, -L }, { w, -L }, { w, -w }, { L, -w }, { L, w }, { w, w },
                                { w, L }, { -w, L }, { -w, w }, { -L, w }, { -L, -w }, { -w, -w } };
            data__set_poly(s, 12, cr, data__u(r, -15, 15) * deg);
            return;
        }
        default: {   // SH_BAR
            float hw = fmaxf(R * data__u(r, 0.22f, 0.34f), 2.0f);   // at least 4 px thick
            float br[4][2] = { { -R, -hw }, { R, -hw }, { R, hw }, { -R, hw } };
            float rot = (alrp_rng_uniform(r) < 0.5 ? 0.0f : 90.0f) + data__u(r, -12, 12);
            data__set_poly(s, 4, br, rot * deg);
            return;
        }
    }
    s->box[0] = s->cx - R; s->box[1] = s->cy - R;
    s->box[2] = s->cx + R; s->box[3] = s->cy + R;
}

struct data__canvas {
    int S;
    float * px;        // S * S * 3
    int16_t * owner;   // S * S: the object on top (coverage > 0.5), -1 none
};

// fill: 0 solid, 1 gradient (c0 -> c1 along dir), 2 noisy texture
struct data__paint { int fill; float c0[3], c1[3], dir[2], amp; };

// Draws s; id >= 0: an object (owner map and its pixel count), -1: clutter (clears owners).
// Returns the coverage sum inside the image; *n_px the pixels with coverage > 0.5.
static float data__draw(struct data__canvas * cv, const struct data__shape * s, const struct data__paint * pt, int id,
                        struct alrp_rng * r, int64_t * n_px) {
    const int S = cv->S;
    int x0 = (int) floorf(s->box[0] - 2), y0 = (int) floorf(s->box[1] - 2);
    int x1 = (int) ceilf(s->box[2] + 2), y1 = (int) ceilf(s->box[3] + 2);
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x1 > S) x1 = S;
    if (y1 > S) y1 = S;
    float area = 0.0f, span = s->box[2] - s->box[0] + s->box[3] - s->box[1] + 1e-3f;
    int64_t cnt = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            float fx = x + 0.5f, fy = y + 0.5f;
            float a = data__clampf(0.5f - data__sd(s, fx, fy), 0.0f, 1.0f);
            if (a <= 0.0f) continue;
            area += a;
            float col[3];
            if (pt->fill == 1) {
                float t = data__clampf(((fx - s->cx) * pt->dir[0] + (fy - s->cy) * pt->dir[1]) / span + 0.5f, 0, 1);
                for (int c = 0; c < 3; c++) col[c] = pt->c0[c] + (pt->c1[c] - pt->c0[c]) * t;
            } else if (pt->fill == 2) {
                float n = data__u(r, -pt->amp, pt->amp);
                for (int c = 0; c < 3; c++) col[c] = pt->c0[c] + n;
            } else {
                for (int c = 0; c < 3; c++) col[c] = pt->c0[c];
            }
            float * p = cv->px + ((size_t) y * S + x) * 3;
            for (int c = 0; c < 3; c++) p[c] = p[c] * (1.0f - a) + col[c] * a;
            if (a > 0.5f) {
                cv->owner[(size_t) y * S + x] = (int16_t) id;
                cnt++;
            }
        }
    if (n_px) *n_px = cnt;
    return area;
}

static void data__background(struct data__canvas * cv, struct alrp_rng * r) {
    const int S = cv->S;
    float c0[3], c1[3];
    data__rand_colour(r, 0.0f, 0.7f, 0.15f, 0.95f, c0);
    data__rand_colour(r, 0.0f, 0.7f, 0.15f, 0.95f, c1);
    int kind = data__i(r, 4);
    float ang = data__u(r, 0, (float) (2 * DATA__PI)), dx = cosf(ang), dy = sinf(ang);
    float period = data__u(r, 6, 40) * (float) S / 256.0f, sharp = data__u(r, 1, 4);
    int G = 3 + data__i(r, 7);
    float grid[2][19 * 19];   // G << 1 <= 18 cells: 19 nodes a side
    for (int o = 0; o < 2; o++)
        for (int i = 0; i < 19 * 19; i++) grid[o][i] = (float) alrp_rng_uniform(r);
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            float t;
            float u = (x + 0.5f) / (float) S, v = (y + 0.5f) / (float) S;
            if (kind == 0) {
                t = data__clampf((u - 0.5f) * dx + (v - 0.5f) * dy + 0.5f, 0, 1);
            } else if (kind == 1) {
                float ph = ((x + 0.5f) * dx + (y + 0.5f) * dy) * (float) (2 * DATA__PI) / period;
                t = data__clampf(0.5f + 0.5f * sharp * sinf(ph), 0, 1);
            } else if (kind == 2) {
                t = 0.0f;
                for (int o = 0; o < 2; o++) {
                    int g = G << o;
                    float gx = u * (float) g, gy = v * (float) g;
                    int ix = (int) gx, iy = (int) gy;
                    float fx = gx - (float) ix, fy = gy - (float) iy;
                    fx = fx * fx * (3 - 2 * fx);
                    fy = fy * fy * (3 - 2 * fy);
                    const float * q = grid[o];
                    int w = 19;
                    float a = q[iy * w + ix] * (1 - fx) + q[iy * w + ix + 1] * fx;
                    float b = q[(iy + 1) * w + ix] * (1 - fx) + q[(iy + 1) * w + ix + 1] * fx;
                    t += (o == 0 ? 0.75f : 0.25f) * (a * (1 - fy) + b * fy);
                }
            } else {
                float px = (x + 0.5f) * dx + (y + 0.5f) * dy, py = -(x + 0.5f) * dy + (y + 0.5f) * dx;
                int a = (int) floorf(px / period), b = (int) floorf(py / period);
                t = ((a + b) & 1) ? 0.75f : 0.25f;
            }
            float * p = cv->px + ((size_t) y * S + x) * 3;
            for (int c = 0; c < 3; c++) p[c] = c0[c] + (c1[c] - c0[c]) * t;
        }
}

static void data__clutter(struct data__canvas * cv, struct alrp_rng * r, float scale) {
    struct data__shape s;
    memset(&s, 0, sizeof(s));
    struct data__paint pt;
    memset(&pt, 0, sizeof(pt));
    data__rand_colour(r, 0.0f, 1.0f, 0.1f, 1.0f, pt.c0);
    const float S = (float) cv->S;
    if (alrp_rng_uniform(r) < 0.5) {
        s.kind = K_BLOB;
        s.cx = data__u(r, 0, S);
        s.cy = data__u(r, 0, S);
        s.R = data__u(r, 5, 30) * scale;
        for (int k = 0; k < 4; k++) {
            s.wob_a[k] = data__u(r, 0.08f, 0.2f);
            s.wob_p[k] = data__u(r, 0, (float) (2 * DATA__PI));
        }
        float m = s.R * 1.85f;
        s.box[0] = s.cx - m; s.box[1] = s.cy - m; s.box[2] = s.cx + m; s.box[3] = s.cy + m;
    } else {
        s.kind = K_SEGMENT;
        float len = data__u(r, 20, 120) * scale, a = data__u(r, 0, (float) (2 * DATA__PI));
        s.v[0][0] = data__u(r, 0, S);
        s.v[0][1] = data__u(r, 0, S);
        s.v[1][0] = s.v[0][0] + len * cosf(a);
        s.v[1][1] = s.v[0][1] + len * sinf(a);
        s.t = data__u(r, 1.0f, 2.5f) * scale;
        s.box[0] = fminf(s.v[0][0], s.v[1][0]) - s.t; s.box[2] = fmaxf(s.v[0][0], s.v[1][0]) + s.t;
        s.box[1] = fminf(s.v[0][1], s.v[1][1]) - s.t; s.box[3] = fmaxf(s.v[0][1], s.v[1][1]) + s.t;
        s.cx = s.v[0][0];
        s.cy = s.v[0][1];
    }
    data__draw(cv, &s, &pt, -1, r, NULL);
}

// mean colour of the canvas in a box (clipped)
static void data__box_mean(const struct data__canvas * cv, const float * b, float m[3]) {
    int x0 = (int) fmaxf(b[0], 0), y0 = (int) fmaxf(b[1], 0);
    int x1 = (int) fminf(ceilf(b[2]), (float) cv->S), y1 = (int) fminf(ceilf(b[3]), (float) cv->S);
    double s[3] = { 0, 0, 0 };
    int64_t n = 0;
    for (int y = y0; y < y1; y += 2)
        for (int x = x0; x < x1; x += 2) {
            const float * p = cv->px + ((size_t) y * cv->S + x) * 3;
            for (int c = 0; c < 3; c++) s[c] += p[c];
            n++;
        }
    for (int c = 0; c < 3; c++) m[c] = n ? (float) (s[c] / (double) n) : 128.0f;
}

int shapes_draw(const struct shapes_params * p, int split, int64_t index, uint8_t * rgb, float * boxes, int32_t * cls,
                float * hidden, float * seg_area, int * n_dropped) {
    const int S = p->size;
    struct alrp_rng rng = { data_seed3(p->seed, 0x5A4E5u, (uint64_t) split, (uint64_t) index) };
    struct alrp_rng * r = &rng;
    struct data__canvas cv = { S, (float *) malloc(sizeof(float) * 3 * (size_t) S * S),
                               (int16_t *) malloc(sizeof(int16_t) * (size_t) S * S) };
    const int maxo = p->max_objects > 0 ? p->max_objects : 0;
    struct data__shape * obj = (struct data__shape *) calloc((size_t) (maxo ? maxo : 1), sizeof(struct data__shape));
    int64_t * npx = (int64_t *) calloc((size_t) (maxo ? maxo : 1), sizeof(int64_t));
    float * area = (float *) calloc((size_t) (maxo ? maxo : 1), sizeof(float));
    int * ocls = (int *) calloc((size_t) (maxo ? maxo : 1), sizeof(int));
    if (!cv.px || !cv.owner || !obj || !npx || !area || !ocls) {
        free(cv.px); free(cv.owner); free(obj); free(npx); free(area); free(ocls);
        return -1;
    }
    for (size_t i = 0; i < (size_t) S * S; i++) cv.owner[i] = -1;
    const float scale = (float) S / 256.0f;

    data__background(&cv, r);
    int n_obj = alrp_rng_uniform(r) < p->p_empty || maxo == 0 ? 0 : 1 + data__i(r, maxo);
    int n_clut = data__i(r, p->max_clutter + 1), n_after = 0;
    for (int i = 0; i < n_clut; i++) {
        if (alrp_rng_uniform(r) < p->p_clutter_over) n_after++;
        else data__clutter(&cv, r, scale);
    }
    const double lr0 = log(p->min_radius * scale), lr1 = log(p->max_radius * scale);
    for (int i = 0; i < n_obj; i++) {
        struct data__shape * s = &obj[i];
        memset(s, 0, sizeof(*s));
        int k = data__i(r, SHAPES_N_CLASSES);
        ocls[i] = k;
        s->R = (float) exp(lr0 + (lr1 - lr0) * alrp_rng_uniform(r));
        float lo = s->R * 0.6f, hi = (float) S - s->R * 0.6f;
        if (hi < lo) hi = lo = (float) S * 0.5f;
        if (i > 0 && alrp_rng_uniform(r) < p->p_overlap) {
            const struct data__shape * o = &obj[data__i(r, i)];
            float a = data__u(r, 0, (float) (2 * DATA__PI)), d = (o->R + s->R) * data__u(r, 0.3f, 0.9f);
            s->cx = data__clampf(o->cx + d * cosf(a), lo, hi);
            s->cy = data__clampf(o->cy + d * sinf(a), lo, hi);
        } else {
            s->cx = data__u(r, lo, hi);
            s->cy = data__u(r, lo, hi);
        }
        data__make_class_shape(s, k, r);
        // a colour that stands out from what lies under the shape
        float m[3], best[3] = { 0, 0, 0 }, best_d = -1;
        data__box_mean(&cv, s->box, m);
        for (int t = 0; t < 24; t++) {
            float c[3];
            data__rand_colour(r, 0.25f, 1.0f, 0.2f, 1.0f, c);
            float d = sqrtf((c[0] - m[0]) * (c[0] - m[0]) + (c[1] - m[1]) * (c[1] - m[1]) + (c[2] - m[2]) * (c[2] - m[2]));
            if (d > best_d) { best_d = d; memcpy(best, c, sizeof(best)); }
            if (d >= 60.0f) break;
        }
        struct data__paint pt;
        memset(&pt, 0, sizeof(pt));
        memcpy(pt.c0, best, sizeof(best));
        float u = (float) alrp_rng_uniform(r);
        pt.fill = u < 0.6f ? 0 : u < 0.85f ? 1 : 2;
        float ga = data__u(r, 0, (float) (2 * DATA__PI)), dv = data__u(r, -50, 50);
        pt.dir[0] = cosf(ga);
        pt.dir[1] = sinf(ga);
        for (int c = 0; c < 3; c++) pt.c1[c] = data__clampf(best[c] + dv, 0, 255);
        pt.amp = data__u(r, 8, 25);
        area[i] = data__draw(&cv, s, &pt, i, r, &npx[i]);
    }
    for (int i = 0; i < n_after; i++) data__clutter(&cv, r, scale);

    // what is left visible of each object
    int64_t vis[256];
    memset(vis, 0, sizeof(vis));
    for (size_t i = 0; i < (size_t) S * S; i++)
        if (cv.owner[i] >= 0 && cv.owner[i] < 256) vis[cv.owner[i]]++;
    int n_ann = 0, dropped = 0;
    for (int i = 0; i < n_obj; i++) {
        float h = npx[i] > 0 ? 1.0f - (float) vis[i] / (float) npx[i] : 1.0f;
        const float * b = obj[i].box;
        float x1 = data__clampf(b[0], 0, (float) S), y1 = data__clampf(b[1], 0, (float) S);
        float x2 = data__clampf(b[2], 0, (float) S), y2 = data__clampf(b[3], 0, (float) S);
        if (h > p->max_hidden || x2 - x1 < 1 || y2 - y1 < 1) { dropped++; continue; }
        boxes[n_ann * 4 + 0] = x1; boxes[n_ann * 4 + 1] = y1;
        boxes[n_ann * 4 + 2] = x2; boxes[n_ann * 4 + 3] = y2;
        cls[n_ann] = ocls[i];
        hidden[n_ann] = h;
        seg_area[n_ann] = area[i];
        n_ann++;
    }
    // sensor noise: Irwin-Hall(4) approximation of a Gaussian, one 64-bit draw per sample
    float sigma = data__u(r, 2, p->max_noise) * 1.7320508f;
    for (size_t i = 0; i < (size_t) S * S * 3; i++) {
        uint64_t z = alrp_rng_u64(r);
        float g = ((float) (z & 0xFFFF) + (float) ((z >> 16) & 0xFFFF) + (float) ((z >> 32) & 0xFFFF) +
                   (float) (z >> 48)) * (1.0f / 65536.0f) - 2.0f;
        float v = cv.px[i] + sigma * g;
        v = v < 0 ? 0 : v > 255 ? 255 : v;
        rgb[i] = (uint8_t) (v + 0.5f);
    }
    if (n_dropped) *n_dropped = dropped;
    free(cv.px); free(cv.owner); free(obj); free(npx); free(area); free(ocls);
    return n_ann;
}

// ---- the set on disk ------------------------------------------------------------------------

struct data__shapes_img { int n, dropped; float * boxes, * hidden, * area; int32_t * cls; };

struct data__shapes_job {
    const struct shapes_params * p;
    const char * root;              // the temp folder
    int split;
    int n;
    struct data__shapes_img * imgs;
    atomic_int next;
    atomic_int failed;
    pthread_mutex_t mu;
    char err[512];
};

static void data__fail(struct data__shapes_job * j, const char * msg) {
    pthread_mutex_lock(&j->mu);
    if (!atomic_load(&j->failed)) snprintf(j->err, sizeof(j->err), "%s", msg);
    atomic_store(&j->failed, 1);
    pthread_mutex_unlock(&j->mu);
}

static const char * data__split_name(int split) { return split ? "val2017" : "train2017"; }

static void * data__shapes_worker(void * arg) {
    struct data__shapes_job * j = (struct data__shapes_job *) arg;
    const struct shapes_params * p = j->p;
    struct image im;
    if (image_alloc(&im, p->size, p->size)) { data__fail(j, "out of memory"); return NULL; }
    char path[4200], err[512];
    for (;;) {
        int i = atomic_fetch_add(&j->next, 1);
        if (i >= j->n || atomic_load(&j->failed)) break;
        struct data__shapes_img * d = &j->imgs[i];
        d->n = shapes_draw(p, j->split, i, im.rgb, d->boxes, d->cls, d->hidden, d->area, &d->dropped);
        if (d->n < 0) { data__fail(j, "out of memory"); break; }
        snprintf(path, sizeof(path), "%s/%s/%012d.%s", j->root, data__split_name(j->split), i + 1, p->png ? "png" : "jpg");
        if (p->png ? image_write_png(path, &im, err, sizeof(err)) : image_write_jpg(path, &im, p->jpeg_quality, err, sizeof(err))) {
            data__fail(j, err);
            break;
        }
    }
    image_free(&im);
    return NULL;
}

static double data__round2(double v) { return round(v * 100.0) / 100.0; }

static int data__write_json(const char * path, const struct shapes_params * p, int split,
                            const struct data__shapes_img * imgs, int n, char * err, size_t err_size) {
    char tmp[4300];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE * f = fopen(tmp, "wb");
    if (!f) return det_errf(err, err_size, "%s: cannot create (%s)", tmp, strerror(errno));
    struct json_writer w;
    json_writer_init(&w, f, 2);
    char desc[256];
    snprintf(desc, sizeof(desc), "alrp shapes v2: synthetic shapes, %s split, seed %llu", split ? "val" : "train",
             (unsigned long long) p->seed);
    json_write_begin_object(&w);
    json_write_key(&w, "info");
    json_write_begin_object(&w);
    json_write_key(&w, "description"); json_write_string(&w, desc);
    json_write_key(&w, "version"); json_write_string(&w, "1");
    json_write_end_object(&w);
    json_write_key(&w, "licenses"); json_write_begin_array(&w); json_write_end_array(&w);
    json_write_key(&w, "images");
    json_write_begin_array(&w);
    char name[64];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "%012d.%s", i + 1, p->png ? "png" : "jpg");
        json_write_begin_object(&w);
        json_write_key(&w, "id"); json_write_int64(&w, i + 1);
        json_write_key(&w, "file_name"); json_write_string(&w, name);
        json_write_key(&w, "width"); json_write_int64(&w, p->size);
        json_write_key(&w, "height"); json_write_int64(&w, p->size);
        json_write_end_object(&w);
    }
    json_write_end_array(&w);
    json_write_key(&w, "annotations");
    json_write_begin_array(&w);
    int64_t aid = 1;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < imgs[i].n; k++) {
            const float * b = imgs[i].boxes + 4 * k;
            double x1 = data__round2(b[0]), y1 = data__round2(b[1]), x2 = data__round2(b[2]), y2 = data__round2(b[3]);
            json_write_begin_object(&w);
            json_write_key(&w, "id"); json_write_int64(&w, aid++);
            json_write_key(&w, "image_id"); json_write_int64(&w, i + 1);
            json_write_key(&w, "category_id"); json_write_int64(&w, imgs[i].cls[k] + 1);
            json_write_key(&w, "bbox");
            json_write_begin_array(&w);
            json_write_double(&w, x1); json_write_double(&w, y1);
            json_write_double(&w, data__round2(x2 - x1)); json_write_double(&w, data__round2(y2 - y1));
            json_write_end_array(&w);
            json_write_key(&w, "area"); json_write_double(&w, data__round2(imgs[i].area[k]));
            json_write_key(&w, "iscrowd"); json_write_int64(&w, 0);
            json_write_key(&w, "hidden"); json_write_double(&w, data__round2(imgs[i].hidden[k]));
            json_write_end_object(&w);
        }
    json_write_end_array(&w);
    json_write_key(&w, "categories");
    json_write_begin_array(&w);
    for (int k = 0; k < SHAPES_N_CLASSES; k++) {
        json_write_begin_object(&w);
        json_write_key(&w, "id"); json_write_int64(&w, k + 1);
        json_write_key(&w, "name"); json_write_string(&w, data__shape_names[k]);
        json_write_key(&w, "supercategory"); json_write_string(&w, "shape");
        json_write_end_object(&w);
    }
    json_write_end_array(&w);
    json_write_end_object(&w);
    fputc('\n', f);
    int bad = json_writer_finish(&w);
    if (fclose(f) != 0) bad = -1;
    if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        return det_errf(err, err_size, "%s: write failed", path);
    }
    return 0;
}

// the marker's text: every parameter that changes the bytes
static void data__marker_text(const struct shapes_params * p, char * buf, size_t n) {
    snprintf(buf, n,
             "alrp shapes v2\nn_train %d\nn_val %d\nsize %d\nseed %llu\nradius %.9g %.9g\nmax_objects %d\n"
             "p_empty %.9g\np_overlap %.9g\nmax_hidden %.9g\nmax_clutter %d\np_clutter_over %.9g\nmax_noise %.9g\n"
             "jpeg_quality %d\npng %d\n",
             p->n_train, p->n_val, p->size, (unsigned long long) p->seed, p->min_radius, p->max_radius, p->max_objects,
             p->p_empty, p->p_overlap, p->max_hidden, p->max_clutter, p->p_clutter_over, p->max_noise, p->jpeg_quality, p->png);
}

static int data__rm_cb(const char * path, const struct stat * sb, int flag, struct FTW * ftw) {
    (void) sb; (void) flag; (void) ftw;
    remove(path);
    return 0;
}
static void data__rm_tree(const char * dir) { nftw(dir, data__rm_cb, 16, FTW_DEPTH | FTW_PHYS); }

static int data__check_params(const struct shapes_params * p, char * err, size_t err_size) {
    if (p->n_train < 0 || p->n_val < 0 || p->n_train > 10000000 || p->n_val > 10000000)
        return det_errf(err, err_size, "shapes: image counts %d, %d must be in 0..10000000", p->n_train, p->n_val);
    if (p->size < 32 || p->size > 4096) return det_errf(err, err_size, "shapes: size %d must be in 32..4096", p->size);
    if (!(p->min_radius >= 1) || !(p->max_radius >= p->min_radius) || p->max_radius > 4096)
        return det_errf(err, err_size, "shapes: radii %g..%g must satisfy 1 <= min <= max", p->min_radius, p->max_radius);
    if (p->max_objects < 0 || p->max_objects > 255) return det_errf(err, err_size, "shapes: max_objects %d must be in 0..255", p->max_objects);
    if (p->max_clutter < 0 || p->max_clutter > 1000) return det_errf(err, err_size, "shapes: max_clutter %d must be in 0..1000", p->max_clutter);
    if (p->jpeg_quality < 1 || p->jpeg_quality > 100) return det_errf(err, err_size, "shapes: jpeg_quality %d must be in 1..100", p->jpeg_quality);
    if (!(p->p_empty >= 0 && p->p_empty <= 1) || !(p->p_overlap >= 0 && p->p_overlap <= 1) || !(p->max_hidden >= 0 && p->max_hidden <= 1) ||
        !(p->p_clutter_over >= 0 && p->p_clutter_over <= 1))
        return det_errf(err, err_size, "shapes: probabilities must be in [0, 1]");
    if (!(p->max_noise >= 2 && p->max_noise <= 100)) return det_errf(err, err_size, "shapes: max_noise %g must be in 2..100", p->max_noise);
    return 0;
}

static int data__gen_split(const char * root, const struct shapes_params * p, int split, struct shapes_stats * st,
                           char * err, size_t err_size) {
    const int n = split ? p->n_val : p->n_train, mo = p->max_objects > 0 ? p->max_objects : 1;
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", root, data__split_name(split));
    if (mkdir(path, 0777) != 0) return det_errf(err, err_size, "%s: cannot create (%s)", path, strerror(errno));
    struct data__shapes_job j;
    memset(&j, 0, sizeof(j));
    j.p = p; j.root = root; j.split = split; j.n = n;
    j.imgs = (struct data__shapes_img *) calloc((size_t) (n ? n : 1), sizeof(*j.imgs));
    float * fl = (float *) malloc(sizeof(float) * (size_t) (n ? n : 1) * mo * 6);
    int32_t * cl = (int32_t *) malloc(sizeof(int32_t) * (size_t) (n ? n : 1) * mo);
    if (!j.imgs || !fl || !cl) { free(j.imgs); free(fl); free(cl); return det_errf(err, err_size, "shapes: out of memory"); }
    for (int i = 0; i < n; i++) {
        j.imgs[i].boxes = fl + (size_t) i * mo * 6;
        j.imgs[i].hidden = j.imgs[i].boxes + 4 * mo;
        j.imgs[i].area = j.imgs[i].hidden + mo;
        j.imgs[i].cls = cl + (size_t) i * mo;
    }
    atomic_init(&j.next, 0);
    atomic_init(&j.failed, 0);
    pthread_mutex_init(&j.mu, NULL);
    int nt = p->n_threads < 1 ? 1 : p->n_threads > 64 ? 64 : p->n_threads;
    pthread_t th[64];
    int started = 0;
    for (int t = 1; t < nt; t++)
        if (pthread_create(&th[started], NULL, data__shapes_worker, &j) == 0) started++;
    data__shapes_worker(&j);
    for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
    pthread_mutex_destroy(&j.mu);
    int rc = 0;
    if (atomic_load(&j.failed)) rc = det_errf(err, err_size, "%s", j.err);
    if (!rc) {
        snprintf(path, sizeof(path), "%s/annotations/instances_%s.json", root, data__split_name(split));
        rc = data__write_json(path, p, split, j.imgs, n, err, err_size);
    }
    if (!rc && st)
        for (int i = 0; i < n; i++) {
            const struct data__shapes_img * d = &j.imgs[i];
            st->images++;
            st->empty += d->n == 0;
            st->objects += d->n;
            st->dropped += d->dropped;
            for (int k = 0; k < d->n; k++) {
                const float * b = d->boxes + 4 * k;
                st->small += (b[2] - b[0]) * (b[3] - b[1]) < 32.0f * 32.0f;
                st->occluded += d->hidden[k] >= 1.0f / 3.0f;
                st->per_class[d->cls[k]]++;
            }
        }
    free(j.imgs); free(fl); free(cl);
    return rc;
}

int shapes_generate_stats(const char * dir, const struct shapes_params * p, struct shapes_stats * st, char * err,
                          size_t err_size) {
    if (st) memset(st, 0, sizeof(*st));
    if (data__check_params(p, err, err_size)) return -1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char root[4096], path[4200];
    int k = snprintf(root, sizeof(root), "%s.tmp-%ld", dir, (long) getpid());
    if (k < 0 || (size_t) k >= sizeof(root) - 64) return det_errf(err, err_size, "%s: path too long", dir);
    data__rm_tree(root);   // a leftover of this very pid (a reused pid's earlier run)
    if (mkdir(root, 0777) != 0) return det_errf(err, err_size, "%s: cannot create (%s)", root, strerror(errno));
    snprintf(path, sizeof(path), "%s/annotations", root);
    int rc = mkdir(path, 0777) != 0 ? det_errf(err, err_size, "%s: cannot create (%s)", path, strerror(errno)) : 0;
    for (int split = 0; split < 2 && !rc; split++) rc = data__gen_split(root, p, split, st, err, err_size);
    if (!rc) {
        char text[1024];
        data__marker_text(p, text, sizeof(text));
        snprintf(path, sizeof(path), "%s/shapes.done", root);
        FILE * f = fopen(path, "wb");
        if (!f || fputs(text, f) < 0) rc = det_errf(err, err_size, "%s: cannot write", path);
        if (f && fclose(f) != 0 && !rc) rc = det_errf(err, err_size, "%s: cannot write", path);
    }
    if (!rc && rename(root, dir) != 0)
        rc = det_errf(err, err_size, "%s: cannot move the generated set into place (%s)", dir, strerror(errno));
    if (rc) data__rm_tree(root);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (st) st->seconds = (double) (t1.tv_sec - t0.tv_sec) + 1e-9 * (double) (t1.tv_nsec - t0.tv_nsec);
    return rc;
}

int shapes_generate(const char * dir, const struct shapes_params * p, char * err, size_t err_size) {
    return shapes_generate_stats(dir, p, NULL, err, err_size);
}

// 1: dir holds a marker equal to the parameters', 0: a different or no marker, -1: no dir
static int data__marker_state(const char * dir, const struct shapes_params * p, int * empty) {
    struct stat sb;
    *empty = 0;
    if (stat(dir, &sb) != 0) return -1;
    char path[4200], want[1024], have[1024];
    snprintf(path, sizeof(path), "%s/shapes.done", dir);
    FILE * f = fopen(path, "rb");
    if (!f) {
        DIR * d = opendir(dir);
        if (d) {
            struct dirent * e;
            int n = 0;
            while ((e = readdir(d)) != NULL) if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
            closedir(d);
            *empty = n == 0;
        }
        return 0;
    }
    size_t n = fread(have, 1, sizeof(have) - 1, f);
    fclose(f);
    have[n] = '\0';
    data__marker_text(p, want, sizeof(want));
    return strcmp(want, have) == 0 ? 1 : 2;
}

static int data__mkdir_p(const char * path) {
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(buf)) return -1;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++)
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) return -1;
            buf[i] = c;
        }
    return 0;
}

int shapes_ensure(const char * dir, const struct shapes_params * p, FILE * log, char * err, size_t err_size) {
    int empty;
    int s = data__marker_state(dir, p, &empty);
    if (s == 1) return 0;
    if (s == 2)
        return det_errf(err, err_size, "%s: a shapes set made with other parameters (see %s/shapes.done); delete the folder "
                        "to regenerate it", dir, dir);
    if (s == 0 && !empty)
        return det_errf(err, err_size, "%s: exists but is not a complete shapes set (no shapes.done); delete it to "
                        "regenerate it", dir);
    if (s == 0 && rmdir(dir) != 0) return det_errf(err, err_size, "%s: cannot replace the empty folder (%s)", dir, strerror(errno));
    // the parent folder
    char parent[4096];
    snprintf(parent, sizeof(parent), "%s", dir);
    char * slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = '\0';
        if (data__mkdir_p(parent)) return det_errf(err, err_size, "%s: cannot create (%s)", parent, strerror(errno));
    }
    if (log) {
        fprintf(log, "generating the shapes dataset in %s (%d train + %d val images, %d x %d, seed %llu)\n", dir, p->n_train,
                p->n_val, p->size, p->size, (unsigned long long) p->seed);
        fflush(log);
    }
    struct shapes_stats st;
    if (shapes_generate_stats(dir, p, &st, err, err_size)) {
        // another process may have generated it meanwhile
        if (data__marker_state(dir, p, &empty) == 1) return 0;
        return -1;
    }
    if (log) {
        fprintf(log, "shapes: %lld images (%lld empty), %lld objects (%lld small, %lld occluded >= 1/3), %.1f s\n",
                (long long) st.images, (long long) st.empty, (long long) st.objects, (long long) st.small,
                (long long) st.occluded, st.seconds);
        fflush(log);
    }
    return 0;
}
