// libFuzzer harness for the safetensors reader and writer of alrp.h (alrp_st_*, alrp_load_tensors).
// Not part of make test.
//
//     clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I. tests/fuzz/fuzz-safetensors.c -o /tmp/fuzz-st -lm -lpthread
//     mkdir -p /tmp/fuzz-st-corpus
//     /tmp/fuzz-st -dict=tests/fuzz/safetensors.dict -max_len=4096 -max_total_time=600 /tmp/fuzz-st-corpus tests/fuzz/corpus-safetensors
//
// The input is a whole file. It is loaded with alrp_st_load_buffer and, written to a temporary
// file ($FUZZ_TMPDIR, else /dev/shm, else /tmp: every input is written and saved, so a tmpfs
// keeps it fast), with alrp_st_load: both must give the same verdict and message, and a message
// must be one line (no control character, also with a short err buffer). When it loads:
//   - every tensor's data lies in the data section, is the input's bytes at its offset, the
//     tensors cover the section in offset order; numel is the shape's product, nbytes numel x
//     the dtype's size; alrp_st_get finds each by name; metadata by index and by key agree;
//     alrp_st_to_f32 converts every dtype but BOOL (F32 bit for bit);
//   - alrp_st_save writes it (it must accept whatever the reader accepted) and the file reads
//     back with the same tensors, bytes and metadata; saved again, it gives the same bytes;
//   - alrp_load_tensors loads each tensor (of a shape an alrp tensor can have) into F32, I32 and
//     I8 tensors of their own exact-size blocks: F32 gets alrp_st_to_f32's values (BOOL is an
//     error), I32/I8 get the integer values exactly or an error when one is out of range (BOOL:
//     outside 0..1) or the dtype is a float; a wrong shape and a missing name are errors.
// Seeds (tests/fuzz/corpus-safetensors): an F32 tensor, metadata, every dtype, a scalar with an
// empty and an 8-dim tensor, the 68-byte U8 [5] file with an unpadded header, escaped names.
#define ALRP_IMPLEMENTATION
#include "alrp.h"
#include "../one-line.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FUZZ_ASSERT(c) do { if (!(c)) { fprintf(stderr, "assertion failed: %s (line %d)\n", #c, __LINE__); abort(); } } while (0)


static char tmp_dir[256], in_path[320], out_path[320], out2_path[320];

static void init_paths(void) {
    if (tmp_dir[0]) return;
    const char * d = getenv("FUZZ_TMPDIR");
    if (!d) d = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(tmp_dir, sizeof(tmp_dir), "%s", d);
    snprintf(in_path, sizeof(in_path), "%s/fuzz-st-%d-in.safetensors", tmp_dir, (int) getpid());
    snprintf(out_path, sizeof(out_path), "%s/fuzz-st-%d-out.safetensors", tmp_dir, (int) getpid());
    snprintf(out2_path, sizeof(out2_path), "%s/fuzz-st-%d-out2.safetensors", tmp_dir, (int) getpid());
}

static uint8_t * slurp(const char * path, size_t * size) {
    FILE * fp = fopen(path, "rb");
    FUZZ_ASSERT(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t * p = (uint8_t *) malloc((size_t) n + 1);
    FUZZ_ASSERT(p && fread(p, 1, (size_t) n, fp) == (size_t) n);
    fclose(fp);
    *size = (size_t) n;
    return p;
}

static void spill(const char * path, const uint8_t * data, size_t size) {
    FILE * fp = fopen(path, "wb");
    FUZZ_ASSERT(fp);
    FUZZ_ASSERT(size == 0 || fwrite(data, 1, size, fp) == size);
    FUZZ_ASSERT(fclose(fp) == 0);
}

// element k of an integer (or BOOL) dtype as a value in [-2^63, 2^64): *neg and the magnitude;
// 0 if the dtype is no integer
static int int_at(const struct alrp_st_tensor * t, int64_t k, int * neg, uint64_t * mag) {
    const uint8_t * p = (const uint8_t *) t->data;
    int64_t sv = 0;
    uint64_t uv = 0;
    int is_signed = 1;
    if      (!strcmp(t->dtype, "I64")) { memcpy(&sv, p + 8 * k, 8); }
    else if (!strcmp(t->dtype, "I32")) { int32_t x; memcpy(&x, p + 4 * k, 4); sv = x; }
    else if (!strcmp(t->dtype, "I16")) { int16_t x; memcpy(&x, p + 2 * k, 2); sv = x; }
    else if (!strcmp(t->dtype, "I8"))  { int8_t x;  memcpy(&x, p + k, 1); sv = x; }
    else if (!strcmp(t->dtype, "U64")) { memcpy(&uv, p + 8 * k, 8); is_signed = 0; }
    else if (!strcmp(t->dtype, "U32")) { uint32_t x; memcpy(&x, p + 4 * k, 4); uv = x; is_signed = 0; }
    else if (!strcmp(t->dtype, "U16")) { uint16_t x; memcpy(&x, p + 2 * k, 2); uv = x; is_signed = 0; }
    else if (!strcmp(t->dtype, "U8") || !strcmp(t->dtype, "BOOL")) { uv = p[k]; is_signed = 0; }
    else return 0;
    if (is_signed) { *neg = sv < 0; *mag = sv < 0 ? (uint64_t) 0 - (uint64_t) sv : (uint64_t) sv; }
    else           { *neg = 0; *mag = uv; }
    return 1;
}

static int is_float(const char * dtype) {
    return !strcmp(dtype, "F64") || !strcmp(dtype, "F32") || !strcmp(dtype, "F16") || !strcmp(dtype, "BF16");
}

// alrp_load_tensors of t (from the file at path) into F32, I32 and I8 tensors of its shape
static void check_load_tensors(const char * path, const struct alrp_st_tensor * t) {
    if (t->n_dims > ALRP_MAX_DIMS || t->numel < 1 || strlen(t->name) >= ALRP_MAX_NAME) return;
    int64_t shape[ALRP_MAX_DIMS] = { 1 };
    int nd = t->n_dims ? t->n_dims : 1;
    for (int d = 0; d < t->n_dims; d++) shape[d] = t->shape[d];
    struct alrp_init_params ip = { 8 * alrp_tensor_overhead(), NULL, true };
    struct alrp_context * ctx = alrp_init(ip);
    float * f32 = (float *) malloc((size_t) t->numel * sizeof(float));
    int conv = alrp_st_to_f32(t, f32);
    const enum alrp_type types[3] = { ALRP_TYPE_F32, ALRP_TYPE_I32, ALRP_TYPE_I8 };
    for (int j = 0; j < 3; j++) {
        struct alrp_tensor * d = alrp_set_name(alrp_new_tensor(ctx, types[j], nd, shape), t->name);
        size_t nb = alrp_nbytes(d);
        d->data = malloc(nb);   // its own block: ASan sees a write past it
        memset(d->data, 0xA5, nb);
        char err[1024] = "";
        int rc = alrp_load_tensors(NULL, path, 1, &d, false, err, sizeof(err));
        if (rc != 1) {
            FUZZ_ASSERT(rc == -1 && one_line(err) && strncmp(err, path, strlen(path)) == 0);
            FUZZ_ASSERT(strstr(err, t->dtype) != NULL);
        }
        if (j == 0) {
            FUZZ_ASSERT((rc == 1) == (conv == 0));
            if (rc == 1) FUZZ_ASSERT(memcmp(d->data, f32, nb) == 0);
        } else {
            const int64_t lo = j == 1 ? INT32_MIN : INT8_MIN, hi = j == 1 ? INT32_MAX : INT8_MAX;
            int want_ok = !is_float(t->dtype);
            for (int64_t k = 0; k < t->numel && want_ok; k++) {
                int neg;
                uint64_t mag;
                FUZZ_ASSERT(int_at(t, k, &neg, &mag));
                int64_t hi_k = strcmp(t->dtype, "BOOL") == 0 ? 1 : hi;
                if (neg ? mag > (uint64_t) -lo : mag > (uint64_t) hi_k) { want_ok = 0; break; }
                int64_t v = neg ? -(int64_t) mag : (int64_t) mag;
                if (rc == 1) FUZZ_ASSERT(j == 1 ? ((int32_t *) d->data)[k] == v : ((int8_t *) d->data)[k] == v);
            }
            FUZZ_ASSERT((rc == 1) == want_ok);
            if (rc != 1) {   // refused: untouched, and both dtypes named
                for (size_t b = 0; b < nb; b++) FUZZ_ASSERT(((uint8_t *) d->data)[b] == 0xA5);
                FUZZ_ASSERT(strstr(err, j == 1 ? "I32" : "I8") != NULL);
            }
        }
        free(d->data);
    }
    // a destination of another shape, and a name not in the file (the name + a control byte)
    int64_t longer[1] = { t->numel + 1 };
    struct alrp_tensor * d = alrp_set_name(alrp_new_tensor(ctx, ALRP_TYPE_F32, 1, longer), t->name);
    d->data = malloc(alrp_nbytes(d));
    char err[1024] = "", name[ALRP_MAX_NAME + 2];
    FUZZ_ASSERT(alrp_load_tensors(NULL, path, 1, &d, false, err, sizeof(err)) == -1 && one_line(err) && strstr(err, "has shape"));
    snprintf(name, sizeof(name), "%s\x1f", t->name);
    if (strlen(name) < ALRP_MAX_NAME) {
        alrp_set_name(d, name);
        FUZZ_ASSERT(alrp_load_tensors(NULL, path, 1, &d, true, err, sizeof(err)) == 0);
        FUZZ_ASSERT(alrp_load_tensors(NULL, path, 1, &d, false, err, sizeof(err)) == -1 && one_line(err) && strstr(err, "no tensor"));
    }
    free(d->data);
    free(f32);
    alrp_free(ctx);
}

// b has a's tensors (by name: dtype, shape, bytes) and metadata (in order)
static void check_same(const struct alrp_st_file * a, const struct alrp_st_file * b) {
    FUZZ_ASSERT(alrp_st_count(a) == alrp_st_count(b));
    for (int i = 0; i < alrp_st_count(a); i++) {
        const struct alrp_st_tensor * t = alrp_st_at(a, i), * u = alrp_st_get(b, t->name);
        FUZZ_ASSERT(u && strcmp(t->dtype, u->dtype) == 0 && t->n_dims == u->n_dims && t->numel == u->numel);
        FUZZ_ASSERT(memcmp(t->shape, u->shape, sizeof(int64_t) * (size_t) t->n_dims) == 0);
        FUZZ_ASSERT(t->nbytes == u->nbytes && (t->nbytes == 0 || memcmp(t->data, u->data, t->nbytes) == 0));
    }
    FUZZ_ASSERT(alrp_st_metadata_count(a) == alrp_st_metadata_count(b));
    for (int i = 0; i < alrp_st_metadata_count(a); i++) {
        const char * k1, * v1, * k2, * v2;
        alrp_st_metadata_at(a, i, &k1, &v1);
        alrp_st_metadata_at(b, i, &k2, &v2);
        FUZZ_ASSERT(strcmp(k1, k2) == 0 && strcmp(v1, v2) == 0);
    }
}

// saves f to path (which must work) and returns the reloaded file
static struct alrp_st_file * save_reload(const struct alrp_st_file * f, const char * path) {
    int n = alrp_st_count(f), nm = alrp_st_metadata_count(f);
    struct alrp_st_tensor * ts = (struct alrp_st_tensor *) malloc(sizeof(*ts) * (size_t) (n + 1));
    const char ** meta = (const char **) malloc(sizeof(char *) * (size_t) (2 * nm + 1));
    for (int i = 0; i < n; i++) ts[i] = *alrp_st_at(f, i);
    for (int i = 0; i < nm; i++) alrp_st_metadata_at(f, i, &meta[2 * i], &meta[2 * i + 1]);
    meta[2 * nm] = NULL;
    char err[1024] = "";
    int rc = alrp_st_save(path, n, ts, meta, err, sizeof(err));
    if (rc != 0) fprintf(stderr, "save failed: %s\n", err);
    FUZZ_ASSERT(rc == 0);
    free(ts);
    free(meta);
    struct alrp_st_file * g = alrp_st_load(path, err, sizeof(err));
    if (!g) fprintf(stderr, "reload failed: %s\n", err);
    FUZZ_ASSERT(g);
    return g;
}

static void check_loaded(const struct alrp_st_file * f, const uint8_t * data, size_t size) {
    uint64_t hlen = 0;
    for (int k = 7; k >= 0; k--) hlen = (hlen << 8) | data[k];
    const uint8_t * sec = data + 8 + hlen;          // the input's data section
    const size_t sec_size = size - 8 - (size_t) hlen;
    FUZZ_ASSERT(f->data_size == sec_size);
    uint64_t pos = 0;
    for (int i = 0; i < alrp_st_count(f); i++) {
        const struct alrp_st_tensor * t = alrp_st_at(f, i);
        const uint8_t * p = (const uint8_t *) t->data;
        FUZZ_ASSERT(t->n_dims >= 0 && t->n_dims <= ALRP_ST_MAX_DIMS);
        int64_t numel = 1;
        for (int d = 0; d < t->n_dims; d++) { FUZZ_ASSERT(t->shape[d] >= 0); numel *= t->shape[d]; }
        FUZZ_ASSERT(numel == t->numel && alrp_st_dtype_size(t->dtype) > 0);
        FUZZ_ASSERT(t->nbytes == (size_t) t->numel * (size_t) alrp_st_dtype_size(t->dtype));
        FUZZ_ASSERT(p >= f->data && (uint64_t) (p - f->data) + t->nbytes <= f->data_size);
        FUZZ_ASSERT((uint64_t) (p - f->data) == pos);   // offset order, no holes
        pos += t->nbytes;
        FUZZ_ASSERT(t->nbytes == 0 || memcmp(p, sec + (p - f->data), t->nbytes) == 0);
        FUZZ_ASSERT(alrp_st_get(f, t->name) == t);
        FUZZ_ASSERT(memchr(t->name, '\0', sizeof(t->name)) && memchr(t->dtype, '\0', sizeof(t->dtype)));
        float * dst = (float *) malloc((size_t) t->numel * sizeof(float) + 1);
        int rc = alrp_st_to_f32(t, dst);
        FUZZ_ASSERT(rc == (strcmp(t->dtype, "BOOL") == 0 ? -1 : 0));
        if (strcmp(t->dtype, "F32") == 0) FUZZ_ASSERT(t->nbytes == 0 || memcmp(dst, p, t->nbytes) == 0);
        free(dst);
    }
    FUZZ_ASSERT(pos == f->data_size);
    FUZZ_ASSERT(alrp_st_at(f, -1) == NULL && alrp_st_at(f, alrp_st_count(f)) == NULL);
    for (int i = 0; i < alrp_st_metadata_count(f); i++) {
        const char * k, * v;
        alrp_st_metadata_at(f, i, &k, &v);
        FUZZ_ASSERT(k && v && alrp_st_metadata(f, k) == v);
    }
    const char * k, * v;
    alrp_st_metadata_at(f, alrp_st_metadata_count(f), &k, &v);
    FUZZ_ASSERT(k == NULL && v == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    init_paths();
    char err[1024] = "", err2[1024] = "", small[64];
    struct alrp_st_file * f = alrp_st_load_buffer(data, size, in_path, err, sizeof(err));
    spill(in_path, data, size);
    struct alrp_st_file * g = alrp_st_load(in_path, err2, sizeof(err2));
    FUZZ_ASSERT((f == NULL) == (g == NULL));
    alrp_st_close(g);
    if (!f) {
        FUZZ_ASSERT(one_line(err) && strncmp(err, in_path, strlen(in_path)) == 0 && strcmp(err, err2) == 0);
        size_t cap = 1 + size % sizeof(small);   // a short buffer: still NUL-terminated, one line
        FUZZ_ASSERT(alrp_st_load_buffer(data, size, "in\n", small, cap) == NULL);
        FUZZ_ASSERT(strlen(small) < cap && one_line(small));
        return 0;
    }
    check_loaded(f, data, size);
    struct alrp_st_file * back = save_reload(f, out_path);
    check_same(f, back);
    check_same(back, f);
    struct alrp_st_file * again = save_reload(back, out2_path);
    size_t n1, n2;
    uint8_t * b1 = slurp(out_path, &n1), * b2 = slurp(out2_path, &n2);
    FUZZ_ASSERT(n1 == n2 && memcmp(b1, b2, n1) == 0);   // the writer's output is a fixed point
    free(b1);
    free(b2);
    for (int i = 0; i < alrp_st_count(back); i++) check_load_tensors(out_path, alrp_st_at(back, i));
    alrp_st_close(again);
    alrp_st_close(back);
    alrp_st_close(f);
    return 0;
}
