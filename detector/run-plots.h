// run-plots.h - the pictures of a run folder, written by the program itself (PNG, draw-*.c):
//   loss.png             loss parts, w_SB and lr over the updates (from steps.csv)
//   metrics.png          AP, AP50, AP75 and oLRP per evaluated epoch (from results.csv)
//   pr.png               precision-recall curves of the last evaluation, one per IoU threshold
//   lrp.png              the LRP curve of the last evaluation (LRP against the score threshold)
//   train_batch.png      one augmented training batch with its target boxes
//   val_predictions.png  val images with the model's detections
// Every function returns 0, or -1 with a one-line message (a picture that cannot be written is
// never fatal to a run: the caller warns and goes on).
#ifndef DET_RUN_PLOTS_H
#define DET_RUN_PLOTS_H

#include "coco-eval.h"
#include "data-image.h"
#include "data-loader.h"
#include "run-eval.h"

int run_plot_steps(const char * run_dir, char * err, size_t err_size);
int run_plot_epochs(const char * run_dir, char * err, size_t err_size);
int run_plot_eval(const char * run_dir, const struct coco_eval_result * er, char * err, size_t err_size);
int run_draw_batch(const char * run_dir, const struct loader_batch * b, const struct image_norm * nm,
                   const struct run_classes * cls, char * err, size_t err_size);
int run_draw_preview(const char * run_dir, const char * file, const struct run_preview * pv, const struct run_classes * cls,
                     char * err, size_t err_size);
// one image with its detections scored min_score or more (infer's annotated copy); pictures
// show RUN_SHOW_SCORE and up (the detections below it are printed and scored, not drawn)
#define RUN_SHOW_SCORE 0.3f
int run_draw_detections(struct image * im, int n, const struct det_detection * d, const struct run_classes * cls, float min_score);

#endif // DET_RUN_PLOTS_H
