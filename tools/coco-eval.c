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
#include "../detector/coco-eval-print.c"

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
            coco_eval_print(stdout, &res, &gt, &dt, per_class, params.olrp_mode);
            if (fflush(stdout) != 0) rc = fail("writing the output failed");
        }
        coco_eval_result_free(&res);
    }
    coco_results_free(&dt);
    coco_dataset_free(&gt);
    return rc;
}
