// coco-eval: COCO box AP/AR (pycocotools' numbers) and oLRP for a results file.
//
//     tools/coco-eval GT.json DETS.json [--json] [--per-class] [--olrp-grid]
//
// GT.json is a COCO annotation file, DETS.json a COCO results file (an array of
// {"image_id", "category_id", "bbox": [x, y, w, h], "score"}). Prints the 12 standard numbers,
// AP at each IoU threshold and oLRP with its components; --per-class adds one row per category;
// --json prints one JSON object instead (keys: AP AP50 AP75 APs APm APl AR1 AR10 AR100 ARs ARm
// ARl AP_per_iou oLRP oLRP_loc oLRP_FP oLRP_FN images detections, plus per_class with
// --per-class); -1 where pycocotools gives -1, null where oLRP is undefined.
// --olrp-grid: oLRP over the thresholds 0:.01:1 as the aLRP Loss seed computed it, instead of
// LRP-Error's every-score definition.
// Bad input: one line on stderr naming the file and the entry, exit status 2.
#include "../detector/json.c"
#include "../detector/coco.c"
#include "../detector/coco-results.c"
#include "../detector/coco-eval.c"

#include <stdio.h>
#include <string.h>

static void usage(FILE * f) {
    fprintf(f, "usage: tools/coco-eval GT.json DETS.json [--json] [--per-class] [--olrp-grid]\n"
               "  GT.json    COCO annotation file (images, annotations, categories)\n"
               "  DETS.json  COCO results: [{\"image_id\", \"category_id\", \"bbox\": [x,y,w,h], \"score\"}, ...]\n"
               "  --json       print one JSON object instead of the table\n"
               "  --per-class  add a row (or a per_class entry) per category\n"
               "  --olrp-grid  oLRP over thresholds 0:.01:1 (the aLRP Loss seed) instead of every score\n");
}

static int fail(const char * msg) {
    // one line, whatever the message holds
    fputs("coco-eval: error: ", stderr);
    for (const char * c = msg; *c; c++) fputc((unsigned char) *c < 0x20 ? '?' : *c, stderr);
    fputc('\n', stderr);
    return 2;
}

static void print_num(double v) {
    if (isnan(v)) printf("   n/a");
    else printf("%6.3f", v);
}

static void print_table(const struct coco_eval_result * res, const struct coco_dataset * gt,
                        const struct coco_results * dt, int per_class, enum coco_olrp_mode mode) {
    int64_t n_crowd = 0;
    for (int64_t i = 0; i < gt->n_anns; i++) n_crowd += gt->anns[i].iscrowd;
    printf("%s: %lld images, %lld categories, %lld annotations (%lld crowd)\n", gt->name,
           (long long) gt->n_images, (long long) gt->n_categories, (long long) gt->n_anns, (long long) n_crowd);
    printf("%s: %lld detections\n", dt->name, (long long) dt->n);
    static const char * iou_str[COCO_STAT_COUNT] = {
        "0.50:0.95", "0.50     ", "0.75     ", "0.50:0.95", "0.50:0.95", "0.50:0.95",
        "0.50:0.95", "0.50:0.95", "0.50:0.95", "0.50:0.95", "0.50:0.95", "0.50:0.95",
    };
    static const char * area_str[COCO_STAT_COUNT] = {
        "   all", "   all", "   all", " small", "medium", " large",
        "   all", "   all", "   all", " small", "medium", " large",
    };
    static const int max_dets[COCO_STAT_COUNT] = { 100, 100, 100, 100, 100, 100, 1, 10, 100, 100, 100, 100 };
    for (int s = 0; s < COCO_STAT_COUNT; s++) {
        printf(" %-18s %s @[ IoU=%s | area=%s | maxDets=%3d ] = %.3f\n",
               s < COCO_STAT_AR1 ? "Average Precision" : "Average Recall", s < COCO_STAT_AR1 ? "(AP)" : "(AR)",
               iou_str[s], area_str[s], max_dets[s], res->stats[s]);
    }
    printf(" AP per IoU     ");
    for (int t = 0; t < COCO_EVAL_T; t++) printf("  %.2f", res->iou_thrs[t]);
    printf("\n                ");
    for (int t = 0; t < COCO_EVAL_T; t++) printf(" %.3f", res->ap_per_iou[t]);
    printf("\n oLRP (IoU=0.50, area=all, maxDets=100, %s)\n",
           mode == COCO_OLRP_GRID ? "thresholds 0:.01:1" : "every score a threshold");
    printf("   oLRP ");  print_num(res->olrp);
    printf("   loc ");   print_num(res->olrp_loc);
    printf("   FP ");    print_num(res->olrp_fp);
    printf("   FN ");    print_num(res->olrp_fn);
    printf("\n");
    if (!per_class) return;
    printf("\n %-20s %5s %7s %7s %6s %6s %6s %6s %6s %6s %6s %6s %6s\n", "category", "id", "gts", "dets",
           "AP", "AP50", "AP75", "AR100", "oLRP", "loc", "FP", "FN", "thr");
    for (int64_t k = 0; k < res->n_classes; k++) {
        const struct coco_eval_class * c = &res->classes[k];
        char name[21];
        snprintf(name, sizeof(name), "%s", c->name);
        for (char * q = name; *q; q++) if ((unsigned char) *q < 0x20) *q = '?';
        printf(" %-20s %5lld %7lld %7lld", name, (long long) c->category_id, (long long) c->n_gt, (long long) c->n_det);
        const double v[9] = { c->ap, c->ap50, c->ap75, c->ar100, c->olrp, c->olrp_loc, c->olrp_fp, c->olrp_fn, c->olrp_thr };
        for (int j = 0; j < 9; j++) { printf(" "); print_num(v[j]); }
        printf("\n");
    }
}

static int print_json(const struct coco_eval_result * res, int per_class) {
    struct json_writer w;
    json_writer_init(&w, stdout, 1);
    json_write_begin_object(&w);
    for (int s = 0; s < COCO_STAT_COUNT; s++) {
        json_write_key(&w, coco_stat_names[s]);
        json_write_double(&w, res->stats[s]);
    }
    json_write_key(&w, "AP_per_iou");
    json_write_begin_array(&w);
    for (int t = 0; t < COCO_EVAL_T; t++) json_write_double(&w, res->ap_per_iou[t]);
    json_write_end_array(&w);
    json_write_key(&w, "oLRP");     json_write_double(&w, res->olrp);
    json_write_key(&w, "oLRP_loc"); json_write_double(&w, res->olrp_loc);
    json_write_key(&w, "oLRP_FP");  json_write_double(&w, res->olrp_fp);
    json_write_key(&w, "oLRP_FN");  json_write_double(&w, res->olrp_fn);
    json_write_key(&w, "images");     json_write_int64(&w, res->n_images);
    json_write_key(&w, "detections"); json_write_int64(&w, res->n_dets);
    if (per_class) {
        json_write_key(&w, "per_class");
        json_write_begin_array(&w);
        for (int64_t k = 0; k < res->n_classes; k++) {
            const struct coco_eval_class * c = &res->classes[k];
            json_write_begin_object(&w);
            json_write_key(&w, "category_id"); json_write_int64(&w, c->category_id);
            json_write_key(&w, "name");        json_write_string(&w, c->name);
            json_write_key(&w, "gts");         json_write_int64(&w, c->n_gt);
            json_write_key(&w, "detections");  json_write_int64(&w, c->n_det);
            json_write_key(&w, "AP");          json_write_double(&w, c->ap);
            json_write_key(&w, "AP50");        json_write_double(&w, c->ap50);
            json_write_key(&w, "AP75");        json_write_double(&w, c->ap75);
            json_write_key(&w, "AR100");       json_write_double(&w, c->ar100);
            // -1 (no gt) and NaN (undefined) both read as null
            json_write_key(&w, "oLRP");        json_write_double(&w, c->olrp < 0 ? NAN : c->olrp);
            json_write_key(&w, "oLRP_loc");    json_write_double(&w, c->olrp_loc < 0 ? NAN : c->olrp_loc);
            json_write_key(&w, "oLRP_FP");     json_write_double(&w, c->olrp_fp < 0 ? NAN : c->olrp_fp);
            json_write_key(&w, "oLRP_FN");     json_write_double(&w, c->olrp_fn < 0 ? NAN : c->olrp_fn);
            json_write_key(&w, "oLRP_threshold"); json_write_double(&w, c->olrp_thr);
            json_write_end_object(&w);
        }
        json_write_end_array(&w);
    }
    json_write_end_object(&w);
    fputc('\n', stdout);
    return json_writer_finish(&w);
}

int main(int argc, char ** argv) {
    const char * files[2] = { NULL, NULL };
    int n_files = 0, as_json = 0, per_class = 0;
    struct coco_eval_params params;
    coco_eval_params_default(&params);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) as_json = 1;
        else if (strcmp(argv[i], "--per-class") == 0) per_class = 1;
        else if (strcmp(argv[i], "--olrp-grid") == 0) params.olrp_mode = COCO_OLRP_GRID;
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) { usage(stdout); return 0; }
        else if (argv[i][0] == '-' && argv[i][1] != 0) {
            char msg[300];
            snprintf(msg, sizeof(msg), "unknown option '%s' (see --help)", argv[i]);
            return fail(msg);
        } else if (n_files < 2) files[n_files++] = argv[i];
        else return fail("too many arguments: expected GT.json DETS.json (see --help)");
    }
    if (n_files != 2) { usage(stderr); return 2; }

    char err[1024];
    struct coco_dataset gt;
    if (coco_dataset_load(&gt, files[0], err, sizeof(err)) != 0) return fail(err);
    struct coco_results dt;
    if (coco_results_load(&dt, files[1], &gt, err, sizeof(err)) != 0) {
        coco_dataset_free(&gt);
        return fail(err);
    }
    struct coco_eval_result res;
    int rc = 0;
    if (coco_eval(&res, &gt, &dt, &params, err, sizeof(err)) != 0) {
        rc = fail(err);
    } else {
        if (as_json) {
            if (print_json(&res, per_class) != 0) rc = fail("writing the JSON output failed");
        } else {
            print_table(&res, &gt, &dt, per_class, params.olrp_mode);
            if (fflush(stdout) != 0) rc = fail("writing the output failed");
        }
        coco_eval_result_free(&res);
    }
    coco_results_free(&dt);
    coco_dataset_free(&gt);
    return rc;
}
