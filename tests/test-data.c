// detector/data-*: the shapes generator, image decoding, the test-time rule, the augmentation
// and the loader.
//   1. shapes: a small set generated twice (1 and 2 threads) gives the same bytes; its
//      statistics (>= 6 classes, >= 25% of boxes below 32 x 32, occluded objects, empty
//      images); shapes_ensure keeps a complete set and refuses a foreign folder;
//   2. images: decoding a good JPEG, a PNG round trip, a truncated and a corrupt file and a
//      missing one (errors, no crash);
//   3. the test-time geometry against hand values, image_to_input at scale 1 and 1/2;
//   4. augmentation: boxes stay inside the image, one seed gives one result, the flip maps
//      boxes exactly, the plain resize scales them exactly;
//   5. the loader: 1 and 2 threads give the same batches bit for bit, loader_start(e, k) gives
//      what running through to it gives, the epoch ends after ceil(n / B) batches, a corrupt
//      image is skipped with one warning (training) or flagged (evaluation).
#include "alrp.h"
#include "../detector/json.c"
#include "../detector/coco.c"
#include "../detector/model-anchors.c"
#include "../detector/data-assign.c"
#include "../detector/data-image.c"
#include "../detector/data-augment.c"
#include "../detector/data-shapes.c"
#include "../detector/data-loader.c"
#include "capture-stderr.h"

static int fails = 0;
#define CHECK(c) do { if (!(c)) { fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); fails++; } } while (0)

static char err[2048];
static char root[256];

static int same_file(const char * a, const char * b) {
    uint8_t * da, * db;
    size_t na, nb;
    if (image_read_file(a, &da, &na, err, sizeof(err)) || image_read_file(b, &db, &nb, err, sizeof(err))) return 0;
    int same = na == nb && (na == 0 || memcmp(da, db, na) == 0);
    free(da); free(db);
    return same;
}

#ifdef __SANITIZE_ADDRESS__
// make SANITIZE=1: stb_image_write's JPEG writer trips UBSan (a signed shift, see data-stb.c)
#define EXT "png"
#else
#define EXT "jpg"
#endif

static void small_params(struct shapes_params * p) {
    shapes_params_default(p);
    p->n_train = 80;
    p->n_val = 10;
    p->png = strcmp(EXT, "png") == 0;
}

static void test_shapes(const char * dir_a) {
    struct shapes_params p;
    small_params(&p);
    struct shapes_stats st;
    CHECK(shapes_generate_stats(dir_a, &p, &st, err, sizeof(err)) == 0);
    char dir_b[300];
    snprintf(dir_b, sizeof(dir_b), "%s/b", root);
    p.n_threads = 2;
    CHECK(shapes_generate(dir_b, &p, err, sizeof(err)) == 0);
    char pa[600], pb[600];
    const char * files[] = { "annotations/instances_train2017.json", "annotations/instances_val2017.json", "shapes.done",
                             "train2017/000000000001." EXT, "train2017/000000000040." EXT, "train2017/000000000080." EXT,
                             "val2017/000000000010." EXT };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(pa, sizeof(pa), "%s/%s", dir_a, files[i]);
        snprintf(pb, sizeof(pb), "%s/%s", dir_b, files[i]);
        CHECK(same_file(pa, pb));
    }
    printf("shapes: %lld images, %lld empty, %lld objects, %lld small, %lld occluded, %lld dropped, %.2f s\n",
           (long long) st.images, (long long) st.empty, (long long) st.objects, (long long) st.small, (long long) st.occluded,
           (long long) st.dropped, st.seconds);
    // statistics from the annotation file
    struct coco_dataset ds;
    snprintf(pa, sizeof(pa), "%s/annotations/instances_train2017.json", dir_a);
    CHECK(coco_dataset_load(&ds, pa, err, sizeof(err)) == 0);
    CHECK(ds.n_categories >= 6);
    int64_t small = 0, empty = 0, per_cat[16] = { 0 };
    for (int64_t i = 0; i < ds.n_anns; i++) {
        small += ds.anns[i].bbox[2] * ds.anns[i].bbox[3] < 32.0 * 32.0;
        per_cat[ds.anns[i].category]++;
        CHECK(ds.anns[i].bbox[0] >= 0 && ds.anns[i].bbox[1] >= 0 && ds.anns[i].bbox[0] + ds.anns[i].bbox[2] <= p.size + 0.001 &&
              ds.anns[i].bbox[1] + ds.anns[i].bbox[3] <= p.size + 0.001);
    }
    for (int64_t i = 0; i < ds.n_images; i++) empty += ds.images[i].n_anns == 0;
    for (int64_t k = 0; k < ds.n_categories; k++) CHECK(per_cat[k] > 0);
    CHECK(small * 4 >= ds.n_anns);
    CHECK(empty > 0);
    CHECK(st.occluded > 0 && st.dropped > 0);
    CHECK(st.empty >= empty);   // (val's empties are in st too)
    printf("train: %lld images (%lld empty), %lld boxes, %.0f%% below 32 x 32\n", (long long) ds.n_images, (long long) empty,
           (long long) ds.n_anns, 100.0 * (double) small / (double) ds.n_anns);
    coco_dataset_free(&ds);
    // ensure: a complete set is used as it is, a foreign folder is refused
    p.n_threads = 1;
    FILE * log = tmpfile();
    CHECK(shapes_ensure(dir_a, &p, log, err, sizeof(err)) == 0);
    CHECK(ftell(log) == 0);
    fclose(log);
    struct shapes_params q = p;
    q.seed++;
    CHECK(shapes_ensure(dir_a, &q, NULL, err, sizeof(err)) == -1 && strstr(err, "other parameters"));
    snprintf(pa, sizeof(pa), "%s/foreign", root);
    mkdir(pa, 0777);
    snprintf(pb, sizeof(pb), "%s/foreign/x", root);
    FILE * f = fopen(pb, "w");
    fclose(f);
    CHECK(shapes_ensure(pa, &p, NULL, err, sizeof(err)) == -1 && strstr(err, "not a complete shapes set"));
}

static void test_images(const char * dir) {
    char path[600], bad[600];
    struct image im;
    snprintf(path, sizeof(path), "%s/train2017/000000000003." EXT, dir);
    struct shapes_params p;
    shapes_params_default(&p);
    CHECK(image_load(path, &im, err, sizeof(err)) == 0 && im.w == p.size && im.h == p.size);
    // a 119-byte PNG whose second IDAT claims 4 GB (fuzz-image: stb_image 2.27 grew its buffer
    // to 2 GB before failing): refused up front with one line
    {
        struct image pi;
        CHECK(image_load("tests/fuzz/seeds-image/png-chunk-too-long.png", &pi, err, sizeof(err)) == -1 &&
              strstr(err, "longer than the file") && !strchr(err, '\n') && pi.rgb == NULL);
    }
    // PNG round trip
    snprintf(bad, sizeof(bad), "%s/x.png", root);
    CHECK(image_write_png(bad, &im, err, sizeof(err)) == 0);
    struct image im2;
    CHECK(image_load(bad, &im2, err, sizeof(err)) == 0 && im2.w == im.w && im2.h == im.h &&
          memcmp(im.rgb, im2.rgb, (size_t) im.w * im.h * 3) == 0);
    image_free(&im2);
    image_free(&im);
    uint8_t * data;
    size_t n;
    CHECK(image_read_file(path, &data, &n, err, sizeof(err)) == 0 && n > 1000);
    for (size_t cut = 0; cut < n; cut += n / 7 + 1) {   // truncated: an error every time
        CHECK(image_decode(data, cut, "cut.jpg", &im, err, sizeof(err)) == -1 && im.rgb == NULL);
        image_free(&im);
        CHECK(strncmp(err, "cut.jpg: not a readable image (", 31) == 0);
    }
    if (strcmp(EXT, "jpg") == 0) {   // (stb accepts a PNG whose last CRC is cut off)
        CHECK(image_decode(data, n - 2, "cut.jpg", &im, err, sizeof(err)) == -1 && strstr(err, "truncated") != NULL);
    }
    image_free(&im);
    struct alrp_rng r = { 7 };
    for (size_t i = 600; i < n; i++) data[i] = (uint8_t) alrp_rng_u64(&r);   // garbage after the headers
    int rc = image_decode(data, n, "garbage.jpg", &im, err, sizeof(err));
    if (rc == 0) image_free(&im);   // (a decoder may accept garbage; it must not crash)
    memset(data, 0x5A, n);
    CHECK(image_decode(data, n, "junk.bin", &im, err, sizeof(err)) == -1 && strstr(err, "junk.bin: not a readable image"));
    free(data);
    snprintf(bad, sizeof(bad), "%s/missing.jpg", root);
    CHECK(image_load(bad, &im, err, sizeof(err)) == -1 && strstr(err, "cannot open"));
    CHECK(image_decode(NULL, 0, "empty.jpg", &im, err, sizeof(err)) == -1);
}

static void test_geom(void) {
    struct test_geom g;
    image_test_geom(640, 480, 500, 833, 32, &g);
    CHECK(g.rw == 667 && g.rh == 500 && g.pw == 672 && g.ph == 512);
    CHECK(g.scale_w == 667.0f / 640.0f && g.scale_h == 500.0f / 480.0f);
    image_test_geom(1000, 200, 800, 1333, 32, &g);
    CHECK(g.rw == 1333 && g.rh == 267 && g.pw == 1344 && g.ph == 288);
    image_test_geom(480, 640, 500, 833, 32, &g);
    CHECK(g.rw == 500 && g.rh == 667 && g.pw == 512 && g.ph == 672);
    image_test_geom(500, 375, 500, 833, 0, &g);   // no padding
    CHECK(g.rw == 667 && g.rh == 500 && g.pw == 667 && g.ph == 500);
    // scale 1: exactly the normalised pixels; scale 1/2: the mean of each 2 x 2 block
    struct image im;
    CHECK(image_alloc(&im, 8, 6) == 0);
    for (int i = 0; i < 8 * 6 * 3; i++) im.rgb[i] = (uint8_t) (i * 7 % 251);
    struct image_norm nm;
    image_norm_default(&nm);
    image_test_geom(8, 6, 6, 8, 16, &g);
    CHECK(g.rw == 8 && g.rh == 6 && g.pw == 16 && g.ph == 16);
    float * x = (float *) malloc(sizeof(float) * 3 * 16 * 16);
    CHECK(image_to_input(&im, &g, &nm, x) == 0);
    int ok = 1;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < 16; y++)
            for (int xx = 0; xx < 16; xx++) {
                float v = x[(c * 16 + y) * 16 + xx];
                float want = y < 6 && xx < 8 ? ((float) im.rgb[(y * 8 + xx) * 3 + c] - nm.mean[c]) * (float) (1.0 / nm.std[c]) : 0.0f;
                ok &= v == want;
            }
    CHECK(ok);
    image_test_geom(8, 6, 3, 4, 1, &g);
    CHECK(g.rw == 4 && g.rh == 3);
    CHECK(image_to_input(&im, &g, &nm, x) == 0);
    double maxe = 0;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < 3; y++)
            for (int xx = 0; xx < 4; xx++) {
                double s = 0;
                for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++) s += im.rgb[((2 * y + dy) * 8 + 2 * xx + dx) * 3 + c];
                double want = (s / 4 - nm.mean[c]) / nm.std[c];
                maxe = fmax(maxe, fabs(want - x[(c * 3 + y) * 4 + xx]));
            }
    CHECK(maxe < 1e-5);
    struct image_norm bgr = nm;
    bgr.bgr = 1;
    CHECK(image_to_input(&im, &g, &bgr, x) == 0);
    CHECK(fabsf(x[0] * nm.std[0] + nm.mean[0] - (float) (im.rgb[2] + im.rgb[5] + im.rgb[26] + im.rgb[29]) / 4) < 1e-3f);
    free(x);
    image_free(&im);
}

static void test_augment(const char * dir) {
    char path[600];
    struct image im;
    snprintf(path, sizeof(path), "%s/train2017/000000000002." EXT, dir);
    CHECK(image_load(path, &im, err, sizeof(err)) == 0);
    const float boxes[3 * 4] = { 10, 20, 60, 90, 100.5f, 100.25f, 140, 180, 200, 5, 255, 40 };
    const int32_t cls[3] = { 0, 3, 5 };
    const int S = 128;
    float * x = (float *) malloc(sizeof(float) * 3 * S * S), * y = (float *) malloc(sizeof(float) * 3 * S * S);
    float ob[12], ob2[12];
    int32_t oc[3], oc2[3];
    int on, on2;
    struct augment_params ap;
    augment_params_default(&ap);
    struct image_norm nm;
    image_norm_default(&nm);
    int n_crop = 0, total = 0;
    for (uint64_t seed = 1; seed <= 60; seed++) {
        struct alrp_rng r1 = { seed }, r2 = { seed };
        CHECK(augment_train(&im, 3, boxes, cls, &ap, &r1, S, &nm, x, ob, oc, &on, err, sizeof(err)) == 0);
        CHECK(augment_train(&im, 3, boxes, cls, &ap, &r2, S, &nm, y, ob2, oc2, &on2, err, sizeof(err)) == 0);
        CHECK(on == on2 && memcmp(x, y, sizeof(float) * 3 * S * S) == 0 && memcmp(ob, ob2, sizeof(float) * 4 * (size_t) on) == 0);
        CHECK(on >= 1 && on <= 3);
        n_crop += on < 3;
        total++;
        for (int i = 0; i < on; i++) {
            CHECK(ob[4 * i] >= 0 && ob[4 * i + 1] >= 0 && ob[4 * i + 2] <= S && ob[4 * i + 3] <= S);
            CHECK(ob[4 * i] <= ob[4 * i + 2] && ob[4 * i + 1] <= ob[4 * i + 3]);
            CHECK(oc[i] == 0 || oc[i] == 3 || oc[i] == 5);
        }
        for (int i = 0; i < 3 * S * S; i++) if (!isfinite(x[i])) { CHECK(0); break; }
    }
    CHECK(n_crop > 0 && n_crop < total);   // the crop drops boxes sometimes, not always
    // plain resize: boxes scaled exactly; flip only: x1' = S - x2
    struct augment_params none;
    augment_params_none(&none);
    struct alrp_rng r = { 5 };
    CHECK(augment_train(&im, 3, boxes, cls, &none, &r, S, &nm, x, ob, oc, &on, err, sizeof(err)) == 0 && on == 3);
    const float s = (float) S / (float) im.w;   // the plain resize of the set's image to S x S
    for (int i = 0; i < 12; i++) CHECK(ob[i] == fminf(fmaxf(boxes[i] * s, 0), (float) S));
    struct augment_params fl = none;
    fl.flip = true;
    fl.flip_prob = 1.0f;
    CHECK(augment_train(&im, 3, boxes, cls, &fl, &r, S, &nm, y, ob2, oc2, &on2, err, sizeof(err)) == 0 && on2 == 3);
    for (int i = 0; i < 3; i++) {
        CHECK(ob2[4 * i + 0] == (float) S - ob[4 * i + 2] && ob2[4 * i + 2] == (float) S - ob[4 * i + 0]);
        CHECK(ob2[4 * i + 1] == ob[4 * i + 1] && ob2[4 * i + 3] == ob[4 * i + 3] && oc2[i] == cls[i]);
    }
    int mirrored = 1;
    for (int c = 0; c < 3; c++)
        for (int yy = 0; yy < S; yy++)
            for (int xx = 0; xx < S; xx++) mirrored &= x[(c * S + yy) * S + xx] == y[(c * S + yy) * S + S - 1 - xx];
    CHECK(mirrored);
    // bad input
    CHECK(augment_train(&im, -1, boxes, cls, &ap, &r, S, &nm, x, ob, oc, &on, err, sizeof(err)) == -1);
    const float nanbox[4] = { 0, 0, NAN, 5 };
    CHECK(augment_train(&im, 1, nanbox, cls, &ap, &r, S, &nm, x, ob, oc, &on, err, sizeof(err)) == -1);
    free(x); free(y);
    image_free(&im);
}

struct batch_copy { int n, H, W; float * img; int8_t * lab; float * tg; int64_t idx[16]; int64_t n_pos; };

static void copy_batch(const struct loader_batch * b, int64_t A, int C, struct batch_copy * c) {
    c->n = b->n; c->H = b->H; c->W = b->W; c->n_pos = b->n_pos;
    size_t ni = (size_t) b->n * 3 * b->H * b->W;
    c->img = (float *) malloc(sizeof(float) * ni);
    memcpy(c->img, b->images, sizeof(float) * ni);
    c->lab = (int8_t *) malloc((size_t) b->n * A * C);
    memcpy(c->lab, b->labels, (size_t) b->n * A * C);
    c->tg = (float *) malloc(sizeof(float) * (size_t) b->n * A * 4);
    memcpy(c->tg, b->targets, sizeof(float) * (size_t) b->n * A * 4);
    for (int i = 0; i < b->n && i < 16; i++) c->idx[i] = b->image_index[i];
}

static int same_batch(const struct batch_copy * c, const struct loader_batch * b, int64_t A, int C) {
    return c->n == b->n && c->H == b->H && c->W == b->W && c->n_pos == b->n_pos &&
           memcmp(c->img, b->images, sizeof(float) * (size_t) b->n * 3 * b->H * b->W) == 0 &&
           memcmp(c->lab, b->labels, (size_t) b->n * A * C) == 0 &&
           memcmp(c->tg, b->targets, sizeof(float) * (size_t) b->n * A * 4) == 0 &&
           memcmp(c->idx, b->image_index, sizeof(int64_t) * (size_t) b->n) == 0;
}

static void free_copy(struct batch_copy * c) { free(c->img); free(c->lab); free(c->tg); }

static void test_loader(const char * dir) {
    char ann[600], img_dir[600];
    snprintf(ann, sizeof(ann), "%s/annotations/instances_train2017.json", dir);
    snprintf(img_dir, sizeof(img_dir), "%s/train2017", dir);
    struct coco_dataset ds;
    CHECK(coco_dataset_load(&ds, ann, err, sizeof(err)) == 0);
    struct anchors_config ac;
    anchors_config_preset(&ac, 2);
    ac.octave_base_scale = 2;
    struct anchors a;
    const int S = 128, B = 6;
    CHECK(anchors_init_image(&a, &ac, S, S, err, sizeof(err)) == 0);
    struct loader_params lp;
    loader_params_default(&lp);
    lp.ds = &ds; lp.image_dir = img_dir; lp.size = S; lp.batch = B; lp.anchors = &a;
    assign_params_default(&lp.assign, ASSIGN_ATSS);
    lp.n_classes = (int) ds.n_categories; lp.seed = 11; lp.prefetch = 2;
    lp.n_threads = 1;
    struct loader * l1 = loader_new(&lp, err, sizeof(err));
    lp.n_threads = 2;
    struct loader * l2 = loader_new(&lp, err, sizeof(err));
    CHECK(l1 && l2);
    if (!l1 || !l2) { puts(err); exit(1); }
    int64_t n = loader_n_images(l1), bpe = loader_batches_per_epoch(l1);
    int64_t empty = 0;
    for (int64_t i = 0; i < ds.n_images; i++) empty += ds.images[i].n_anns == 0;
    CHECK(n == ds.n_images - empty && bpe == (n + B - 1) / B);
    // the order is a permutation, and another one the next epoch
    int * seen = (int *) calloc((size_t) n, sizeof(int));
    int differs = 0;
    for (int64_t pp = 0; pp < n; pp++) {
        int64_t u = loader_order(l1, 0, pp);
        CHECK(u >= 0 && u < n);
        if (u >= 0 && u < n) seen[u]++;
        differs |= u != loader_order(l1, 1, pp);
    }
    for (int64_t i = 0; i < n; i++) CHECK(seen[i] == 1);
    CHECK(differs);
    free(seen);
    const int64_t A = a.n;
    const int C = lp.n_classes;
    const struct loader_batch * b1, * b2;
    struct batch_copy third;
    memset(&third, 0, sizeof(third));
    int64_t got = 0;
    for (int64_t k = 0; k < bpe; k++) {
        CHECK(loader_next(l1, &b1, err, sizeof(err)) == 0);
        CHECK(loader_next(l2, &b2, err, sizeof(err)) == 0);
        CHECK(b1->epoch == 0 && b1->index == k && b2->index == k);
        struct batch_copy c;
        copy_batch(b1, A, C, &c);
        CHECK(same_batch(&c, b2, A, C));
        for (int i = 0; i < b1->n; i++) {
            CHECK(b1->n_gt[i] >= 1);
            for (int g = 0; g < b1->n_gt[i]; g++) {
                const float * bx = b1->gt_boxes + 4 * (b1->gt_off[i] + g);
                CHECK(bx[0] >= 0 && bx[1] >= 0 && bx[2] <= S && bx[3] <= S);
            }
        }
        if (k == 2) third = c; else free_copy(&c);
        got++;
    }
    CHECK(got == bpe);
    CHECK(loader_next(l1, &b1, err, sizeof(err)) == 1);   // end of epoch 0
    CHECK(loader_next(l1, &b1, err, sizeof(err)) == 0 && b1->epoch == 1 && b1->index == 0);
    // resume at (0, 2)
    CHECK(loader_start(l2, 0, 2, err, sizeof(err)) == 0);
    CHECK(loader_next(l2, &b2, err, sizeof(err)) == 0 && b2->index == 2 && same_batch(&third, b2, A, C));
    free_copy(&third);
    struct loader_stats st;
    loader_get_stats(l1, &st);
    CHECK(st.batches == bpe + 1 && st.skipped == 0);
    loader_free(l1);
    loader_free(l2);

    // a corrupt image: training skips it with one warning, evaluation flags it
    int64_t victim = ds.images[ds.image_anns[0] >= 0 ? ds.anns[0].image : 0].id;
    (void) victim;
    const struct coco_image * vi = &ds.images[ds.anns[0].image];
    char vpath[1200];
    snprintf(vpath, sizeof(vpath), "%s/%s", img_dir, vi->file_name);
    uint8_t * data;
    size_t nb;
    CHECK(image_read_file(vpath, &data, &nb, err, sizeof(err)) == 0);
    FILE * f = fopen(vpath, "wb");
    fwrite(data, 1, nb / 2, f);
    fclose(f);
    free(data);
    lp.n_threads = 2;
    struct loader * l3 = loader_new(&lp, err, sizeof(err));
    CHECK(l3 != NULL);
    struct capture cap;
    char out[4096];
    capture_begin(&cap);
    int rc = 0;
    int64_t k = 0;
    while ((rc = loader_next(l3, &b1, err, sizeof(err))) == 0) {
        for (int i = 0; i < b1->n; i++) CHECK(b1->image_index[i] != ds.anns[0].image);
        k++;
    }
    loader_get_stats(l3, &st);
    loader_free(l3);
    capture_end(&cap, out, sizeof(out));
    CHECK(rc == 1 && k == bpe);
    CHECK(st.skipped >= 1);
    CHECK(strstr(out, "warning: ") == out && strstr(out, vi->file_name) && strstr(out, "(skipped)") && !strchr(out, '\n'));
    printf("corrupt image in training: %s\n", out);
    // evaluation
    struct loader_params ep = lp;
    ep.train = 0;
    ep.test_size = 96; ep.test_max_size = 160; ep.pad = 32;
    struct loader * le = loader_new(&ep, err, sizeof(err));
    CHECK(le != NULL && loader_n_images(le) == ds.n_images);
    capture_begin(&cap);
    int flagged = 0;
    k = 0;
    while ((rc = loader_next(le, &b1, err, sizeof(err))) == 0) {
        CHECK(b1->n == 1 && b1->image_index[0] == k && b1->geom[0].rw == 96 && b1->H == 96 && b1->W == 96);
        if (b1->skipped[0]) { flagged++; CHECK(b1->image_index[0] == ds.anns[0].image); }
        k++;
    }
    capture_end(&cap, out, sizeof(out));
    loader_free(le);
    CHECK(rc == 1 && k == ds.n_images && flagged == 1 && strstr(out, "(skipped)"));
    anchors_free(&a);
    coco_dataset_free(&ds);
}

int main(void) {
    snprintf(root, sizeof(root), "/tmp/alrp-test-data-XXXXXX");
    if (!mkdtemp(root)) { perror("mkdtemp"); return 1; }
    char dir_a[300];
    snprintf(dir_a, sizeof(dir_a), "%s/a", root);
    test_shapes(dir_a);
    test_images(dir_a);
    test_geom();
    test_augment(dir_a);
    test_loader(dir_a);
    data__rm_tree(root);
    if (fails) { printf("%d checks failed\n", fails); return 1; }
    printf("all data checks passed\n");
    return 0;
}
