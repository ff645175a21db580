// coco-eval-print.h - prints a coco_eval result as a table (coco-eval-print.c)
#ifndef COCO_EVAL_PRINT_H
#define COCO_EVAL_PRINT_H

#include <stdio.h>

#include "coco-eval.h"

// gt and dt name the files in the first lines; per_class adds one row per category
void coco_eval_print(FILE * f, const struct coco_eval_result * res, const struct coco_dataset * gt,
                     const struct coco_results * dt, int per_class, enum coco_olrp_mode mode);

#endif // COCO_EVAL_PRINT_H
