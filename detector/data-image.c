// data-image.c - see data-image.h: decoding through stb_image, PNG/JPEG writing, the test-time
// resize / normalise / pad rule.
#include "data-image.h"
#include "data-stb.c"
#include "det-err.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int image_read_file(const char * path, uint8_t ** data, size_t * n, char * err, size_t err_size) {
    *data = NULL;
    *n = 0;
    FILE * f = fopen(path, "rb");
    if (!f) return det_errf(err, err_size, "%s: cannot open (%s)", path, strerror(errno));
    size_t cap = 0, len = 0;
    uint8_t * buf = NULL;
    for (;;) {
        if (len == cap) {
            size_t nc = cap ? cap * 2 : 65536;
            uint8_t * nb = (uint8_t *) realloc(buf, nc);
            if (!nb) { free(buf); fclose(f); return det_errf(err, err_size, "%s: out of memory reading the file", path); }
            buf = nb;
            cap = nc;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) { free(buf); return det_errf(err, err_size, "%s: read error", path); }
    if (len == 0) { free(buf); buf = NULL; }
    *data = buf;
    *n = len;
    return 0;
}

// Checks of a JPEG (FF... D8 ...) made before stb_image sees it; 0 or -1 with *why:
//   - the marker segments are walked (entropy-coded data skipped up to the next marker that is
//     not FF 00 or a restart marker); every DHT table must have at most 256 codes (stb_image
//     2.27 writes past its table otherwise; later versions check it);
//   - an end-of-image marker (FF D9) must follow the last start-of-scan (a truncated file).
static int data__jpeg_check(const uint8_t * p, size_t n, const char ** why) {
    // stb_image takes any run of FF bytes before D8 as the start-of-image marker
    size_t i = 0;
    while (i < n && p[i] == 0xFF) i++;
    if (i == 0 || i >= n || p[i] != 0xD8) return 0;   // not a JPEG: stb decides
    i++;
    int seen_sos = 0;
    for (;;) {
        while (i < n && p[i] != 0xFF) i++;            // (garbage between segments: stb skips it too)
        while (i < n && p[i] == 0xFF) i++;            // fill bytes
        if (i >= n) { *why = seen_sos ? "truncated JPEG: no end-of-image marker" : "JPEG without image data"; return -1; }
        uint8_t m = p[i++];
        if (m == 0xD9) return seen_sos ? 0 : (*why = "JPEG without image data", -1);
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD7) || m == 0x00) continue;
        if (i + 2 > n) { *why = "truncated JPEG: no end-of-image marker"; return -1; }
        size_t len = ((size_t) p[i] << 8) | p[i + 1];
        if (len < 2 || i + len > n) { *why = "truncated JPEG: no end-of-image marker"; return -1; }
        if (m == 0xC4) {   // DHT: tables of (class/id, 16 counts, symbols)
            size_t j = i + 2, end = i + len;
            while (j < end) {
                if (j + 17 > end) { *why = "corrupt JPEG (bad DHT segment)"; return -1; }
                size_t sum = 0;
                for (int k = 0; k < 16; k++) sum += p[j + 1 + k];
                if (sum > 256) { *why = "corrupt JPEG (Huffman table with more than 256 codes)"; return -1; }
                j += 17 + sum;
            }
            if (j != end) { *why = "corrupt JPEG (bad DHT segment)"; return -1; }
        }
        i += len;
        if (m == 0xDA) {   // entropy-coded data up to the next real marker
            seen_sos = 1;
            while (i + 1 < n && !(p[i] == 0xFF && p[i + 1] != 0x00 && !(p[i + 1] >= 0xD0 && p[i + 1] <= 0xD7))) i++;
            if (i + 1 >= n) { *why = "truncated JPEG: no end-of-image marker"; return -1; }
        }
    }
}

// A binary PNM (P5, P6: what stb_image reads) that stb_image 2.27 mishandles: 1 when a header
// number has more than 9 digits (an int overflow), 2 when it is 16-bit (maxval > 255: its
// 16-to-8 conversion reads past the buffer on a short file).
static int data__pnm_bad(const uint8_t * p, size_t n) {
    if (n < 2 || p[0] != 'P' || (p[1] != '5' && p[1] != '6')) return 0;
    size_t i = 2;
    for (int k = 0; k < 3; k++) {
        for (;;) {   // whitespace and comments, as stb skips them
            while (i < n && (p[i] == ' ' || (p[i] >= '\t' && p[i] <= '\r'))) i++;
            if (i < n && p[i] == '#') { while (i < n && p[i] != '\n' && p[i] != '\r') i++; continue; }
            break;
        }
        size_t d = 0;
        long v = 0;
        while (i < n && p[i] >= '0' && p[i] <= '9') { if (d < 10) v = v * 10 + (p[i] - '0'); i++; d++; }
        if (d > 9) return 1;
        if (d == 0) return 0;   // stb rejects it itself
        if (k == 2 && v > 255) return 2;
    }
    return 0;
}

// A PNG with empty IDAT chunks: stb_image 2.27 does pointer arithmetic on its NULL buffer for a
// first empty one (undefined, though nothing is read). Returns a malloc'd copy without them (same
// image: IDAT data is one stream split anywhere), or NULL when there are none (or no memory).
static uint8_t * data__png_drop_empty_idat(const uint8_t * p, size_t n, size_t * out_n) {
    static const uint8_t sig[8] = { 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A };
    if (n < 8 || memcmp(p, sig, 8) != 0) return NULL;
    int found = 0;
    for (size_t i = 8; i + 12 <= n;) {
        size_t len = ((size_t) p[i] << 24) | ((size_t) p[i + 1] << 16) | ((size_t) p[i + 2] << 8) | p[i + 3];
        if (len == 0 && memcmp(p + i + 4, "IDAT", 4) == 0) { found = 1; break; }
        if (len > n - i - 12) break;
        i += 12 + len;
    }
    if (!found) return NULL;
    uint8_t * q = (uint8_t *) malloc(n);
    if (!q) return NULL;
    memcpy(q, p, 8);
    size_t k = 8, i = 8;
    while (i + 12 <= n) {
        size_t len = ((size_t) p[i] << 24) | ((size_t) p[i + 1] << 16) | ((size_t) p[i + 2] << 8) | p[i + 3];
        if (len > n - i - 12) break;
        if (!(len == 0 && memcmp(p + i + 4, "IDAT", 4) == 0)) { memcpy(q + k, p + i, 12 + len); k += 12 + len; }
        i += 12 + len;
    }
    memcpy(q + k, p + i, n - i);   // whatever follows (stb decides about it)
    *out_n = k + (n - i);
    return q;
}

// stb_image's failure reason, made printable: its "XXXX PNG chunk not known" carries the file's
// own chunk-type bytes (which may be newlines or NULs)
static const char * data__reason(char * buf, size_t n) {
    const char * r = stbi_failure_reason();
    if (!r || !*r) r = "unknown error";
    size_t k = 0;
    for (; r[k] && k + 1 < n; k++) buf[k] = (r[k] >= 0x20 && r[k] < 0x7f) ? r[k] : '?';
    buf[k] = '\0';
    return buf;
}

static int data__decode(const uint8_t * p, size_t n, const char * name, struct image * im, char * err, size_t err_size);

int image_decode(const void * data, size_t n, const char * name, struct image * im, char * err, size_t err_size) {
    im->w = im->h = 0;
    im->rgb = NULL;
    if (!name) name = "<memory>";
    if (n == 0 || !data) return det_errf(err, err_size, "%s: not a readable image (empty file)", name);
    size_t n2 = 0;
    uint8_t * fixed = data__png_drop_empty_idat((const uint8_t *) data, n, &n2);
    int rc = fixed ? data__decode(fixed, n2, name, im, err, err_size) : data__decode((const uint8_t *) data, n, name, im, err, err_size);
    free(fixed);
    return rc;
}

// A PNG whose chunk says it is longer than the rest of the file is truncated or corrupt; stb_image
// 2.27 would first grow its IDAT buffer to that length (2 GB from a 200-byte file, found by
// fuzz-image). 1 if such a chunk comes before IEND.
static int data__png_chunk_too_long(const uint8_t * p, size_t n) {
    static const uint8_t sig[8] = { 0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a };
    if (n < 8 || memcmp(p, sig, 8) != 0) return 0;
    size_t off = 8;
    while (off + 8 <= n) {
        const uint32_t len = (uint32_t) p[off] << 24 | (uint32_t) p[off + 1] << 16 | (uint32_t) p[off + 2] << 8 | p[off + 3];
        if ((uint64_t) len + 12 > (uint64_t) (n - off)) return 1;
        if (memcmp(p + off + 4, "IEND", 4) == 0) return 0;
        off += 12 + (size_t) len;
    }
    return 0;
}

static int data__decode(const uint8_t * p, size_t n, const char * name, struct image * im, char * err, size_t err_size) {
    if (n > INT_MAX) return det_errf(err, err_size, "%s: not a readable image (file of %zu bytes is too large)", name, n);
    if (data__png_chunk_too_long(p, n))
        return det_errf(err, err_size, "%s: not a readable image (a PNG chunk is longer than the file: truncated or corrupt)", name);
    char why_buf[128];
    const char * why = NULL;   // before stbi_info, which already reads the Huffman tables
    if (data__jpeg_check(p, n, &why)) return det_errf(err, err_size, "%s: not a readable image (%s)", name, why);
    int pnm = data__pnm_bad(p, n);
    if (pnm) return det_errf(err, err_size, "%s: not a readable image (%s)", name,
                             pnm == 1 ? "PNM header number too large" : "16-bit PNM is not supported");
    struct data__blk * mark = data__stb_mark();
    int w = 0, h = 0, comp = 0;
    int info = stbi_info_from_memory(p, (int) n, &w, &h, &comp);
    data__stb_free_since(mark);
    if (!info)
        return det_errf(err, err_size, "%s: not a readable image (%s)", name, data__reason(why_buf, sizeof(why_buf)));
    if (w < 1 || h < 1) return det_errf(err, err_size, "%s: not a readable image (size %d x %d)", name, w, h);
    if ((int64_t) w * h > IMAGE_MAX_PIXELS)
        return det_errf(err, err_size, "%s: image of %d x %d pixels is larger than the limit of %d pixels", name, w, h,
                        IMAGE_MAX_PIXELS);
    int w2 = 0, h2 = 0;
    uint8_t * rgb = stbi_load_from_memory(p, (int) n, &w2, &h2, &comp, 3);
    if (!rgb) {
        data__stb_free_since(mark);
        return det_errf(err, err_size, "%s: not a readable image (%s)", name, data__reason(why_buf, sizeof(why_buf)));
    }
    if (w2 != w || h2 != h) {   // info and load disagree (should not happen): refuse
        data__stb_free_since(mark);
        return det_errf(err, err_size, "%s: not a readable image (inconsistent size)", name);
    }
    // stb's blocks are its own (see data-stb.c): the pixels move to a plain malloc'd buffer
    uint8_t * px = (uint8_t *) malloc((size_t) w * (size_t) h * 3);
    if (px) memcpy(px, rgb, (size_t) w * (size_t) h * 3);
    data__stb_free_since(mark);
    if (!px) return det_errf(err, err_size, "%s: out of memory for a %d x %d image", name, w, h);
    im->w = w;
    im->h = h;
    im->rgb = px;
    return 0;
}

int image_load(const char * path, struct image * im, char * err, size_t err_size) {
    uint8_t * data;
    size_t n;
    im->w = im->h = 0;
    im->rgb = NULL;
    if (image_read_file(path, &data, &n, err, err_size)) return -1;
    int rc = image_decode(data, n, path, im, err, err_size);
    free(data);
    return rc;
}

void image_free(struct image * im) {
    if (!im) return;
    free(im->rgb);
    im->rgb = NULL;
    im->w = im->h = 0;
}

int image_alloc(struct image * im, int w, int h) {
    im->w = im->h = 0;
    im->rgb = NULL;
    if (w < 1 || h < 1 || (int64_t) w * h > IMAGE_MAX_PIXELS) return -1;
    im->rgb = (uint8_t *) calloc((size_t) w * (size_t) h * 3, 1);
    if (!im->rgb) return -1;
    im->w = w;
    im->h = h;
    return 0;
}

// ---- writing ---------------------------------------------------------------------------------

struct data__wctx { FILE * f; int failed; };

static void data__write_fn(void * ctx, void * data, int size) {
    struct data__wctx * c = (struct data__wctx *) ctx;
    if (size > 0 && fwrite(data, 1, (size_t) size, c->f) != (size_t) size) c->failed = 1;
}

// kind 0: PNG, 1: JPEG
static int data__write(const char * path, const struct image * im, int kind, int quality, char * err, size_t err_size) {
    if (!im || !im->rgb || im->w < 1 || im->h < 1) return det_errf(err, err_size, "%s: no image to write", path);
    char tmp[4096];   // unique per process and thread (a thread writes one file at a time)
    int k = snprintf(tmp, sizeof(tmp), "%s.tmp-%ld-%lx", path, (long) getpid(), (unsigned long) pthread_self());
    if (k < 0 || (size_t) k >= sizeof(tmp)) return det_errf(err, err_size, "%s: path too long", path);
    FILE * f = fopen(tmp, "wb");
    if (!f) return det_errf(err, err_size, "%s: cannot create (%s)", tmp, strerror(errno));
    struct data__wctx c = { f, 0 };
    int ok = kind == 0 ? stbi_write_png_to_func(data__write_fn, &c, im->w, im->h, 3, im->rgb, im->w * 3)
                       : stbi_write_jpg_to_func(data__write_fn, &c, im->w, im->h, 3, im->rgb, quality);
    if (fclose(f) != 0) c.failed = 1;
    if (!ok || c.failed) {
        remove(tmp);
        return det_errf(err, err_size, "%s: write failed (disk full?)", path);
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return det_errf(err, err_size, "%s: cannot rename the temp file into place (%s)", path, strerror(e));
    }
    return 0;
}

int image_write_png(const char * path, const struct image * im, char * err, size_t err_size) {
    return data__write(path, im, 0, 0, err, err_size);
}

int image_write_jpg(const char * path, const struct image * im, int quality, char * err, size_t err_size) {
    if (quality < 1 || quality > 100) return det_errf(err, err_size, "%s: JPEG quality %d is not in 1..100", path, quality);
    return data__write(path, im, 1, quality, err, err_size);
}

// ---- test-time geometry, resize, normalise ---------------------------------------------------

void image_norm_default(struct image_norm * n) {
    n->mean[0] = 123.675f; n->mean[1] = 116.28f; n->mean[2] = 103.53f;
    n->std[0] = 58.395f;   n->std[1] = 57.12f;   n->std[2] = 57.375f;
    n->bgr = 0;
}

void image_test_geom(int w, int h, int short_side, int max_side, int pad, struct test_geom * g) {
    memset(g, 0, sizeof(*g));
    g->in_w = w;
    g->in_h = h;
    if (w < 1 || h < 1 || short_side < 1 || max_side < 1) return;
    double lo = short_side < max_side ? short_side : max_side, hi = short_side < max_side ? max_side : short_side;
    double a = hi / (double) (w > h ? w : h), b = lo / (double) (w < h ? w : h);
    double s = a < b ? a : b;
    double rw = (double) w * s + 0.5, rh = (double) h * s + 0.5;
    g->rw = rw >= 1 ? (rw < INT_MAX / 2 ? (int) rw : INT_MAX / 2) : 1;
    g->rh = rh >= 1 ? (rh < INT_MAX / 2 ? (int) rh : INT_MAX / 2) : 1;
    g->pw = g->rw;
    g->ph = g->rh;
    if (pad > 1) {
        g->pw = (int) (((int64_t) g->rw + pad - 1) / pad * pad);
        g->ph = (int) (((int64_t) g->rh + pad - 1) / pad * pad);
    }
    g->scale_w = (float) g->rw / (float) w;
    g->scale_h = (float) g->rh / (float) h;
}

// cv2 INTER_LINEAR's source index and weight of destination index d (see the header)
static void data__lin_tab(int src, int dst, int * i0, int * i1, float * f) {
    double scale = 1.0 / ((double) dst / (double) src);
    for (int d = 0; d < dst; d++) {
        float fx = (float) ((d + 0.5) * scale - 0.5);
        int sx = (int) floorf(fx);
        fx -= (float) sx;
        if (sx < 0) { sx = 0; fx = 0.0f; }
        if (sx >= src - 1) { sx = src - 1; fx = 0.0f; }
        i0[d] = sx;
        i1[d] = sx + 1 < src ? sx + 1 : src - 1;
        f[d] = fx;
    }
}

void image_resize_bilinear_f(const void * ctx, image_fetch_fn fetch, int sw, int sh, float * dst, int dw, int dh) {
    int * xi = (int *) malloc(sizeof(int) * (size_t) dw * 2);
    int * yi = (int *) malloc(sizeof(int) * (size_t) dh * 2);
    float * xf = (float *) malloc(sizeof(float) * (size_t) dw);
    float * yf = (float *) malloc(sizeof(float) * (size_t) dh);
    if (!xi || !yi || !xf || !yf) { free(xi); free(yi); free(xf); free(yf); memset(dst, 0, sizeof(float) * 3 * (size_t) dw * dh); return; }
    data__lin_tab(sw, dw, xi, xi + dw, xf);
    data__lin_tab(sh, dh, yi, yi + dh, yf);
    for (int y = 0; y < dh; y++) {
        int y0 = yi[y], y1 = yi[dh + y];
        float fy = yf[y];
        for (int x = 0; x < dw; x++) {
            int x0 = xi[x], x1 = xi[dw + x];
            float fx = xf[x], p00[3], p01[3], p10[3], p11[3];
            fetch(ctx, x0, y0, p00); fetch(ctx, x1, y0, p01);
            fetch(ctx, x0, y1, p10); fetch(ctx, x1, y1, p11);
            float * o = dst + ((size_t) y * dw + x) * 3;
            for (int c = 0; c < 3; c++) {
                float top = p00[c] * (1.0f - fx) + p01[c] * fx;
                float bot = p10[c] * (1.0f - fx) + p11[c] * fx;
                o[c] = top * (1.0f - fy) + bot * fy;
            }
        }
    }
    free(xi); free(yi); free(xf); free(yf);
}

int image_to_input(const struct image * im, const struct test_geom * g, const struct image_norm * nm, float * out) {
    if (!im || !im->rgb || !g || !nm || !out || im->w != g->in_w || im->h != g->in_h || g->rw < 1 || g->rh < 1 ||
        g->pw < g->rw || g->ph < g->rh)
        return -1;
    const int sw = im->w, sh = im->h, dw = g->rw, dh = g->rh;
    int * xi = (int *) malloc(sizeof(int) * (size_t) dw * 2);
    int * yi = (int *) malloc(sizeof(int) * (size_t) dh * 2);
    float * xf = (float *) malloc(sizeof(float) * (size_t) dw);
    float * yf = (float *) malloc(sizeof(float) * (size_t) dh);
    float * row = (float *) malloc(sizeof(float) * (size_t) dw * 6);   // two horizontally resized rows
    if (!xi || !yi || !xf || !yf || !row) { free(xi); free(yi); free(xf); free(yf); free(row); return -1; }
    data__lin_tab(sw, dw, xi, xi + dw, xf);
    data__lin_tab(sh, dh, yi, yi + dh, yf);
    float mean[3], inv[3];
    int src_c[3];
    for (int c = 0; c < 3; c++) {
        mean[c] = nm->mean[c];
        inv[c] = (float) (1.0 / (double) nm->std[c]);
        src_c[c] = nm->bgr ? 2 - c : c;
    }
    const size_t plane = (size_t) g->pw * g->ph;
    for (int y = 0; y < dh; y++) {
        float fy = yf[y];
        for (int r = 0; r < 2; r++) {   // horizontal pass on source rows y0 and y1
            const uint8_t * s = im->rgb + (size_t) yi[r * dh + y] * sw * 3;
            float * o = row + (size_t) r * dw * 3;
            for (int x = 0; x < dw; x++) {
                const uint8_t * a = s + (size_t) xi[x] * 3, * b = s + (size_t) xi[dw + x] * 3;
                float fx = xf[x];
                for (int c = 0; c < 3; c++) o[x * 3 + c] = (float) a[c] * (1.0f - fx) + (float) b[c] * fx;
            }
        }
        for (int c = 0; c < 3; c++) {
            float * o = out + c * plane + (size_t) y * g->pw;
            const int sc = src_c[c];
            for (int x = 0; x < dw; x++) {
                float v = row[x * 3 + sc] * (1.0f - fy) + row[(size_t) dw * 3 + x * 3 + sc] * fy;
                o[x] = (v - mean[c]) * inv[c];
            }
            for (int x = dw; x < g->pw; x++) o[x] = 0.0f;
        }
    }
    for (int c = 0; c < 3; c++)
        for (int y = dh; y < g->ph; y++) memset(out + c * plane + (size_t) y * g->pw, 0, sizeof(float) * (size_t) g->pw);
    free(xi); free(yi); free(xf); free(yf); free(row);
    return 0;
}
