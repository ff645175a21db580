// coco-gen: writes deterministic COCO-shaped annotation and results files (see tools/coco-gen.h).
//
//     tools/coco-gen [--preset small|val2017|train2017] [--images N] [--gts-per-image N]
//                    [--dets-per-image N] [--categories N] [--seed S] [--polygons] [--edge-cases]
//                    GT.json [DETS.json]
//
// Presets: small = the cross-check case of tests/data/coco/ (300 images, 12 categories, edge
// cases); val2017 = the benchmark case (5,000 images, ~35,000 gts, ~500,000 detections);
// train2017 = the reader benchmark (118,287 images, ~830,000 annotations with polygons, ~450 MB).
#include "../detector/json.c"
#include "coco-gen.h"

#include <stdlib.h>
#include <string.h>

static int write_file(const char * path, int dets, const struct coco_gen_params * p) {
    FILE * f = fopen(path, "wb");
    if (!f) { fprintf(stderr, "coco-gen: cannot create %s\n", path); return -1; }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    int rc = dets ? coco_gen_write_dets(f, p) : coco_gen_write_gt(f, p);
    if (fclose(f) != 0) rc = -1;
    if (rc) fprintf(stderr, "coco-gen: writing %s failed\n", path);
    return rc;
}

int main(int argc, char ** argv) {
    struct coco_gen_params p;
    coco_gen_preset(&p, "small");
    const char * out[2] = { NULL, NULL };
    int n_out = 0;
    for (int i = 1; i < argc; i++) {
        const char * a = argv[i];
        const char * v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--preset") == 0 && v) { if (coco_gen_preset(&p, v)) { fprintf(stderr, "coco-gen: unknown preset %s\n", v); return 2; } i++; }
        else if (strcmp(a, "--images") == 0 && v) { p.n_images = atoll(v); i++; }
        else if (strcmp(a, "--gts-per-image") == 0 && v) { p.gts_per_image = atoi(v); i++; }
        else if (strcmp(a, "--dets-per-image") == 0 && v) { p.dets_per_image = atoi(v); i++; }
        else if (strcmp(a, "--categories") == 0 && v) { p.n_categories = atoi(v); i++; }
        else if (strcmp(a, "--seed") == 0 && v) { p.seed = strtoull(v, NULL, 10); i++; }
        else if (strcmp(a, "--polygons") == 0) p.polygons = 1;
        else if (strcmp(a, "--edge-cases") == 0) p.edge_cases = 1;
        else if (a[0] == '-') { fprintf(stderr, "coco-gen: unknown option %s\n", a); return 2; }
        else if (n_out < 2) out[n_out++] = a;
        else { fprintf(stderr, "coco-gen: too many arguments\n"); return 2; }
    }
    if (n_out == 0 || p.n_images < 1 || p.n_categories < 1 || p.n_categories > 80 || p.gts_per_image < 0 ||
        p.dets_per_image < 0) {
        fprintf(stderr, "usage: tools/coco-gen [--preset small|val2017|train2017] [--images N] [--gts-per-image N]\n"
                        "       [--dets-per-image N] [--categories N<=80] [--seed S] [--polygons] [--edge-cases] GT.json [DETS.json]\n");
        return 2;
    }
    if (write_file(out[0], 0, &p)) return 1;
    if (out[1] && write_file(out[1], 1, &p)) return 1;
    return 0;
}
