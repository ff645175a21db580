// detector/coco + coco-results: what the annotation and results readers keep, each rule they
// enforce (one-line errors naming the file, entry and field), file vs memory reading of a
// generated file, and the results writer round trip.
#include "../detector/json.c"
#include "../detector/coco.c"
#include "../detector/coco-results.c"
#include "../tools/coco-gen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int n_fail = 0, n_ok = 0;

static void check(int cond, const char * what) {
    if (cond) n_ok++;
    else { n_fail++; printf("FAIL %s\n", what); }
}

static const char * GT =
    "{\"info\":{\"year\":2017,\"x\":[1,{\"y\":null}]},\n"
    " \"annotations\":[\n"                                       // before images and categories
    "  {\"id\":7,\"image_id\":42,\"category_id\":18,\"bbox\":[1.5,2,30,40.25],\"area\":1000.5,\"iscrowd\":0,"
    "   \"segmentation\":[[1,2,3,4,5,6]],\"ignore\":1},\n"
    "  {\"segmentation\":{\"counts\":[1,2,3],\"size\":[10,20]},\"id\":9,\"image_id\":3,\"category_id\":1,"
    "   \"bbox\":[0,0,100,50],\"iscrowd\":true},\n"                   // no area: w*h; boolean crowd
    "  {\"id\":8,\"image_id\":42,\"category_id\":1,\"bbox\":[5,5,0,0],\"area\":0,\"iscrowd\":false}\n"
    " ],\n"
    " \"images\":[{\"id\":42,\"file_name\":\"a.jpg\",\"width\":640,\"height\":480,\"license\":3},\n"
    "            {\"file_name\":\"b\\u00e9.jpg\",\"id\":3,\"coco_url\":\"http://x\"},\n"
    "            {\"id\":100}],\n"
    " \"categories\":[{\"supercategory\":\"animal\",\"id\":18,\"name\":\"dog\"},{\"id\":1,\"name\":\"person\"},{\"id\":90}],\n"
    " \"licenses\":[]}\n";

static void test_valid(void) {
    struct coco_dataset ds;
    char err[1024];
    int rc = coco_dataset_load_mem(&ds, GT, strlen(GT), "gt.json", err, sizeof(err));
    if (rc) printf("  %s\n", err);
    check(rc == 0, "valid annotation file loads");
    if (rc) return;
    check(ds.n_images == 3 && ds.n_categories == 3 && ds.n_anns == 3, "counts");
    check(ds.images[0].id == 42 && ds.images[0].width == 640 && ds.images[0].height == 480 &&
          strcmp(ds.images[0].file_name, "a.jpg") == 0, "image 0 fields");
    check(ds.images[1].id == 3 && ds.images[1].width == 0 && strcmp(ds.images[1].file_name, "b\xc3\xa9.jpg") == 0, "image 1 fields");
    check(ds.images[2].id == 100 && strcmp(ds.images[2].file_name, "") == 0 && ds.images[2].n_anns == 0, "image 2: defaults, no annotations");
    check(ds.categories[0].id == 18 && strcmp(ds.categories[0].name, "dog") == 0 && strcmp(ds.categories[2].name, "") == 0, "categories");
    const struct coco_ann * a = &ds.anns[0];
    check(a->id == 7 && a->image == 0 && a->category == 0 && a->bbox[0] == 1.5 && a->bbox[3] == 40.25 &&
          a->area == 1000.5 && a->iscrowd == 0, "annotation 0");
    check(ds.anns[1].iscrowd == 1 && ds.anns[1].area == 5000.0 && ds.anns[1].image == 1 && ds.anns[1].category == 1,
          "annotation 1: crowd from true, area from the box");
    check(ds.images[0].n_anns == 2 && ds.image_anns[ds.images[0].ann_begin] == 0 && ds.image_anns[ds.images[0].ann_begin + 1] == 2,
          "image 0 lists its annotations in file order");
    check(ds.images[1].n_anns == 1 && ds.image_anns[ds.images[1].ann_begin] == 1, "image 1 annotations");
    check(coco_dataset_find_image(&ds, 3) == 1 && coco_dataset_find_image(&ds, 4) == -1 &&
          coco_dataset_find_category(&ds, 90) == 2 && coco_dataset_find_category(&ds, 2) == -1, "id lookups");

    // results against it
    const char * DT = "[{\"image_id\":42,\"category_id\":18,\"bbox\":[1,2,3,4],\"score\":0.5,\"segmentation\":[]},\n"
                      " {\"score\":1e-3,\"bbox\":[0,0,0,0],\"category_id\":90,\"image_id\":100}]";
    struct coco_results res;
    rc = coco_results_load_mem(&res, DT, strlen(DT), "dt.json", &ds, err, sizeof(err));
    if (rc) printf("  %s\n", err);
    check(rc == 0 && res.n == 2 && res.dets[0].image == 0 && res.dets[0].category == 0 && res.dets[0].score == 0.5 &&
          res.dets[1].image == 2 && res.dets[1].category == 2 && res.dets[1].score == 0.001, "results load and resolve");
    coco_results_free(&res);
    rc = coco_results_load_mem(&res, " [ ] ", 5, "dt.json", &ds, err, sizeof(err));
    check(rc == 0 && res.n == 0, "empty results");
    coco_results_free(&res);
    coco_dataset_free(&ds);
}

struct bad_case { const char * doc; const char * want; };

static void test_errors(void) {
    static const struct bad_case gt_bad[] = {
        { "[]", "gt.json:1: expected the top level to be an object" },
        { "{\"images\":[]}", "gt.json: no \"categories\" array" },
        { "{\"categories\":[]}", "gt.json: no \"images\" array" },
        { "{\"images\":[{\"id\":1},{\"id\":1}],\"categories\":[]}", "gt.json: images[1]: image id 1 appears twice" },
        { "{\"images\":[{\"file_name\":\"x\"}],\"categories\":[]}", "images[0]: image has no \"id\"" },
        { "{\"images\":[{\"id\":1.5}],\"categories\":[]}", "images[0].id: expected an integer, got 1.5" },
        { "{\"images\":[{\"id\":1,\"width\":-3}],\"categories\":[]}", "images[0].width: size -3 is out of range" },
        { "{\"images\":[{\"id\":1,\"id\":2}],\"categories\":[]}", "images[0].id: key \"id\" appears twice" },
        { "{\"images\":[],\"categories\":[{\"id\":1},{\"id\":1}]}", "categories[1]: category id 1 appears twice" },
        { "{\"images\":[{\"id\":1}],\"categories\":[{\"id\":1}],\"annotations\":[{\"id\":1,\"image_id\":2,\"category_id\":1,\"bbox\":[0,0,1,1]}]}",
          "gt.json: annotations[0] (id 1): image_id 2 is not in \"images\"" },
        { "{\"images\":[{\"id\":1}],\"categories\":[{\"id\":1}],\"annotations\":[{\"id\":1,\"image_id\":1,\"category_id\":5,\"bbox\":[0,0,1,1]}]}",
          "gt.json: annotations[0] (id 1): category_id 5 is not in \"categories\"" },
        { "{\"images\":[{\"id\":1}],\"categories\":[{\"id\":1}],\"annotations\":[{\"id\":1,\"image_id\":1,\"category_id\":1,\"bbox\":[0,0,-1,1]}]}",
          "annotations[0].bbox: negative box size (w -1, h 1)" },
        { "{\"images\":[{\"id\":1}],\"categories\":[{\"id\":1}],\"annotations\":[{\"id\":1,\"image_id\":1,\"category_id\":1,\"bbox\":[0,0,1]}]}",
          "annotations[0].bbox: a box has 4 numbers [x, y, w, h], this one has 3" },
        { "{\"images\":[{\"id\":1}],\"categories\":[{\"id\":1}],\"annotations\":[{\"id\":1,\"image_id\":1,\"category_id\":1,\"bbox\":[0,0,1,1,5]}]}",
          "annotations[0].bbox: a box has 4 numbers [x, y, w, h], this one has more" },
        { "{\"images\":[{\"id\":1}],\"categories\":[{\"id\":1}],\"annotations\":[{\"id\":1,\"image_id\":1,\"category_id\":1,\"bbox\":[0,\"0\",1,1]}]}",
          "annotations[0].bbox: expected a number, got a string" },
        { "{\"images\":[{\"id\":1}],\"categories\":[{\"id\":1}],\"annotations\":[{\"id\":1,\"image_id\":1,\"category_id\":1,\"bbox\":[0,0,1e999,1]}]}",
          "annotations[0].bbox: box value 2 is not a finite number" },
        { "{\"images\":[{\"id\":1}],\"categories\":[{\"id\":1}],\"annotations\":[{\"id\":1,\"image_id\":1,\"category_id\":1,\"bbox\":[0,0,1,1],\"area\":-2}]}",
          "annotations[0].area: area -2 is not a finite number >= 0" },
        { "{\"images\":[{\"id\":1}],\"categories\":[{\"id\":1}],\"annotations\":[{\"id\":1,\"image_id\":1,\"category_id\":1,\"bbox\":[0,0,1,1],\"iscrowd\":2}]}",
          "annotations[0].iscrowd: iscrowd must be 0 or 1, got 2" },
        { "{\"images\":[{\"id\":1}],\"categories\":[{\"id\":1}],\"annotations\":[{\"image_id\":1,\"category_id\":1,\"bbox\":[0,0,1,1]}]}",
          "annotations[0]: annotation has no \"id\"" },
        { "{\"images\":[{\"id\":1}],\"categories\":[{\"id\":1}],\"annotations\":[{\"id\":1,\"image_id\":1,\"category_id\":1}]}",
          "annotations[0]: annotation has no \"bbox\"" },
        { "{\"images\":[{\"id\":1}],\"categories\":[{\"id\":1}],\"annotations\":[{\"id\":4,\"image_id\":1,\"category_id\":1,\"bbox\":[0,0,1,1]},"
          "{\"id\":4,\"image_id\":1,\"category_id\":1,\"bbox\":[0,0,1,1]}]}", "annotations[1]: annotation id 4 appears twice" },
        { "{\"images\":[{\"id\":1}],\"categories\":[{\"id\":1}],\"annotations\":[{\"id\":1,\"image_id\":1,\"category_id\":1,\"bbox\":[0,0,NaN,1]}]}",
          "annotations[0].bbox: expected a number, got 'N'" },
        { "{\"images\":[{\"id\":1}],\"categories\":[{\"id\":1}],\"annotations\":[{\"id\":1,\"image_id\":1,\"category_id\":1,\"bbox\":[0,0,1,1]}",
          "gt.json:1: annotations[0]: expected ',' or ']' after an array element, got the end of the input" },
        { "{\"images\":[{\"id\":1}],\"images\":[],\"categories\":[]}", "gt.json:1: images: key \"images\" appears twice" },
    };
    char err[1024];
    for (size_t i = 0; i < sizeof(gt_bad) / sizeof(gt_bad[0]); i++) {
        struct coco_dataset ds;
        int rc = coco_dataset_load_mem(&ds, gt_bad[i].doc, strlen(gt_bad[i].doc), "gt.json", err, sizeof(err));
        int ok = rc != 0 && strstr(err, gt_bad[i].want) != NULL && strncmp(err, "gt.json", 7) == 0 && !strchr(err, '\n');
        if (!ok) printf("  case %zu: got '%s', want '%s'\n", i, rc ? err : "(loaded)", gt_bad[i].want);
        check(ok, "bad annotation file: one-line error naming file, entry, field");
        if (rc == 0) coco_dataset_free(&ds);
    }
    // every truncation of a valid file fails cleanly (and never crashes)
    size_t n = strlen(GT);
    int all = 1;
    for (size_t cut = 0; cut + 2 < n; cut++) {
        struct coco_dataset ds;
        if (coco_dataset_load_mem(&ds, GT, cut, "gt.json", err, sizeof(err)) == 0) { all = 0; coco_dataset_free(&ds); }
    }
    check(all, "every truncated annotation file is rejected");

    struct coco_dataset ds;
    if (coco_dataset_load_mem(&ds, GT, strlen(GT), "gt.json", err, sizeof(err)) != 0) { check(0, "load"); return; }
    static const struct bad_case dt_bad[] = {
        { "{}", "dt.json:1: expected the top level to be an array of detections" },
        { "[{\"image_id\":41,\"category_id\":18,\"bbox\":[1,2,3,4],\"score\":0.5}]", "dt.json:1: detection[0].image_id: image_id 41 is not an image of gt.json" },
        { "[{\"image_id\":42,\"category_id\":18,\"bbox\":[1,2,3,4],\"score\":0.5},\n{\"image_id\":42,\"category_id\":17,\"bbox\":[1,2,3,4],\"score\":0.5}]",
          "dt.json:2: detection[1].category_id: category_id 17 is not a category of gt.json" },
        { "[{\"image_id\":42,\"category_id\":18,\"bbox\":[1,2,3,-4],\"score\":0.5}]", "detection[0].bbox: negative box size" },
        { "[{\"image_id\":42,\"category_id\":18,\"bbox\":[1,2,3,4],\"score\":NaN}]", "detection[0].score: expected a number, got 'N'" },
        { "[{\"image_id\":42,\"category_id\":18,\"bbox\":[1,2,3,4],\"score\":-1e400}]", "detection[0].score: score is not a finite number" },
        { "[{\"image_id\":42,\"category_id\":18,\"bbox\":[1,2,3,4]}]", "detection[0]: detection has no \"score\"" },
        { "[{\"image_id\":42,\"category_id\":18,\"score\":1}]", "detection[0]: detection has no \"bbox\"" },
        { "[{\"category_id\":18,\"bbox\":[1,2,3,4],\"score\":1}]", "detection[0]: detection has no \"image_id\"" },
        { "[{\"image_id\":42,\"category_id\":18,\"bbox\":[1,2,3,4],\"score\":0.5}", "dt.json:1: detection[0]: expected ',' or ']' after an array element, got the end of the input" },
        { "[{\"image_id\":42,\"category_id\":18,\"bbox\":[1,2,3,4],\"score\":0.5}] x", "expected the end of the input after the top-level value, got 'x'" },
        { "[{\"image_id\":\"42\",\"category_id\":18,\"bbox\":[1,2,3,4],\"score\":0.5}]", "detection[0].image_id: expected an integer, got a string" },
    };
    for (size_t i = 0; i < sizeof(dt_bad) / sizeof(dt_bad[0]); i++) {
        struct coco_results res;
        int rc = coco_results_load_mem(&res, dt_bad[i].doc, strlen(dt_bad[i].doc), "dt.json", &ds, err, sizeof(err));
        int ok = rc != 0 && strstr(err, dt_bad[i].want) != NULL && strncmp(err, "dt.json", 7) == 0 && !strchr(err, '\n');
        if (!ok) printf("  case %zu: got '%s', want '%s'\n", i, rc ? err : "(loaded)", dt_bad[i].want);
        check(ok, "bad results file: one-line error naming file, entry, field");
        if (rc == 0) coco_results_free(&res);
    }
    // missing file
    struct coco_dataset ds2;
    int rc = coco_dataset_load(&ds2, "/nonexistent/dir/gt.json", err, sizeof(err));
    check(rc != 0 && strstr(err, "/nonexistent/dir/gt.json: cannot open: No such file or directory") != NULL, "missing file");
    coco_dataset_free(&ds);
}

static void test_generated_file(void) {
    struct coco_gen_params p = { 5, 40, 5, 20, 10, 1, 1 };   // with polygons, crowd RLE, extra keys
    char path[] = "/tmp/test-coco-reader-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) { check(0, "mkstemp"); return; }
    FILE * f = fdopen(fd, "wb");
    int rc = coco_gen_write_gt(f, &p);
    fclose(f);
    char * buf = NULL;
    size_t len = 0;
    FILE * m = open_memstream(&buf, &len);
    rc |= coco_gen_write_gt(m, &p);
    fclose(m);
    check(rc == 0, "generator writes");
    struct coco_dataset a, b;
    char err[1024];
    int ra = coco_dataset_load(&a, path, err, sizeof(err));
    if (ra) printf("  %s\n", err);
    int rb = coco_dataset_load_mem(&b, buf, len, path, err, sizeof(err));
    check(ra == 0 && rb == 0, "generated file loads from disk and memory");
    if (ra == 0 && rb == 0) {
        int same = a.n_images == b.n_images && a.n_anns == b.n_anns && a.n_categories == b.n_categories;
        for (int64_t i = 0; same && i < a.n_anns; i++) {
            same = memcmp(a.anns[i].bbox, b.anns[i].bbox, sizeof(a.anns[i].bbox)) == 0 && a.anns[i].area == b.anns[i].area &&
                   a.anns[i].id == b.anns[i].id && a.anns[i].image == b.anns[i].image && a.anns[i].iscrowd == b.anns[i].iscrowd;
        }
        for (int64_t i = 0; same && i < a.n_images; i++) same = strcmp(a.images[i].file_name, b.images[i].file_name) == 0;
        check(same && a.n_images == 40 && a.n_categories == 10, "file and memory reads agree");
        // the generator's own view of image 0
        struct coco_gen_image im;
        coco_gen_image(&p, 0, &im);
        int64_t i0 = coco_dataset_find_image(&a, im.id);
        check(i0 >= 0 && a.images[i0].n_anns == im.n && a.images[i0].width == im.width, "image 0 as generated");
        if (i0 >= 0 && im.n > 0) {
            const struct coco_ann * an = &a.anns[a.image_anns[a.images[i0].ann_begin]];
            check(an->bbox[0] == (double) im.box[0].x / 100 && an->bbox[2] == (double) im.box[0].w / 100 &&
                  an->category_id == coco_gen_cat_ids[im.box[0].cat], "first box as generated");
        }
    }
    if (ra == 0) coco_dataset_free(&a);
    if (rb == 0) coco_dataset_free(&b);
    free(buf);
    unlink(path);
}

static uint64_t rng_state = 99;
static double rnd(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (double) ((z ^ (z >> 31)) >> 11) / 9007199254740992.0;
}

static void test_writer_round_trip(void) {
    struct coco_dataset ds;
    char err[1024];
    if (coco_dataset_load_mem(&ds, GT, strlen(GT), "gt.json", err, sizeof(err)) != 0) { check(0, "load"); return; }
    enum { N = 500 };
    struct coco_det dets[N];
    for (int i = 0; i < N; i++) {
        dets[i].image_id = ds.images[i % 3].id;
        dets[i].category_id = ds.categories[i % 3].id;
        for (int j = 0; j < 4; j++) dets[i].bbox[j] = j < 2 ? (rnd() - 0.1) * 1000 : rnd() * 300;
        dets[i].score = i % 7 == 0 ? 0.5 : rnd();
        dets[i].image = dets[i].category = -1;
    }
    char path[] = "/tmp/test-coco-results-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) { check(0, "mkstemp"); return; }
    close(fd);
    int rc = coco_results_write(path, dets, N, err, sizeof(err));
    check(rc == 0, "results written");
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    check(access(tmp, F_OK) != 0, "no temporary file left behind");
    struct coco_results res;
    rc = coco_results_load(&res, path, &ds, err, sizeof(err));
    if (rc) printf("  %s\n", err);
    int same = rc == 0 && res.n == N;
    for (int i = 0; same && i < N; i++) {
        same = res.dets[i].image_id == dets[i].image_id && res.dets[i].category_id == dets[i].category_id &&
               memcmp(res.dets[i].bbox, dets[i].bbox, sizeof(dets[i].bbox)) == 0 && res.dets[i].score == dets[i].score &&
               res.dets[i].image == i % 3 && res.dets[i].category == i % 3;
    }
    check(same, "results round trip bit for bit");
    if (rc == 0) coco_results_free(&res);
    dets[3].score = NAN;
    rc = coco_results_write(path, dets, N, err, sizeof(err));
    check(rc != 0 && access(tmp, F_OK) != 0, "a NaN score is refused, no partial file");
    check(coco_results_write("/nonexistent/dir/x.json", dets, 1, err, sizeof(err)) != 0 && strstr(err, "cannot create"), "unwritable path");
    unlink(path);
    coco_dataset_free(&ds);
}

int main(void) {
    test_valid();
    test_errors();
    test_generated_file();
    test_writer_round_trip();
    printf("%s: %d checks OK, %d FAIL\n", n_fail ? "FAIL" : "OK", n_ok, n_fail);
    return n_fail ? 1 : 0;
}
