// weights.h - loading weights into a model (placeholder until the .pth reader lands: safetensors
// files in our names only)
#ifndef DET_WEIGHTS_H
#define DET_WEIGHTS_H

#include <stdio.h>

#include "model.h"

enum weights_from { WEIGHTS_AUTO, WEIGHTS_OURS, WEIGHTS_TORCHVISION, WEIGHTS_MMDET, WEIGHTS_SEED };

int weights_load(struct model * m, struct alrp_backend * be, const char * path, enum weights_from from, int backbone_only,
                 FILE * log, char * err, size_t err_size);

#endif
