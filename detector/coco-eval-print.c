// coco-eval-print.c - the evaluation table as tools/coco-eval and ./detector print it: the 12
// pycocotools lines, AP per IoU, oLRP with its components, optionally one row per category.
#include "coco-eval-print.h"

#include <math.h>
#include <stdio.h>

static void coco__print_num(FILE * f, double v) {
    if (isnan(v)) fprintf(f, "   n/a");
    else fprintf(f, "%6.3f", v);
}

void coco_eval_print(FILE * f, const struct coco_eval_result * res, const struct coco_dataset * gt,
                     const struct coco_results * dt, int per_class, enum coco_olrp_mode mode) {
    int64_t n_crowd = 0;
    for (int64_t i = 0; i < gt->n_anns; i++) n_crowd += gt->anns[i].iscrowd;
    fprintf(f, "%s: %lld images, %lld categories, %lld annotations (%lld crowd)\n", gt->name,
           (long long) gt->n_images, (long long) gt->n_categories, (long long) gt->n_anns, (long long) n_crowd);
    fprintf(f, "%s: %lld detections\n", dt->name, (long long) dt->n);
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
        fprintf(f, " %-18s %s @[ IoU=%s | area=%s | maxDets=%3d ] = %.3f\n",
               s < COCO_STAT_AR1 ? "Average Precision" : "Average Recall", s < COCO_STAT_AR1 ? "(AP)" : "(AR)",
               iou_str[s], area_str[s], max_dets[s], res->stats[s]);
    }
    fprintf(f, " AP per IoU     ");
    for (int t = 0; t < COCO_EVAL_T; t++) fprintf(f, "  %.2f", res->iou_thrs[t]);
    fprintf(f, "\n                ");
    for (int t = 0; t < COCO_EVAL_T; t++) fprintf(f, " %.3f", res->ap_per_iou[t]);
    fprintf(f, "\n oLRP (IoU=0.50, area=all, maxDets=100, %s)\n",
           mode == COCO_OLRP_GRID ? "thresholds 0:.01:1" : "every score a threshold");
    fprintf(f, "   oLRP ");  coco__print_num(f, res->olrp);
    fprintf(f, "   loc ");   coco__print_num(f, res->olrp_loc);
    fprintf(f, "   FP ");    coco__print_num(f, res->olrp_fp);
    fprintf(f, "   FN ");    coco__print_num(f, res->olrp_fn);
    fprintf(f, "\n");
    if (!per_class) return;
    fprintf(f, "\n %-20s %5s %7s %7s %6s %6s %6s %6s %6s %6s %6s %6s %6s\n", "category", "id", "gts", "dets",
           "AP", "AP50", "AP75", "AR100", "oLRP", "loc", "FP", "FN", "thr");
    for (int64_t k = 0; k < res->n_classes; k++) {
        const struct coco_eval_class * c = &res->classes[k];
        char name[21];
        snprintf(name, sizeof(name), "%s", c->name);
        for (char * q = name; *q; q++) if ((unsigned char) *q < 0x20) *q = '?';
        fprintf(f, " %-20s %5lld %7lld %7lld", name, (long long) c->category_id, (long long) c->n_gt, (long long) c->n_det);
        const double v[9] = { c->ap, c->ap50, c->ap75, c->ar100, c->olrp, c->olrp_loc, c->olrp_fp, c->olrp_fn, c->olrp_thr };
        for (int j = 0; j < 9; j++) { fprintf(f, " "); coco__print_num(f, v[j]); }
        fprintf(f, "\n");
    }
}
