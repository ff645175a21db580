// coco-gen: writes deterministic COCO-shaped annotation and results files (see tools/coco-gen.h).
//
//     tools/coco-gen [--preset small|val2017|train2017] [--images N] [--gts-per-image N]
//                    [--dets-per-image N] [--categories N] [--seed S] [--polygons] [--edge-cases]
//                    GT.json [DETS.json]
//
// Presets: small = the cross-check case of tests/data/coco/ (300 images, 12 categories, edge
// cases); val2017 = the benchmark case (5,000 images, ~35,000 gts, ~500,000 detections);
// train2017 = the reader benchmark (118,287 images, ~830,000 annotations with polygons, ~450 MB).
// The preset sets every value first; the other options override it, wherever they appear.
// A bad argument is one line on stderr naming it, and exit status 2; --help prints the usage.
#include "../detector/json.c"
#include "coco-gen.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

// The largest values that the generator honours: the reader takes at most 2^31 - 1 images, an
// image holds at most 64 gts (so a mean of 32) and 1024 detections (so a mean of 512).
#define MAX_IMAGES         2147483647LL
#define MAX_GTS_PER_IMAGE  32
#define MAX_DETS_PER_IMAGE 512

static void usage(FILE * f) {
    fprintf(f,
        "usage: tools/coco-gen [options] GT.json [DETS.json]\n"
        "Writes a deterministic COCO annotation file (GT.json) and, if named, a results file.\n"
        "  --preset NAME         small (default: 300 images, 12 categories, edge cases),\n"
        "                        val2017 (5,000 images) or train2017 (118,287 images, polygons);\n"
        "                        the options below override it wherever they appear\n"
        "  --images N            number of images, 1 to %lld\n"
        "  --gts-per-image N     mean annotations per image, 0 to %d\n"
        "  --dets-per-image N    mean detections per image, 0 to %d\n"
        "  --categories N        number of categories (COCO's first N), 1 to 80\n"
        "  --seed S              seed of the generator, an unsigned 64-bit integer\n"
        "  --polygons            train2017-like segmentations and extra fields\n"
        "  --edge-cases          an image with over 100 detections of one category, a category\n"
        "                        without detections and one without gts\n"
        "  -h, --help            print this and exit\n",
        MAX_IMAGES, MAX_GTS_PER_IMAGE, MAX_DETS_PER_IMAGE);
}

// One line on stderr ("coco-gen: ..."; control characters in arguments shown as '?'), status 2.
static int usage_error(const char * fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fputs("coco-gen: ", stderr);
    for (const char * c = msg; *c; c++) fputc((unsigned char) *c < 0x20 ? '?' : *c, stderr);
    fputc('\n', stderr);
    return 2;
}

// s as a decimal integer (digits only, nothing else) in [lo, hi]: 0, or -1 (not an integer)
// or -2 (out of range).
static int parse_u64(const char * s, uint64_t lo, uint64_t hi, uint64_t * out) {
    if (!(*s >= '0' && *s <= '9')) return -1;
    uint64_t v = 0;
    int big = 0;
    for (; *s; s++) {
        if (!(*s >= '0' && *s <= '9')) return -1;
        unsigned d = (unsigned) (*s - '0');
        if (v > (UINT64_MAX - d) / 10) big = 1;
        else v = v * 10 + d;
    }
    if (big || v < lo || v > hi) return -2;
    *out = v;
    return 0;
}

static int write_file(const char * path, int dets, const struct coco_gen_params * p) {
    FILE * f = fopen(path, "wb");
    if (!f) { fprintf(stderr, "coco-gen: cannot create %s: %s\n", path, strerror(errno)); return -1; }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    int rc = dets ? coco_gen_write_dets(f, p) : coco_gen_write_gt(f, p);
    if (fclose(f) != 0) rc = -1;
    if (rc) fprintf(stderr, "coco-gen: writing %s failed\n", path);
    return rc;
}

// the options that take a number: where it goes, its range, and how to say what it must be
struct num_opt {
    const char * name;
    uint64_t lo, hi;
    const char * what;      // "a positive integer", ...
    int set;
    uint64_t v;
};

int main(int argc, char ** argv) {
    enum { O_IMAGES, O_GTS, O_DETS, O_CATS, O_SEED, O_COUNT };
    struct num_opt num[O_COUNT] = {
        { "--images",         1, MAX_IMAGES,         "a positive integer", 0, 0 },
        { "--gts-per-image",  0, MAX_GTS_PER_IMAGE,  "an integer >= 0",    0, 0 },
        { "--dets-per-image", 0, MAX_DETS_PER_IMAGE, "an integer >= 0",    0, 0 },
        { "--categories",     1, 80,                 "a positive integer", 0, 0 },
        { "--seed",           0, UINT64_MAX,         "an unsigned integer", 0, 0 },
    };
    const char * preset = "small";
    int polygons = 0, edge_cases = 0;
    const char * out[2] = { NULL, NULL };
    int n_out = 0;
    if (argc < 2) { usage(stderr); return 2; }
    for (int i = 1; i < argc; i++) {
        const char * a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) { usage(stdout); return 0; }
        if (strcmp(a, "--polygons") == 0) { polygons = 1; continue; }
        if (strcmp(a, "--edge-cases") == 0) { edge_cases = 1; continue; }
        int k = -1;
        for (int j = 0; j < O_COUNT; j++) if (strcmp(a, num[j].name) == 0) k = j;
        if (k >= 0 || strcmp(a, "--preset") == 0) {
            if (i + 1 >= argc) return usage_error("%s needs a value (see --help)", a);
            const char * v = argv[++i];
            if (k < 0) {
                struct coco_gen_params tmp;
                if (coco_gen_preset(&tmp, v)) return usage_error("unknown preset '%s' (expected small, val2017 or train2017)", v);
                preset = v;
                continue;
            }
            int rc = parse_u64(v, num[k].lo, num[k].hi, &num[k].v);
            if (rc == -1) return usage_error("%s: '%s' is not %s", a, v, num[k].what);
            if (rc == -2) {
                if (num[k].hi == UINT64_MAX) return usage_error("%s: '%s' is too large (at most %llu)", a, v, (unsigned long long) num[k].hi);
                return usage_error("%s: '%s' is out of range (%llu to %llu)", a, v,
                                   (unsigned long long) num[k].lo, (unsigned long long) num[k].hi);
            }
            num[k].set = 1;
            continue;
        }
        if (a[0] == '-') return usage_error("unknown option '%s' (see --help)", a);
        if (n_out == 2) return usage_error("too many arguments: '%s' (expected GT.json [DETS.json])", a);
        out[n_out++] = a;
    }
    if (n_out == 0) return usage_error("no output file: expected GT.json [DETS.json] (see --help)");

    struct coco_gen_params p;
    coco_gen_preset(&p, preset);
    if (num[O_IMAGES].set) p.n_images = (int64_t) num[O_IMAGES].v;
    if (num[O_GTS].set)    p.gts_per_image = (int) num[O_GTS].v;
    if (num[O_DETS].set)   p.dets_per_image = (int) num[O_DETS].v;
    if (num[O_CATS].set)   p.n_categories = (int) num[O_CATS].v;
    if (num[O_SEED].set)   p.seed = num[O_SEED].v;
    if (polygons) p.polygons = 1;
    if (edge_cases) p.edge_cases = 1;
    if (write_file(out[0], 0, &p)) return 1;
    if (out[1] && write_file(out[1], 1, &p)) return 1;
    return 0;
}
