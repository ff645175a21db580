// weights-map.c - checkpoint names -> ours, the source guess and the refusals (weights-map.h)
#include "weights-map.h"
#include "det-err.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char * wmap_source_name(enum wmap_source s) {
    switch (s) {
    case WMAP_OURS:        return "ours";
    case WMAP_TORCHVISION: return "torchvision";
    case WMAP_MMDET:       return "mmdet";
    case WMAP_SEED:        return "seed";
    }
    return "?";
}

static bool wmap__starts(const char * s, const char * p) { return strncmp(s, p, strlen(p)) == 0; }

static bool wmap__ends(const char * s, const char * e) {
    size_t n = strlen(s), m = strlen(e);
    return n >= m && strcmp(s + n - m, e) == 0;
}

// conv1.*, bn1.*, layer1..4.*: the names of a torchvision (or mmdetection) ResNet's layers
static bool wmap__backbone_like(const char * k) {
    return wmap__starts(k, "conv1.") || wmap__starts(k, "bn1.") ||
           (wmap__starts(k, "layer") && k[5] >= '1' && k[5] <= '4' && k[6] == '.');
}

static enum wmap_result wmap__put(char * out, size_t size, enum wmap_result r, const char * fmt, const char * a, int i, const char * b) {
    int n = i >= 0 ? snprintf(out, size, fmt, a, i, b) : snprintf(out, size, fmt, a, b);
    return n >= 0 && (size_t) n < size ? r : WMAP_UNUSED;
}

// [B]'s "<head>.convK.<rest>" / "<head>.output.<rest>"
static enum wmap_result wmap__seed_head(const char * k, const char * head, const char * convs, const char * out_conv, char * out, size_t size) {
    const char * p = k + strlen(head);
    if (wmap__starts(p, "output.")) return wmap__put(out, size, WMAP_MAPPED, "bbox_head.%s%s", out_conv, -1, p + 6);
    if (wmap__starts(p, "conv") && p[4] >= '1' && p[4] <= '9') {
        char * e;
        long i = strtol(p + 4, &e, 10);
        if (*e == '.' && i >= 1 && i <= 64) return wmap__put(out, size, WMAP_MAPPED, "bbox_head.%s.%d.conv%s", convs, (int) i - 1, e);
    }
    return WMAP_UNUSED;
}

static enum wmap_result wmap__seed(const char * k, char * out, size_t size) {
    static const struct { const char * from, * to; } fpn[] = {
        { "fpn.P3_1.", "lateral_convs.0" }, { "fpn.P4_1.", "lateral_convs.1" }, { "fpn.P5_1.", "lateral_convs.2" },
        { "fpn.P3_2.", "fpn_convs.0" }, { "fpn.P4_2.", "fpn_convs.1" }, { "fpn.P5_2.", "fpn_convs.2" },
        { "fpn.P6.", "fpn_convs.3" }, { "fpn.P7_2.", "fpn_convs.4" },
    };
    if (wmap__backbone_like(k)) return wmap__put(out, size, WMAP_MAPPED, "backbone.%s%s", k, -1, "");
    for (size_t i = 0; i < sizeof fpn / sizeof fpn[0]; i++)
        if (wmap__starts(k, fpn[i].from)) return wmap__put(out, size, WMAP_MAPPED, "neck.%s.conv.%s", fpn[i].to, -1, k + strlen(fpn[i].from));
    if (wmap__starts(k, "classificationModel.")) return wmap__seed_head(k, "classificationModel.", "cls_convs", "retina_cls", out, size);
    if (wmap__starts(k, "regressionModel.")) return wmap__seed_head(k, "regressionModel.", "reg_convs", "retina_reg", out, size);
    return WMAP_UNUSED;
}

enum wmap_result wmap_name(enum wmap_source s, const char * key, char * out, size_t out_size) {
    if (!out || out_size == 0) return WMAP_UNUSED;
    enum wmap_result r = WMAP_UNUSED;
    if (wmap__ends(key, ".num_batches_tracked") || strcmp(key, "num_batches_tracked") == 0) r = WMAP_DROPPED;
    else switch (s) {
    case WMAP_OURS:
        r = WMAP_MAPPED;
        break;
    case WMAP_TORCHVISION:
        if (wmap__backbone_like(key)) return wmap__put(out, out_size, WMAP_MAPPED, "backbone.%s%s", key, -1, "");
        break;
    case WMAP_MMDET:
        if (wmap__starts(key, "backbone.") || wmap__starts(key, "neck.") || wmap__starts(key, "bbox_head.")) r = WMAP_MAPPED;
        else if (wmap__backbone_like(key)) return wmap__put(out, out_size, WMAP_MAPPED, "backbone.%s%s", key, -1, "");
        break;
    case WMAP_SEED:
        r = wmap__seed(key, out, out_size);
        if (r == WMAP_MAPPED) return r;
        break;
    }
    if (snprintf(out, out_size, "%s", key) >= (int) out_size) return WMAP_UNUSED;
    return r;
}

enum wmap_source wmap_guess(int n, const char * const * names) {
    bool mm = false, tv = false;
    for (int i = 0; i < n; i++) {
        const char * k = names[i];
        if (wmap__starts(k, "classificationModel.") || wmap__starts(k, "regressionModel.") || wmap__starts(k, "fpn.P")) return WMAP_SEED;
        mm |= wmap__starts(k, "backbone.") || wmap__starts(k, "neck.") || wmap__starts(k, "bbox_head.");
        tv |= wmap__backbone_like(k);
    }
    return mm ? WMAP_MMDET : tv ? WMAP_TORCHVISION : WMAP_OURS;
}

const char * wmap_quote(const char * s, char * buf, size_t size) {
    size_t j = 0;
    for (; s[j] && j + 1 < size; j++) buf[j] = (s[j] >= 32 && s[j] < 127) ? s[j] : '?';
    if (size) buf[j] = '\0';
    return buf;
}

int wmap_check_arch(int n, const char * const * names, const char * label, char * err, size_t err_size) {
    static const struct { const char * part, * kind; } refused[] = {
        { "conv_offset",       "deformable-convolution (DCN) backbone" },
        { ".dcn.",             "deformable-convolution (DCN) backbone" },
        { "rpn_head.",         "Faster R-CNN (two-stage)" },
        { "roi_head.",         "Faster R-CNN (two-stage)" },
        { "bbox_head.conv_cls", "FoveaBox" },
        { "bbox_head.conv_reg", "FoveaBox" },
        { "feature_adaption",  "FoveaBox (feature alignment)" },
        { "centerness",        "ATSS/FCOS head with centerness" },
        { "gn.",               "GroupNorm head" },
    };
    for (int i = 0; i < n; i++)
        for (size_t j = 0; j < sizeof refused / sizeof refused[0]; j++)
            if (strstr(names[i], refused[j].part)) {
                char q[160];
                return det_errf(err, err_size, "%s: a %s checkpoint ('%s'): this project builds only RetinaNet (ResNet/ResNeXt + FPN + RetinaHead) and cannot use it",
                                label, refused[j].kind, wmap_quote(names[i], q, sizeof q));
            }
    return 0;
}
