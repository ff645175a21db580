// shapes-gen: writes a `shapes` detection set (detector/data-shapes.h) in COCO's layout into a
// new folder, with its statistics; the detector makes data/shapes itself on first use, this
// tool makes variants (smaller sets for tests, other sizes).
//
//     tools/shapes-gen DIR [--train N] [--val N] [--size S] [--seed S]
//                          [--radius MIN MAX] [--objects N] [--clutter N] [--clutter-over PCT]
//                          [--overlap PCT] [--hidden PCT] [--noise SIGMA]
//
// --radius: the objects' circumradius range in pixels at size 256 (scaled with --size);
// --objects: at most N objects per image; --clutter: at most N distractors per image, of which
// PCT percent (--clutter-over) are drawn over the objects; --overlap: percent of the objects
// placed over an earlier one; --hidden: objects hidden by more than PCT percent are not
// annotated; --noise: the largest sensor-noise sigma (each image draws one in [2, SIGMA]).
//
// Exit status 2 with one line on stderr for bad arguments or a folder that exists.
#include "../detector/json.c"
#include "../detector/data-stb.c"
#include "../detector/data-image.c"
#include "../detector/data-shapes.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int arg_int(const char * opt, const char * v, long lo, long hi, long * out) {
    char * end = NULL;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || !*v || *end || x < lo || x > hi) {
        fprintf(stderr, "shapes-gen: %s needs an integer in [%ld, %ld]\n", opt, lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

int main(int argc, char ** argv) {
    struct shapes_params p;
    shapes_params_default(&p);
    const char * dir = NULL;
#if defined(__SANITIZE_ADDRESS__)
    // the sanitized build (make SANITIZE=1): stb_image_write's JPEG encoder shifts a negative
    // int, which UBSan stops at (see detector/data-stb.c), so this build writes PNG files
    p.png = 1;
#endif
    for (int i = 1; i < argc; i++) {
        long x;
        const char * v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--help") == 0) {
            printf("usage: tools/shapes-gen DIR [--train N] [--val N] [--size S] [--seed S] [--radius MIN MAX] [--objects N] [--clutter N]\n"
                   "                        [--clutter-over PCT] [--overlap PCT] [--hidden PCT] [--noise SIGMA]\n"
                   "  defaults: %d, %d, %d, %llu, radius %g..%g px at size 256, %d objects, %d distractors (%.0f%% over the objects),\n"
                   "  %.0f%% overlapping, hidden > %.0f%% not annotated, noise sigma 2..%g\n",
                   p.n_train, p.n_val, p.size, (unsigned long long) p.seed, (double) p.min_radius, (double) p.max_radius,
                   p.max_objects, p.max_clutter, 100.0 * p.p_clutter_over, 100.0 * p.p_overlap, 100.0 * p.max_hidden, (double) p.max_noise);
            return 0;
        } else if (strcmp(argv[i], "--train") == 0) { if (arg_int(argv[i], v, 1, 10000000, &x)) return 2; p.n_train = (int) x; i++; }
        else if (strcmp(argv[i], "--val") == 0) { if (arg_int(argv[i], v, 1, 10000000, &x)) return 2; p.n_val = (int) x; i++; }
        else if (strcmp(argv[i], "--size") == 0) { if (arg_int(argv[i], v, 32, 4096, &x)) return 2; p.size = (int) x; i++; }
        else if (strcmp(argv[i], "--seed") == 0) { if (arg_int(argv[i], v, 0, 2147483647L, &x)) return 2; p.seed = (uint64_t) x; i++; }
        else if (strcmp(argv[i], "--radius") == 0) {
            long lo, hi;
            if (arg_int(argv[i], v, 1, 1000, &lo) || arg_int(argv[i], i + 2 < argc ? argv[i + 2] : NULL, lo, 1000, &hi)) return 2;
            p.min_radius = (float) lo; p.max_radius = (float) hi; i += 2;
        }
        else if (strcmp(argv[i], "--objects") == 0) { if (arg_int(argv[i], v, 1, 64, &x)) return 2; p.max_objects = (int) x; i++; }
        else if (strcmp(argv[i], "--clutter") == 0) { if (arg_int(argv[i], v, 0, 64, &x)) return 2; p.max_clutter = (int) x; i++; }
        else if (strcmp(argv[i], "--clutter-over") == 0) { if (arg_int(argv[i], v, 0, 100, &x)) return 2; p.p_clutter_over = (float) x / 100.0f; i++; }
        else if (strcmp(argv[i], "--overlap") == 0) { if (arg_int(argv[i], v, 0, 100, &x)) return 2; p.p_overlap = (float) x / 100.0f; i++; }
        else if (strcmp(argv[i], "--hidden") == 0) { if (arg_int(argv[i], v, 0, 100, &x)) return 2; p.max_hidden = (float) x / 100.0f; i++; }
        else if (strcmp(argv[i], "--noise") == 0) { if (arg_int(argv[i], v, 2, 100, &x)) return 2; p.max_noise = (float) x; i++; }
        else if (argv[i][0] == '-') { fprintf(stderr, "shapes-gen: unknown option '%s' (--help)\n", argv[i]); return 2; }
        else if (!dir) dir = argv[i];
        else { fprintf(stderr, "shapes-gen: one DIR only\n"); return 2; }
    }
    if (!dir) { fprintf(stderr, "shapes-gen: no DIR (--help)\n"); return 2; }
    char err[1024];
    struct shapes_stats st;
    if (shapes_generate_stats(dir, &p, &st, err, sizeof err)) { fprintf(stderr, "shapes-gen: %s\n", err); return 2; }
    printf("shapes-gen: %s: %lld images (%lld empty), %lld objects: %.0f%% smaller than 32x32, %.0f%% occluded by a third or more; %.1f s\n",
           dir, (long long) st.images, (long long) st.empty, (long long) st.objects,
           100.0 * (double) st.small / (double) (st.objects ? st.objects : 1),
           100.0 * (double) st.occluded / (double) (st.objects ? st.objects : 1), st.seconds);
    return 0;
}
