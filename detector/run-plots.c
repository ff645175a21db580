// run-plots.c - the pictures of a run folder (run-plots.h)
#include "run-plots.h"

#include "draw-image.h"
#include "draw-plot.h"
#include "run-common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// ---- csv columns --------------------------------------------------------------------------

struct plots__csv { int n_cols, n_rows; char names[24][24]; double * v; };   // v[row * n_cols + col]

static void plots__csv_free(struct plots__csv * c) { free(c->v); c->v = NULL; }

static int plots__csv_read(const char * path, struct plots__csv * c, char * err, size_t err_size) {
    memset(c, 0, sizeof(*c));
    FILE * f = fopen(path, "r");
    if (!f) { snprintf(err, err_size, "%s: cannot read", path); return -1; }
    char line[4096];
    int cap = 0;
    if (fgets(line, sizeof line, f)) {
        for (char * p = strtok(line, ",\n"); p && c->n_cols < 24; p = strtok(NULL, ",\n")) snprintf(c->names[c->n_cols++], 24, "%s", p);
    }
    while (fgets(line, sizeof line, f)) {
        if (c->n_rows == cap) {
            cap = cap ? 2 * cap : 256;
            double * v2 = (double *) realloc(c->v, sizeof(double) * (size_t) cap * (size_t) c->n_cols);
            if (!v2) { fclose(f); plots__csv_free(c); snprintf(err, err_size, "%s: out of memory", path); return -1; }
            c->v = v2;
        }
        char * p = line;
        for (int k = 0; k < c->n_cols; k++) {
            char * e = p;
            double x = NAN;
            if (*p && *p != ',' && *p != '\n') x = strtod(p, &e);
            c->v[(size_t) c->n_rows * (size_t) c->n_cols + (size_t) k] = x;
            while (*e && *e != ',') e++;
            p = *e ? e + 1 : e;
        }
        c->n_rows++;
    }
    fclose(f);
    return 0;
}

// column `name` as a new array (NaN when absent)
static double * plots__col(const struct plots__csv * c, const char * name) {
    double * out = (double *) malloc(sizeof(double) * (size_t) (c->n_rows ? c->n_rows : 1));
    if (!out) return NULL;
    int k = -1;
    for (int i = 0; i < c->n_cols; i++) if (strcmp(c->names[i], name) == 0) k = i;
    for (int r = 0; r < c->n_rows; r++) out[r] = k < 0 ? NAN : c->v[(size_t) r * (size_t) c->n_cols + (size_t) k];
    return out;
}

// ---- curves -------------------------------------------------------------------------------

int run_plot_steps(const char * run_dir, char * err, size_t err_size) {
    char path[RUN_PATH], out[RUN_PATH];
    run_join(path, sizeof path, run_dir, "steps.csv");
    run_join(out, sizeof out, run_dir, "loss.png");
    struct plots__csv c;
    if (plots__csv_read(path, &c, err, err_size)) return -1;
    double * step = plots__col(&c, "step"), * loss = plots__col(&c, "loss"), * cls = plots__col(&c, "cls");
    double * loc = plots__col(&c, "loc"), * wsb = plots__col(&c, "w_sb"), * lr = plots__col(&c, "lr");
    int rc = -1;
    if (!step || !loss || !cls || !loc || !wsb || !lr) { snprintf(err, err_size, "out of memory"); goto done; }
    struct plot_opts o[3];
    for (int i = 0; i < 3; i++) { plot_opts_default(&o[i]); o[i].xlabel = "update"; o[i].x_is_int = 1; }
    o[0].title = "loss and its parts"; o[1].title = "self-balance weight w_SB"; o[2].title = "learning rate";
    o[0].log_y = 1;
    const struct plot_series s0[3] = { { "loss", c.n_rows, step, loss }, { "cls", c.n_rows, step, cls }, { "loc", c.n_rows, step, loc } };
    const struct plot_series s1[1] = { { "w_SB", c.n_rows, step, wsb } };
    const struct plot_series s2[1] = { { "lr", c.n_rows, step, lr } };
    const int ns[3] = { 3, 1, 1 };
    const struct plot_series * ss[3] = { s0, s1, s2 };
    rc = plot_png_grid(out, 3, 3, o, ns, ss, err, err_size);
done:
    free(step); free(loss); free(cls); free(loc); free(wsb); free(lr);
    plots__csv_free(&c);
    return rc;
}

int run_plot_epochs(const char * run_dir, char * err, size_t err_size) {
    char path[RUN_PATH], out[RUN_PATH];
    run_join(path, sizeof path, run_dir, "results.csv");
    run_join(out, sizeof out, run_dir, "metrics.png");
    struct plots__csv c;
    if (plots__csv_read(path, &c, err, err_size)) return -1;
    static const char * names[6] = { "AP", "AP50", "AP75", "oLRP", "oLRP_loc", "oLRP_FP" };
    double * col[7] = { 0 };
    int rc = -1;
    col[6] = plots__col(&c, "epoch");
    for (int i = 0; i < 6; i++) col[i] = plots__col(&c, names[i]);
    for (int i = 0; i < 7; i++) if (!col[i]) { snprintf(err, err_size, "out of memory"); goto done; }
    for (int r = 0; r < c.n_rows; r++) col[6][r] += 1.0;   // epochs done
    struct plot_opts o[2];
    for (int i = 0; i < 2; i++) { plot_opts_default(&o[i]); o[i].xlabel = "epoch"; o[i].x_is_int = 1; o[i].y_min = 0; o[i].y_max = 1; }
    o[0].title = "val AP (higher is better)";
    o[1].title = "val oLRP and components (lower is better)";
    const struct plot_series s0[3] = { { "AP", c.n_rows, col[6], col[0] }, { "AP50", c.n_rows, col[6], col[1] }, { "AP75", c.n_rows, col[6], col[2] } };
    const struct plot_series s1[3] = { { "oLRP", c.n_rows, col[6], col[3] }, { "loc", c.n_rows, col[6], col[4] }, { "FP", c.n_rows, col[6], col[5] } };
    const int ns[2] = { 3, 3 };
    const struct plot_series * ss[2] = { s0, s1 };
    rc = plot_png_grid(out, 2, 2, o, ns, ss, err, err_size);
done:
    for (int i = 0; i < 7; i++) free(col[i]);
    plots__csv_free(&c);
    return rc;
}

int run_plot_eval(const char * run_dir, const struct coco_eval_result * er, char * err, size_t err_size) {
    char out[RUN_PATH];
    // precision at each recall point, mean over the classes with gts (area all, maxDets 100)
    double rec[COCO_EVAL_R], prec[COCO_EVAL_T][COCO_EVAL_R], thr[COCO_EVAL_R];
    struct plot_series s[COCO_EVAL_T];
    char names[COCO_EVAL_T][16];
    const int64_t K = er->n_classes;
    for (int r = 0; r < COCO_EVAL_R; r++) { rec[r] = er->rec_thrs[r]; thr[r] = 0.01 * r; }
    for (int t = 0; t < COCO_EVAL_T; t++) {
        for (int r = 0; r < COCO_EVAL_R; r++) {
            double sum = 0.0;
            int64_t n = 0;
            for (int64_t k = 0; k < K; k++) {
                const double p = er->precision[coco_eval_pidx(K, t, r, k, 0, 2)];
                if (p > -1) { sum += p; n++; }
            }
            prec[t][r] = n ? sum / (double) n : NAN;
        }
        snprintf(names[t], sizeof names[t], "IoU %.2f", er->iou_thrs[t]);
        s[t].name = (t % 2 == 0 || t == COCO_EVAL_T - 1) ? names[t] : NULL;
        s[t].n = COCO_EVAL_R; s[t].x = rec; s[t].y = prec[t];
    }
    struct plot_opts o;
    plot_opts_default(&o);
    o.title = "precision-recall (val, mean over classes)";
    o.xlabel = "recall"; o.ylabel = "precision";
    o.x_min = 0; o.x_max = 1; o.y_min = 0; o.y_max = 1;
    run_join(out, sizeof out, run_dir, "pr.png");
    if (plot_png(out, &o, COCO_EVAL_T, s, err, err_size)) return -1;
    plot_opts_default(&o);
    o.title = "LRP curve (val, IoU 0.5, mean over classes; min = oLRP)";
    o.xlabel = "score threshold"; o.ylabel = "LRP";
    o.x_min = 0; o.x_max = 1; o.y_min = 0; o.y_max = 1;
    const struct plot_series l = { "LRP", COCO_EVAL_R, thr, er->lrp_curve };
    run_join(out, sizeof out, run_dir, "lrp.png");
    return plot_png(out, &o, 1, &l, err, err_size);
}

// ---- images -------------------------------------------------------------------------------

int run_draw_detections(struct image * im, int n, const struct det_detection * d, const struct run_classes * cls, float min_score) {
    float * boxes = (float *) malloc(sizeof(float) * 4 * (size_t) (n > 0 ? n : 1));
    int * cl = (int *) malloc(sizeof(int) * (size_t) (n > 0 ? n : 1));
    char (*text)[96] = (char (*)[96]) malloc(sizeof(*text) * (size_t) (n > 0 ? n : 1));
    const char ** labels = (const char **) malloc(sizeof(char *) * (size_t) (n > 0 ? n : 1));
    int m = 0, rc = -1;
    if (!boxes || !cl || !text || !labels) goto done;
    for (int i = 0; i < n; i++) {   // score order: the best label ends on top
        if (d[i].score < min_score) continue;
        const char * name = cls && d[i].cls >= 0 && d[i].cls < cls->n ? cls->names[d[i].cls] : "?";
        snprintf(text[m], sizeof text[m], "%s %.2f", name, (double) d[i].score);
        memcpy(boxes + 4 * m, d[i].box, sizeof(float) * 4);
        cl[m] = d[i].cls;
        labels[m] = text[m];
        m++;
    }
    draw_detections(im, m, boxes, cl, labels);
    rc = 0;
done:
    free(boxes); free(cl); free(text); free(labels);
    return rc;
}

int run_draw_batch(const char * run_dir, const struct loader_batch * b, const struct image_norm * nm,
                   const struct run_classes * cls, char * err, size_t err_size) {
    const int n = b->n < 16 ? b->n : 16;
    struct image tiles[16];
    memset(tiles, 0, sizeof tiles);
    int rc = -1;
    for (int i = 0; i < n; i++) {
        if (image_alloc(&tiles[i], b->W, b->H)) { snprintf(err, err_size, "out of memory"); goto done; }
        const float * x = b->images + (size_t) i * 3 * (size_t) b->H * (size_t) b->W;
        const size_t plane = (size_t) b->H * (size_t) b->W;
        for (size_t p = 0; p < plane; p++) {
            for (int ch = 0; ch < 3; ch++) {
                const int src = nm->bgr ? 2 - ch : ch;
                const float v = x[(size_t) src * plane + p] * nm->std[src] + nm->mean[src];
                tiles[i].rgb[3 * p + (size_t) ch] = (uint8_t) (v < 0 ? 0 : v > 255 ? 255 : v + 0.5f);
            }
        }
        for (int g = 0; g < b->n_gt[i]; g++) {
            const int o = b->gt_off[i] + g;
            const int c = b->gt_cls[o];
            draw_detection(&tiles[i], b->gt_boxes + 4 * (size_t) o, c, cls && c >= 0 && c < cls->n ? cls->names[c] : "?");
        }
    }
    struct image grid;
    if (draw_grid(tiles, n, n > 4 ? 4 : n, 4, &grid)) { snprintf(err, err_size, "cannot tile the batch"); goto done; }
    char out[RUN_PATH];
    run_join(out, sizeof out, run_dir, "train_batch.png");
    rc = draw_write_png(out, &grid, err, err_size);
    free(grid.rgb);
done:
    for (int i = 0; i < n; i++) free(tiles[i].rgb);
    return rc;
}

int run_draw_preview(const char * run_dir, const char * file, const struct run_preview * pv, const struct run_classes * cls,
                     char * err, size_t err_size) {
    if (pv->n == 0) return 0;
    struct image tiles[RUN_PREVIEW_MAX];
    memset(tiles, 0, sizeof tiles);
    int rc = -1;
    for (int i = 0; i < pv->n; i++) {
        if (image_alloc(&tiles[i], pv->img[i].w, pv->img[i].h)) { snprintf(err, err_size, "out of memory"); goto done; }
        memcpy(tiles[i].rgb, pv->img[i].rgb, (size_t) pv->img[i].w * (size_t) pv->img[i].h * 3);
        run_draw_detections(&tiles[i], pv->n_det[i], pv->det[i], cls, RUN_SHOW_SCORE);
    }
    struct image grid;
    if (draw_grid(tiles, pv->n, pv->n > 4 ? 4 : pv->n, 4, &grid)) { snprintf(err, err_size, "cannot tile the previews"); goto done; }
    char out[RUN_PATH];
    run_join(out, sizeof out, run_dir, file);
    rc = draw_write_png(out, &grid, err, err_size);
    free(grid.rgb);
done:
    for (int i = 0; i < pv->n; i++) free(tiles[i].rgb);
    return rc;
}
