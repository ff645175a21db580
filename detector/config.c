// config.c - the key table, the parser and the derived values (see config.h)
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char * const config__backbones[] = { "resnet50", "resnet101", "resnext101_32x8d", "resnext101_64x4d", "small", NULL };
static const char * const config__bns[]       = { "frozen", "train", NULL };
static const char * const config__assigners[] = { "maxiou", "atss", NULL };
static const char * const config__losses[]    = { "alrp", "ap", "focal", NULL };
static const char * const config__optimizers[] = { "sgd", "adamw", NULL };
static const char * const config__resnet_styles[] = { "pytorch", "caffe", NULL };
static const char * const config__post_styles[]   = { "mmdet", "seed", NULL };

#define CONFIG__OFF(f) offsetof(struct config, f)
#define CONFIG__BIG 1e9

// The defaults are the official code's ([A]) RetinaNet settings at scale 500 where a recipe sets
// a key; the models/ files state what makes each recipe. Ranges are inclusive unless min_open.
static const struct config_key config__keys[] = {
    // name                 type           offset                          default        choices             min    max   open  empty  help
    { "backbone",           CONFIG_ENUM,   CONFIG__OFF(backbone),          "resnet50",    config__backbones,  0, 0,           false, false, "resnet50|resnet101|resnext101_32x8d|resnext101_64x4d|small" },
    { "base_width",         CONFIG_INT,    CONFIG__OFF(base_width),        "0",           NULL,               0, 1024,        false, false, "channels of the stem and layer1 (the stages double them); 0: the backbone's own (64, small 16)" },
    { "frozen_stages",      CONFIG_INT,    CONFIG__OFF(frozen_stages),     "1",           NULL,              -1, 4,           false, false, "-1 none, 0 the stem, k the stem and layer1..k" },
    { "bn",                 CONFIG_ENUM,   CONFIG__OFF(bn),                "frozen",      config__bns,        0, 0,           false, false, "frozen: running statistics kept (affine trained); train: batch statistics" },
    { "fpn_channels",       CONFIG_INT,    CONFIG__OFF(fpn_channels),      "256",         NULL,               1, 4096,        false, false, "FPN output channels" },
    { "head_channels",      CONFIG_INT,    CONFIG__OFF(head_channels),     "256",         NULL,               1, 4096,        false, false, "channels of the head convs" },
    { "head_convs",         CONFIG_INT,    CONFIG__OFF(head_convs),        "4",           NULL,               0, 16,          false, false, "3x3 convs per head branch before its output conv" },
    { "assigner",           CONFIG_ENUM,   CONFIG__OFF(assigner),          "atss",        config__assigners,  0, 0,           false, false, "maxiou (0.5 / 0.4, low-quality matches) or atss (top 9 per level)" },
    { "anchor_ratios",      CONFIG_FLOATS, CONFIG__OFF(anchor_ratios),     "1",           NULL,               0, 1000,        true,  false, "anchor height / width, a list" },
    { "scales_per_octave",  CONFIG_INT,    CONFIG__OFF(scales_per_octave), "2",           NULL,               1, 16,          false, false, "anchor scales per level: octave_base_scale x 2^(k / n)" },
    { "octave_base_scale",  CONFIG_FLOAT,  CONFIG__OFF(octave_base_scale), "4",           NULL,               0, 1000,        true,  false, "smallest anchor side / stride" },
    { "loss",               CONFIG_ENUM,   CONFIG__OFF(loss),              "alrp",        config__losses,     0, 0,           false, false, "alrp (aLRP Loss), ap (AP Loss + smooth L1) or focal (focal + smooth L1)" },
    { "delta",              CONFIG_FLOAT,  CONFIG__OFF(delta),             "1",           NULL,               0, 1000,        true,  false, "ranking losses: width of the smoothed step function" },
    { "self_balance",       CONFIG_BOOL,   CONFIG__OFF(self_balance),      "true",        NULL,               0, 0,           false, false, "aLRP: reweigh the localisation part once per epoch" },
    { "sb_init",            CONFIG_FLOAT,  CONFIG__OFF(sb_init),           "50",          NULL,               0, 1e6,         true,  false, "aLRP: weight of the localisation part in the first epoch" },
    { "focal_alpha",        CONFIG_FLOAT,  CONFIG__OFF(focal_alpha),       "0.25",        NULL,               0, 1,           false, false, "focal loss alpha" },
    { "focal_gamma",        CONFIG_FLOAT,  CONFIG__OFF(focal_gamma),       "2",           NULL,               0, 100,         false, false, "focal loss gamma" },
    { "batch",              CONFIG_INT,    CONFIG__OFF(batch),             "32",          NULL,               1, 65536,       false, false, "images per step, all devices together" },
    { "rank_group",         CONFIG_INT,    CONFIG__OFF(rank_group),        "8",           NULL,               1, 65536,       false, false, "images ranked together (one GPU's images in [A]); divides batch" },
    { "accum",              CONFIG_INT,    CONFIG__OFF(accum),             "1",           NULL,               1, 65536,       false, false, "steps accumulated into one update" },
    { "lr",                 CONFIG_FLOAT,  CONFIG__OFF(lr),                "",            NULL,               0, 100,         true,  true,  "learning rate; empty: base_lr x batch x accum / base_batch" },
    { "base_lr",            CONFIG_FLOAT,  CONFIG__OFF(base_lr),           "0.008",       NULL,               0, 100,         true,  false, "the recipe's lr at base_batch" },
    { "base_batch",         CONFIG_INT,    CONFIG__OFF(base_batch),        "32",          NULL,               1, 65536,       false, false, "the recipe's images per update" },
    { "optimizer",          CONFIG_ENUM,   CONFIG__OFF(optimizer),         "sgd",         config__optimizers, 0, 0,           false, false, "sgd (the recipes') or adamw (betas 0.9, 0.999, eps 1e-8)" },
    { "momentum",           CONFIG_FLOAT,  CONFIG__OFF(momentum),          "0.9",         NULL,               0, 1,           false, false, "SGD momentum" },
    { "weight_decay",       CONFIG_FLOAT,  CONFIG__OFF(weight_decay),      "0.0001",      NULL,               0, 1,           false, false, "weight decay: SGD adds it to the gradient, AdamW decouples it" },
    { "warmup_iters",       CONFIG_INT,    CONFIG__OFF(warmup_iters),      "500",         NULL,               0, 100000000,   false, false, "linear warmup, in updates" },
    { "warmup_ratio",       CONFIG_FLOAT,  CONFIG__OFF(warmup_ratio),      "0.001",       NULL,               0, 1,           true,  false, "lr at the first update / lr" },
    { "epochs",             CONFIG_INT,    CONFIG__OFF(epochs),            "100",         NULL,               1, 100000,      false, false, "training epochs" },
    { "lr_steps",           CONFIG_INTS,   CONFIG__OFF(lr_steps),          "75, 95",      NULL,               1, 100000,      false, true,  "epochs after which the lr is multiplied by 0.1, increasing" },
    { "size",               CONFIG_INT,    CONFIG__OFF(size),              "512",         NULL,              32, 4096,        false, false, "training images resized to size x size, a multiple of 32" },
    { "aug_photometric",    CONFIG_BOOL,   CONFIG__OFF(aug_photometric),   "true",        NULL,               0, 0,           false, false, "training: photometric distortion (brightness, contrast, saturation, hue, channel swap)" },
    { "aug_expand",         CONFIG_BOOL,   CONFIG__OFF(aug_expand),        "true",        NULL,               0, 0,           false, false, "training: expand (zoom out) by up to 4x on the mean colour, p 0.5" },
    { "aug_crop",           CONFIG_BOOL,   CONFIG__OFF(aug_crop),          "true",        NULL,               0, 0,           false, false, "training: min-IoU random crop (SSD)" },
    { "aug_flip",           CONFIG_BOOL,   CONFIG__OFF(aug_flip),          "true",        NULL,               0, 0,           false, false, "training: horizontal flip, p 0.5" },
    { "test_size",          CONFIG_INT,    CONFIG__OFF(test_size),         "500",         NULL,               1, 8192,        false, false, "test: short side (aspect ratio kept, padded to 32)" },
    { "test_max_size",      CONFIG_INT,    CONFIG__OFF(test_max_size),     "833",         NULL,               1, 8192,        false, false, "test: long side at most" },
    { "score_thr",          CONFIG_FLOAT,  CONFIG__OFF(score_thr),         "0.05",        NULL,               0, 1,           false, false, "test: detections scored above this are kept" },
    { "nms_iou",            CONFIG_FLOAT,  CONFIG__OFF(nms_iou),           "0.5",         NULL,               0, 1,           false, false, "test: class-wise NMS IoU" },
    { "nms_pre",            CONFIG_INT,    CONFIG__OFF(nms_pre),           "1000",        NULL,               1, 1000000,     false, false, "test: anchors kept per level before NMS" },
    { "max_per_img",        CONFIG_INT,    CONFIG__OFF(max_per_img),       "100",         NULL,               1, 100000,      false, false, "test: detections per image" },
    { "ckpt_every",         CONFIG_INT,    CONFIG__OFF(ckpt_every),        "1000",        NULL,               0, 100000000,   false, false, "updates between checkpoints (0: none); one is also written at every epoch's end" },
    { "eval_every",         CONFIG_INT,    CONFIG__OFF(eval_every),        "1",           NULL,               0, 100000,      false, false, "epochs between evaluations (0: the last only)" },
    { "seed",               CONFIG_INT,    CONFIG__OFF(seed),              "0",           NULL,               0, INT_MAX,     false, false, "initialisation and data order" },
    { "published_ap",       CONFIG_TEXT,   CONFIG__OFF(published_ap),      "",            NULL,               0, 0,           false, false, "the official README's COCO AP for this recipe (not reproduced here)" },
    // [B]'s variant and the input normalisation (docs/weights.md); the defaults are [A]'s
    { "resnet_style",       CONFIG_ENUM,   CONFIG__OFF(resnet_style),      "pytorch",     config__resnet_styles, 0, 0,        false, false, "bottleneck stride in the 3x3 (pytorch) or in the first 1x1 (caffe: [B]'s R50, R101)" },
    { "stem_bias",          CONFIG_BOOL,   CONFIG__OFF(stem_bias),         "false",       NULL,               0, 0,           false, false, "conv1 has a bias ([B]'s R50)" },
    { "p7_relu",            CONFIG_BOOL,   CONFIG__OFF(p7_relu),           "false",       NULL,               0, 0,           false, false, "P7 = conv(ReLU(P6)) ([B]); false: conv(P6) ([A])" },
    { "p6_from_p5",         CONFIG_BOOL,   CONFIG__OFF(p6_from_p5),        "false",       NULL,               0, 0,           false, false, "P6 = conv(P5) (torchvision); false: conv(C5) ([A])" },
    { "anchor_plus_one",    CONFIG_BOOL,   CONFIG__OFF(anchor_plus_one),   "false",       NULL,               0, 0,           false, false, "[B]'s anchors: window [0, 0, s-1, s-1], +1 convention" },
    { "post_style",         CONFIG_ENUM,   CONFIG__OFF(post_style),        "mmdet",       config__post_styles, 0, 0,          false, false, "test post-processing: mmdet ([A]: top nms_pre anchors per level) or seed ([B]: top nms_pre (anchor, class) pairs, +1 decoding)" },
    { "input_bgr",          CONFIG_BOOL,   CONFIG__OFF(input_bgr),         "false",       NULL,               0, 0,           false, false, "network input in B, G, R order ([B]); false: R, G, B" },
    { "pixel_mean",         CONFIG_FLOATS, CONFIG__OFF(pixel_mean),        "123.675, 116.28, 103.53", NULL,   -1000, 1000,    false, false, "subtracted from the 0..255 values, 3 numbers in input channel order" },
    { "pixel_std",          CONFIG_FLOATS, CONFIG__OFF(pixel_std),         "58.395, 57.12, 57.375", NULL,     0, 1000,        true,  false, "then divided by these, 3 numbers in input channel order" },
};

#define CONFIG__N_KEYS ((int) (sizeof(config__keys) / sizeof(config__keys[0])))

int config_n_keys(void) { return CONFIG__N_KEYS; }

const struct config_key * config_key_at(int i) {
    return i >= 0 && i < CONFIG__N_KEYS ? &config__keys[i] : NULL;
}

static const struct config_key * config__find(const char * name, size_t len) {
    for (int i = 0; i < CONFIG__N_KEYS; i++) {
        if (strlen(config__keys[i].name) == len && memcmp(config__keys[i].name, name, len) == 0) return &config__keys[i];
    }
    return NULL;
}

const struct config_key * config_key_find(const char * name) {
    return name ? config__find(name, strlen(name)) : NULL;
}

const char * config_choice(const char * key, int v) {
    const struct config_key * k = config_key_find(key);
    if (!k || k->type != CONFIG_ENUM || v < 0) return "?";
    for (int i = 0; k->choices[i]; i++) if (i == v) return k->choices[i];
    return "?";
}

// ---------------------------------------------------------------------------------------------
// messages

// err = "<where>: <fmt...>", always one line
static int config__fail(char * err, size_t err_size, const char * where, const char * fmt, ...) {
    if (!err || err_size == 0) return -1;
    int n = snprintf(err, err_size, "%s: ", where);
    if (n < 0) n = 0;
    if ((size_t) n < err_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + n, err_size - (size_t) n, fmt, ap);
        va_end(ap);
    }
    for (char * p = err; *p; p++) if (*p == '\n' || *p == '\r') *p = ' ';
    return -1;
}

// s[0..n) quoted for a message: at most 40 bytes, unprintable bytes as '?'
static void config__quote(char * dst, size_t size, const char * s, size_t n) {
    size_t j = 0, lim = 40;
    for (size_t i = 0; i < n && j + 4 < size; i++) {
        if (i == lim) { memcpy(dst + j, "...", 3); j += 3; break; }
        unsigned char ch = (unsigned char) s[i];
        dst[j++] = (ch >= 32 && ch < 127) ? (char) ch : '?';
    }
    dst[j] = '\0';
}

static void config__valid_keys(char * buf, size_t size) {
    size_t j = 0;
    buf[0] = '\0';
    for (int i = 0; i < CONFIG__N_KEYS && j < size; i++) {
        int n = snprintf(buf + j, size - j, "%s%s", i ? ", " : "", config__keys[i].name);
        if (n < 0) break;
        j += (size_t) n;
    }
}

// ---------------------------------------------------------------------------------------------
// values

static bool config__is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f'; }

static void config__trim(const char ** s, size_t * n) {
    while (*n > 0 && config__is_space(**s)) { (*s)++; (*n)--; }
    while (*n > 0 && config__is_space((*s)[*n - 1])) (*n)--;
}

// a decimal integer, all of s[0..n)
static bool config__parse_int(const char * s, size_t n, long long * out) {
    char buf[32];
    if (n == 0 || n >= sizeof buf) return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    size_t i = (buf[0] == '+' || buf[0] == '-') ? 1 : 0;
    if (!buf[i]) return false;
    for (; buf[i]; i++) if (!isdigit((unsigned char) buf[i])) return false;
    errno = 0;
    char * end;
    long long v = strtoll(buf, &end, 10);
    if (errno || *end) return false;
    *out = v;
    return true;
}

// a finite decimal number (digits, sign, '.', exponent; no hex, inf or nan), all of s[0..n)
static bool config__parse_float(const char * s, size_t n, double * out) {
    char buf[64];
    if (n == 0 || n >= sizeof buf) return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    bool digit = false;
    for (size_t i = 0; i < n; i++) {
        char ch = buf[i];
        if (isdigit((unsigned char) ch)) digit = true;
        else if (ch != '+' && ch != '-' && ch != '.' && ch != 'e' && ch != 'E') return false;
    }
    if (!digit) return false;
    errno = 0;
    char * end;
    double v = strtod(buf, &end);
    if (*end || !isfinite(v) || errno == ERANGE) return false;
    if (fabs(v) > FLT_MAX) return false;
    *out = v;
    return true;
}

static const char * config__type_name(const struct config_key * k) {
    switch (k->type) {
        case CONFIG_INT:    return "an integer";
        case CONFIG_FLOAT:  return k->empty_ok ? "a number or nothing" : "a number";
        case CONFIG_BOOL:   return "true or false";
        case CONFIG_ENUM:   return "a name";
        case CONFIG_INTS:   return "a comma-separated list of integers";
        case CONFIG_FLOATS: return "a comma-separated list of numbers";
        case CONFIG_TEXT:   return "text";
    }
    return "?";
}

// "an integer in [1, 65536]" / "a number in (0, 100]"
static void config__range(const struct config_key * k, char * buf, size_t size) {
    snprintf(buf, size, "%s in %c%.10g, %.10g]", k->type == CONFIG_INT || k->type == CONFIG_INTS ? "an integer" : "a number",
             k->min_open ? '(' : '[', k->min, k->max);
}

static bool config__in_range(const struct config_key * k, double v) {
    return (k->min_open ? v > k->min : v >= k->min) && v <= k->max;
}

// one number of an int or float key (or list entry) into *out; message on failure
static int config__number(const struct config_key * k, const char * s, size_t n, bool is_int, double * out,
                          const char * where, char * err, size_t err_size) {
    char q[64], r[96];
    // a list's entry is "an integer" / "a number"; a scalar says what the key takes
    const char * what = k->type == CONFIG_INTS ? "an integer" : k->type == CONFIG_FLOATS ? "a number" : config__type_name(k);
    config__quote(q, sizeof q, s, n);
    if (is_int) {
        long long v;
        if (!config__parse_int(s, n, &v)) {
            return config__fail(err, err_size, where, "key '%s': value '%s' is not %s", k->name, q, what);
        }
        *out = (double) v;
        if (v < (long long) INT_MIN || v > (long long) INT_MAX) *out = v < 0 ? -1e300 : 1e300;
    } else if (!config__parse_float(s, n, out)) {
        return config__fail(err, err_size, where, "key '%s': value '%s' is not %s", k->name, q, what);
    } else {
        *out = (double) (float) *out;   // the range applies to the value stored (1e-50 is a float 0)
    }
    if (!config__in_range(k, *out)) {
        config__range(k, r, sizeof r);
        return config__fail(err, err_size, where, "key '%s': value %s out of range (expected %s)", k->name, q, r);
    }
    return 0;
}

// value s[0..n) (trimmed) of key k into c
static int config__set_value(struct config * c, const struct config_key * k, const char * s, size_t n,
                             const char * where, char * err, size_t err_size) {
    char * field = (char *) c + k->offset;
    char q[64];
    double v;
    config__quote(q, sizeof q, s, n);
    switch (k->type) {
        case CONFIG_INT:
            if (config__number(k, s, n, true, &v, where, err, err_size)) return -1;
            *(int *) field = (int) v;
            return 0;
        case CONFIG_FLOAT:
            if (n == 0 && k->empty_ok) { *(float *) field = 0.0f; return 0; }
            if (config__number(k, s, n, false, &v, where, err, err_size)) return -1;
            *(float *) field = (float) v;
            return 0;
        case CONFIG_BOOL:
            if (n == 4 && memcmp(s, "true", 4) == 0)  { *(bool *) field = true;  return 0; }
            if (n == 5 && memcmp(s, "false", 5) == 0) { *(bool *) field = false; return 0; }
            return config__fail(err, err_size, where, "key '%s': value '%s' is not true or false", k->name, q);
        case CONFIG_ENUM: {
            char names[256];
            size_t j = 0;
            names[0] = '\0';
            for (int i = 0; k->choices[i]; i++) {
                if (strlen(k->choices[i]) == n && memcmp(k->choices[i], s, n) == 0) { *(int *) field = i; return 0; }
                int m = snprintf(names + j, sizeof names - j, "%s%s", i ? "|" : "", k->choices[i]);
                if (m > 0 && j + (size_t) m < sizeof names) j += (size_t) m;
            }
            return config__fail(err, err_size, where, "key '%s': value '%s' is not one of %s", k->name, q, names);
        }
        case CONFIG_INTS:
        case CONFIG_FLOATS: {
            const bool is_int = k->type == CONFIG_INTS;
            int count = 0;
            int   iv[CONFIG_MAX_LIST];
            float fv[CONFIG_MAX_LIST];
            if (n > 0) {
                size_t i = 0;
                for (;;) {
                    size_t j = i;
                    while (j < n && s[j] != ',') j++;
                    const char * e = s + i;
                    size_t m = j - i;
                    config__trim(&e, &m);
                    if (m == 0) {
                        return config__fail(err, err_size, where, "key '%s': value '%s' has an empty entry (expected %s)",
                                            k->name, q, config__type_name(k));
                    }
                    if (count == CONFIG_MAX_LIST) {
                        return config__fail(err, err_size, where, "key '%s': value '%s' has more than %d entries",
                                            k->name, q, CONFIG_MAX_LIST);
                    }
                    if (config__number(k, e, m, is_int, &v, where, err, err_size)) return -1;
                    if (is_int) iv[count] = (int) v; else fv[count] = (float) v;
                    count++;
                    if (j == n) break;
                    i = j + 1;
                }
            }
            if (count == 0 && !k->empty_ok) {
                return config__fail(err, err_size, where, "key '%s': empty value (expected %s)", k->name, config__type_name(k));
            }
            if (is_int) {
                struct config_ints * l = (struct config_ints *) field;
                l->n = count;
                memcpy(l->v, iv, sizeof(int) * (size_t) count);
            } else {
                struct config_floats * l = (struct config_floats *) field;
                l->n = count;
                memcpy(l->v, fv, sizeof(float) * (size_t) count);
            }
            return 0;
        }
        case CONFIG_TEXT:
            if (n >= CONFIG_MAX_TEXT) {
                return config__fail(err, err_size, where, "key '%s': value '%s' is longer than %d bytes", k->name, q, CONFIG_MAX_TEXT - 1);
            }
            for (size_t i = 0; i < n; i++) {
                if ((unsigned char) s[i] < 32 || s[i] == 127) {
                    return config__fail(err, err_size, where, "key '%s': value '%s' has a control character", k->name, q);
                }
            }
            memcpy(field, s, n);
            field[n] = '\0';
            return 0;
    }
    return config__fail(err, err_size, where, "key '%s': bad type", k->name);
}

void config_defaults(struct config * c) {
    memset(c, 0, sizeof *c);
    for (int i = 0; i < CONFIG__N_KEYS; i++) {
        const struct config_key * k = &config__keys[i];
        char err[256];
        // the defaults are checked by tests/test-model-config.c, so this cannot fail
        (void) config__set_value(c, k, k->def, strlen(k->def), "default", err, sizeof err);
    }
}

// ---------------------------------------------------------------------------------------------
// lines

// One line (without its '\n'): a comment, blank, or key = value. *key_out is NULL for a line
// with no key. lines[] holds the line each key was set on (0: not yet), for duplicates.
static int config__line(struct config * c, const char * s, size_t n, const char * where, int lineno, int * lines,
                        const struct config_key ** key_out, char * err, size_t err_size) {
    *key_out = NULL;
    const char * hash = memchr(s, '#', n);
    if (hash) n = (size_t) (hash - s);
    config__trim(&s, &n);
    if (n == 0) return 0;
    const char * eq = memchr(s, '=', n);
    char q[64];
    if (!eq) {
        config__quote(q, sizeof q, s, n);
        return config__fail(err, err_size, where, "missing '=' in '%s' (expected key = value)", q);
    }
    const char * key = s;
    size_t key_n = (size_t) (eq - s);
    const char * val = eq + 1;
    size_t val_n = n - key_n - 1;
    config__trim(&key, &key_n);
    config__trim(&val, &val_n);
    if (key_n == 0) return config__fail(err, err_size, where, "missing key before '='");
    const struct config_key * k = config__find(key, key_n);
    if (!k) {
        char valid[1024];
        config__valid_keys(valid, sizeof valid);
        config__quote(q, sizeof q, key, key_n);
        return config__fail(err, err_size, where, "unknown key '%s' (valid keys: %s)", q, valid);
    }
    if (lines) {
        int idx = (int) (k - config__keys);
        if (lines[idx]) return config__fail(err, err_size, where, "duplicate key '%s' (first set on line %d)", k->name, lines[idx]);
        lines[idx] = lineno;
    }
    *key_out = k;
    return config__set_value(c, k, val, val_n, where, err, err_size);
}

static int config__check(const struct config * c, const char * name, const int * lines, char * err, size_t err_size);

int config_parse(const char * text, size_t n, const char * name, struct config * c, char * err, size_t err_size) {
    char where[320];
    int lines[CONFIG__N_KEYS];
    memset(lines, 0, sizeof lines);
    if (!name) name = "config";
    config_defaults(c);
    if (n > 0 && memchr(text, '\0', n)) {
        const char * z = memchr(text, '\0', n);
        int lineno = 1;
        for (const char * p = text; p < z; p++) lineno += *p == '\n';
        snprintf(where, sizeof where, "%s:%d", name, lineno);
        return config__fail(err, err_size, where, "NUL byte (not a text file)");
    }
    int lineno = 0, n_set = 0;
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && text[j] != '\n') j++;
        lineno++;
        snprintf(where, sizeof where, "%s:%d", name, lineno);
        const struct config_key * k;
        if (config__line(c, text + i, j - i, where, lineno, lines, &k, err, err_size)) return -1;
        n_set += k != NULL;
        i = j + 1;
    }
    if (n_set == 0) return config__fail(err, err_size, name, "empty config (no key = value line)");
    return config__check(c, name, lines, err, err_size);
}

int config_load(const char * path, struct config * c, char * err, size_t err_size) {
    const size_t max = (size_t) 1 << 20;
    config_defaults(c);
    FILE * f = fopen(path, "rb");
    if (!f) return config__fail(err, err_size, path, "cannot open: %s", strerror(errno));
    char * buf = malloc(max + 1);
    if (!buf) { fclose(f); return config__fail(err, err_size, path, "out of memory"); }
    size_t n = fread(buf, 1, max + 1, f);
    int bad = ferror(f) ? errno : 0;
    fclose(f);
    int rc;
    if (bad)          rc = config__fail(err, err_size, path, "cannot read: %s", strerror(bad));
    else if (n > max) rc = config__fail(err, err_size, path, "larger than 1 MiB (not a config)");
    else              rc = config_parse(buf, n, path, c, err, err_size);
    free(buf);
    return rc;
}

int config_set(struct config * c, const char * kv, char * err, size_t err_size) {
    char where[96], q[64];
    size_t n = strlen(kv);
    config__quote(q, sizeof q, kv, n);
    snprintf(where, sizeof where, "override '%s'", q);
    if (memchr(kv, '\n', n)) return config__fail(err, err_size, where, "a newline in an override");
    if (memchr(kv, '#', n))  return config__fail(err, err_size, where, "'#' in an override");
    const struct config_key * k;
    if (config__line(c, kv, n, where, 0, NULL, &k, err, err_size)) return -1;
    if (!k) return config__fail(err, err_size, where, "expected key=value");
    return 0;
}

// ---------------------------------------------------------------------------------------------
// rules between keys

static int config__check(const struct config * c, const char * name, const int * lines, char * err, size_t err_size) {
    char where[320];
    // where: "file:line" of the key that breaks the rule (the later one of two), or just the name
#define CONFIG__WHERE(key) do {                                                                \
        const struct config_key * k_ = config_key_find(key);                                     \
        int l_ = lines && k_ ? lines[k_ - config__keys] : 0;                                      \
        if (l_) snprintf(where, sizeof where, "%s:%d", name, l_); else snprintf(where, sizeof where, "%s", name); \
    } while (0)
#define CONFIG__LATER(a, b) (lines && lines[config_key_find(a) - config__keys] > lines[config_key_find(b) - config__keys] ? (a) : (b))
    if (c->batch % c->rank_group != 0) {
        CONFIG__WHERE(CONFIG__LATER("rank_group", "batch"));
        return config__fail(err, err_size, where, "rank_group %d does not divide batch %d", c->rank_group, c->batch);
    }
    if ((long long) c->batch * c->accum > 65536) {
        CONFIG__WHERE(CONFIG__LATER("accum", "batch"));
        return config__fail(err, err_size, where, "batch x accum = %lld is more than 65536", (long long) c->batch * c->accum);
    }
    for (int i = 1; i < c->lr_steps.n; i++) {
        if (c->lr_steps.v[i] <= c->lr_steps.v[i - 1]) {
            CONFIG__WHERE("lr_steps");
            return config__fail(err, err_size, where, "lr_steps must be increasing (%d after %d)", c->lr_steps.v[i], c->lr_steps.v[i - 1]);
        }
    }
    if (c->test_max_size < c->test_size) {
        CONFIG__WHERE(CONFIG__LATER("test_max_size", "test_size"));
        return config__fail(err, err_size, where, "test_max_size %d is less than test_size %d", c->test_max_size, c->test_size);
    }
    if (c->size % 32 != 0) {
        CONFIG__WHERE("size");
        return config__fail(err, err_size, where, "size %d is not a multiple of 32 (the network's largest stride)", c->size);
    }
    if ((long long) c->anchor_ratios.n * c->scales_per_octave > ANCHORS_MAX_PER_LOC) {
        CONFIG__WHERE(CONFIG__LATER("anchor_ratios", "scales_per_octave"));
        return config__fail(err, err_size, where, "%d anchor ratios x %d scales per octave is more than %d anchors per location",
                            c->anchor_ratios.n, c->scales_per_octave, ANCHORS_MAX_PER_LOC);
    }
    if (c->backbone == CONFIG_BACKBONE_SMALL && c->frozen_stages >= 0) {
        CONFIG__WHERE(CONFIG__LATER("frozen_stages", "backbone"));
        return config__fail(err, err_size, where, "the small backbone trains from scratch: frozen_stages must be -1 (got %d)", c->frozen_stages);
    }
    if (c->pixel_mean.n != 3 || c->pixel_std.n != 3) {
        CONFIG__WHERE(c->pixel_mean.n != 3 ? "pixel_mean" : "pixel_std");
        return config__fail(err, err_size, where, "pixel_mean and pixel_std take 3 numbers each (got %d and %d)", c->pixel_mean.n, c->pixel_std.n);
    }
    if (c->backbone == CONFIG_BACKBONE_SMALL && c->resnet_style == CONFIG_RESNET_CAFFE) {
        CONFIG__WHERE(CONFIG__LATER("resnet_style", "backbone"));
        return config__fail(err, err_size, where, "resnet_style caffe needs a bottleneck backbone (the small one has basic blocks)");
    }
#undef CONFIG__WHERE
#undef CONFIG__LATER
    return 0;
}

int config_check(const struct config * c, char * err, size_t err_size) {
    return config__check(c, "config", NULL, err, err_size);
}

// ---------------------------------------------------------------------------------------------
// derived values

int config_derive(const struct config * c, int64_t n_images, int n_classes, struct config_derived * d,
                  char * err, size_t err_size) {
    memset(d, 0, sizeof *d);
    if (n_images < 1)  return config__fail(err, err_size, "config", "the dataset has no training images");
    if (n_images > (int64_t) 1 << 40) return config__fail(err, err_size, "config", "%lld training images is too many", (long long) n_images);
    if (n_classes < 1) return config__fail(err, err_size, "config", "the dataset has no classes");
    if (config_check(c, err, err_size)) return -1;
    d->n_images  = n_images;
    d->n_classes = n_classes;
    d->n_anchors = c->anchor_ratios.n * c->scales_per_octave;
    d->eff_batch = c->batch * c->accum;
    d->iters_per_epoch = (n_images + d->eff_batch - 1) / d->eff_batch;
    d->total_iters = d->iters_per_epoch * c->epochs;
    d->sb_period = d->iters_per_epoch;
    d->lr_scaled = c->lr == 0.0f;
    d->lr = d->lr_scaled ? (float) ((double) c->base_lr * d->eff_batch / c->base_batch) : c->lr;
    return 0;
}

double config_lr_at(const struct config * c, const struct config_derived * d, int64_t iter) {
    if (iter < 0) iter = 0;
    if (d->iters_per_epoch < 1) return 0.0;    // d is not config_derive's
    const int64_t epoch = iter / d->iters_per_epoch;
    double lr = d->lr;
    for (int i = 0; i < c->lr_steps.n; i++) if (epoch >= c->lr_steps.v[i]) lr *= 0.1;
    if (iter < c->warmup_iters) {
        // mmdetection's linear warmup: lr * (1 - (1 - iter / warmup_iters) * (1 - warmup_ratio))
        const double k = (1.0 - (double) iter / c->warmup_iters) * (1.0 - c->warmup_ratio);
        lr *= 1.0 - k;
    }
    return lr;
}

void config_anchors(const struct config * c, struct anchors_config * a) {
    memset(a, 0, sizeof *a);
    a->n_levels = 5;
    for (int l = 0; l < 5; l++) a->strides[l] = 8 << l;
    a->octave_base_scale = c->octave_base_scale;
    a->scales_per_octave = c->scales_per_octave;
    a->n_ratios = c->anchor_ratios.n;
    for (int i = 0; i < c->anchor_ratios.n && i < ANCHORS_MAX_PER_LOC; i++) a->ratios[i] = c->anchor_ratios.v[i];
    a->plus_one = c->anchor_plus_one;
}

// ---------------------------------------------------------------------------------------------
// printing

// the shortest %g text of v that reads back as the same float
static void config__format_float(float v, char * buf, size_t size) {
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, size, "%.*g", p, (double) v);
        if (strtof(buf, NULL) == v) return;
    }
}

void config_format_value(const struct config * c, const struct config_key * k, char * buf, size_t size) {
    const char * field = (const char *) c + k->offset;
    size_t j = 0;
    buf[0] = '\0';
    switch (k->type) {
        case CONFIG_INT:  snprintf(buf, size, "%d", *(const int *) field); break;
        case CONFIG_FLOAT:
            if (k->empty_ok && *(const float *) field == 0.0f) buf[0] = '\0';
            else config__format_float(*(const float *) field, buf, size);
            break;
        case CONFIG_BOOL: snprintf(buf, size, "%s", *(const bool *) field ? "true" : "false"); break;
        case CONFIG_ENUM: snprintf(buf, size, "%s", config_choice(k->name, *(const int *) field)); break;
        case CONFIG_INTS: {
            const struct config_ints * l = (const struct config_ints *) field;
            for (int i = 0; i < l->n && j < size; i++) {
                int m = snprintf(buf + j, size - j, "%s%d", i ? ", " : "", l->v[i]);
                if (m < 0) break;
                j += (size_t) m;
            }
            break;
        }
        case CONFIG_FLOATS: {
            const struct config_floats * l = (const struct config_floats *) field;
            for (int i = 0; i < l->n && j < size; i++) {
                char f[32];
                config__format_float(l->v[i], f, sizeof f);
                int m = snprintf(buf + j, size - j, "%s%s", i ? ", " : "", f);
                if (m < 0) break;
                j += (size_t) m;
            }
            break;
        }
        case CONFIG_TEXT: snprintf(buf, size, "%s", field); break;
    }
}

void config_print(FILE * f, const struct config * c, const struct config_derived * d) {
    char v[256];
    for (int i = 0; i < CONFIG__N_KEYS; i++) {
        config_format_value(c, &config__keys[i], v, sizeof v);
        fprintf(f, "%-18s = %-24s # %s\n", config__keys[i].name, v, config__keys[i].help);
    }
    if (d) {
        fprintf(f, "# derived: %lld images, %d classes, %d anchors per location, %d images per update\n",
                (long long) d->n_images, d->n_classes, d->n_anchors, d->eff_batch);
        fprintf(f, "# derived: %lld iterations per epoch, %lld in all, self-balance period %lld, lr %g%s\n",
                (long long) d->iters_per_epoch, (long long) d->total_iters, (long long) d->sb_period, (double) d->lr,
                d->lr_scaled ? " (base_lr x batch x accum / base_batch)" : "");
    }
}

void config_print_help(FILE * f) {
    static const char * const types[] = { "int", "float", "bool", "name", "ints", "floats", "text" };
    for (int i = 0; i < CONFIG__N_KEYS; i++) {
        const struct config_key * k = &config__keys[i];
        char def[96];
        snprintf(def, sizeof def, "%s%s%s", k->def[0] ? "" : "(", k->def[0] ? k->def : "empty", k->def[0] ? "" : ")");
        fprintf(f, "  %-18s %-6s %-10s %s\n", k->name, types[k->type], def, k->help);
    }
}

bool config_equal(const struct config * a, const struct config * b) {
    char x[256], y[256];
    for (int i = 0; i < CONFIG__N_KEYS; i++) {
        config_format_value(a, &config__keys[i], x, sizeof x);
        config_format_value(b, &config__keys[i], y, sizeof y);
        if (strcmp(x, y) != 0) return false;
    }
    return true;
}
