// convert-weights: a PyTorch checkpoint (or a safetensors file in another project's names) to a
// safetensors file in this project's names, once, so later runs load it directly.
//
//     tools/convert-weights IN.pth OUT.safetensors --from torchvision|mmdet|seed|ours|auto
//
// The tensors are read with detector/weights-pth.c (both torch.save formats, no Python), the
// names mapped with detector/weights-map.c (docs/weights.md): every mapped tensor is written
// under our name with its dtype and bytes unchanged, in the file's order; num_batches_tracked is
// dropped; tensors the map does not use (torchvision's fc.*) are listed and left out. A
// checkpoint of a model this project does not build is refused. The output is written to
// OUT.tmp and renamed (never half-written); its metadata records the source file and names.
// Exit status 0, 1 on bad input (one line on stderr), 2 on bad usage.
#include "../detector/model-nn.c"
#include "../detector/model-resnet.c"
#include "../detector/model-fpn.c"
#include "../detector/model-head.c"
#include "../detector/model.c"
#include "../detector/weights-pth.c"
#include "../detector/weights-map.c"
#include "../detector/weights.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void) {
    fprintf(stderr, "usage: tools/convert-weights IN.pth OUT.safetensors --from torchvision|mmdet|seed|ours|auto\n");
    return 2;
}

int main(int argc, char ** argv) {
    const char * in = NULL, * out = NULL;
    enum weights_from from = WEIGHTS_AUTO;
    bool have_from = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--from") == 0 && i + 1 < argc) {
            if (weights_from_parse(argv[++i], &from)) { fprintf(stderr, "convert-weights: --from '%s': expected torchvision, mmdet, seed, ours or auto\n", argv[i]); return 2; }
            have_from = true;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return usage();
        } else if (!in) in = argv[i];
        else if (!out) out = argv[i];
        else return usage();
    }
    if (!in || !out || !have_from) return usage();
    char err[1024];
    struct weights_file w;
    if (weights_open(&w, in, from, err, sizeof err)) { fprintf(stderr, "convert-weights: %s\n", err); return 1; }
    struct alrp_st_tensor * ts = (struct alrp_st_tensor *) calloc((size_t) (w.n + 1), sizeof(*ts));
    if (!ts) { fprintf(stderr, "convert-weights: out of memory\n"); weights_close(&w); return 1; }
    int n = 0;
    for (int i = 0; i < w.n; i++) {
        if (w.e[i].what != WMAP_MAPPED) continue;
        ts[n] = *w.e[i].t;
        snprintf(ts[n].name, sizeof ts[n].name, "%s", w.e[i].name);
        n++;
    }
    int rc = 0;
    if (n == 0) {
        fprintf(stderr, "convert-weights: %s: no tensor maps to our names with --from %s (%s names: a wrong --from?)\n", in,
                weights_from_name(from), wmap_source_name(w.source));
        rc = 1;
    } else {
        const char * base = strrchr(in, '/') ? strrchr(in, '/') + 1 : in;
        const char * meta[] = { "format", "pt", "converted_from", base, "names", wmap_source_name(w.source), NULL };
        if (alrp_st_save(out, n, ts, meta, err, sizeof err)) { fprintf(stderr, "convert-weights: %s\n", err); rc = 1; }
    }
    if (rc == 0) {
        printf("convert-weights: %s: %s, %s names: %d tensors written to %s, %d num_batches_tracked dropped, %d unused", in, w.format,
               wmap_source_name(w.source), n, out, w.n_dropped, w.n_unused);
        int k = 0;
        char q[160];
        for (int i = 0; i < w.n; i++) if (w.e[i].what == WMAP_UNUSED) printf("%s %s", k++ ? "," : ":", wmap_quote(w.e[i].t->name, q, sizeof q));
        printf("\n");
    }
    free(ts);
    weights_close(&w);
    return rc;
}
