// weights.c - loading weights into a model (placeholder: safetensors in our names)
#include "weights.h"

int weights_load(struct model * m, struct alrp_backend * be, const char * path, enum weights_from from, int backbone_only,
                 FILE * log, char * err, size_t err_size) {
    (void) from;
    const int n = alrp_load_tensors(be, path, model_n_tensors(m), model_tensors(m), backbone_only != 0, err, err_size);
    if (n < 0) return -1;
    if (log) fprintf(log, "weights: %d of %d tensors from %s\n", n, model_n_tensors(m), path);
    return 0;
}
