// safetensors reader/writer: round trip of every dtype, the atomic write, every kind of corrupt
// file (each must give its own one-line error, never a crash: run under make SANITIZE=1 too),
// random byte flips and truncations, and byte-identical output with tools/ref_safetensors.py.
//     usage: test-safetensors [tests/data]
#define ALRP_INTERNAL   // alrp__st_file_stats, alrp__st_save_ex: the duplicate checks' cost
#include "alrp.h"
#include "one-line.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int n_fail = 0, n_ok = 0;

static void check(int ok, const char * what, const char * detail) {
    if (ok) n_ok++; else n_fail++;
    printf("%s %s%s%s\n", ok ? "OK  " : "FAIL", what, detail ? ": " : "", detail ? detail : "");
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rng_u32(void) {  // xorshift64*, fixed seed
    rng_state ^= rng_state >> 12; rng_state ^= rng_state << 25; rng_state ^= rng_state >> 27;
    return (uint32_t) ((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}

static struct alrp_st_tensor mk(const char * name, const char * dtype, int n_dims, const int64_t * shape, const void * data) {
    struct alrp_st_tensor t;
    memset(&t, 0, sizeof(t));
    snprintf(t.name, sizeof(t.name), "%s", name);
    snprintf(t.dtype, sizeof(t.dtype), "%s", dtype);
    t.n_dims = n_dims;
    for (int d = 0; d < n_dims; d++) t.shape[d] = shape[d];
    t.data = data;
    return t;
}

static uint8_t * read_file(const char * path, size_t * size) {
    FILE * fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    uint8_t * p = (uint8_t *) malloc((size_t) n + 1);
    if (fread(p, 1, (size_t) n, fp) != (size_t) n) { free(p); fclose(fp); return NULL; }
    fclose(fp);
    *size = (size_t) n;
    return p;
}

static int write_file(const char * path, const void * p, size_t n) {
    FILE * fp = fopen(path, "wb");
    if (!fp) return -1;
    size_t w = fwrite(p, 1, n, fp);
    fclose(fp);
    return w == n ? 0 : -1;
}


// a file in memory: 8-byte length, header (as given, not padded), data_size bytes of data
static uint8_t * make_file(const char * header, uint64_t len_field, size_t data_size, size_t * size) {
    size_t hl = strlen(header);
    *size = 8 + hl + data_size;
    uint8_t * p = (uint8_t *) calloc(*size + 1, 1);
    for (int k = 0; k < 8; k++) p[k] = (uint8_t) (len_field >> (8 * k));
    memcpy(p + 8, header, hl);
    for (size_t k = 0; k < data_size; k++) p[8 + hl + k] = (uint8_t) k;
    return p;
}

// expects loading header + data to fail with a message containing want
static void expect_bad(const char * what, const char * header, size_t data_size, const char * want) {
    size_t size;
    uint8_t * p = make_file(header, strlen(header), data_size, &size);
    char err[512] = "";
    struct alrp_st_file * f = alrp_st_load_buffer(p, size, "bad.safetensors", err, sizeof(err));
    int ok = f == NULL && strstr(err, want) != NULL && strncmp(err, "bad.safetensors: ", 17) == 0 && one_line(err);
    char detail[700];
    snprintf(detail, sizeof(detail), "%s", f ? "loaded, but should have failed" : err);
    check(ok, what, detail);
    if (!ok && !f) printf("     (expected the message to contain \"%s\")\n", want);
    alrp_st_close(f);
    free(p);
}

static void expect_good(const char * what, const char * header, size_t data_size, int n_tensors) {
    size_t size;
    uint8_t * p = make_file(header, strlen(header), data_size, &size);
    char err[512] = "";
    struct alrp_st_file * f = alrp_st_load_buffer(p, size, "good.safetensors", err, sizeof(err));
    check(f != NULL && alrp_st_count(f) == n_tensors, what, f ? NULL : err);
    alrp_st_close(f);
    free(p);
}

static int same_tensor(const struct alrp_st_tensor * a, const struct alrp_st_tensor * b) {
    if (!a || !b) return 0;
    if (strcmp(a->name, b->name) || strcmp(a->dtype, b->dtype) || a->n_dims != b->n_dims) return 0;
    for (int d = 0; d < a->n_dims; d++) if (a->shape[d] != b->shape[d]) return 0;
    int64_t numel = 1;
    for (int d = 0; d < a->n_dims; d++) numel *= a->shape[d];
    size_t nb = (size_t) (numel * alrp_st_dtype_size(a->dtype));
    if (b->numel != numel || b->nbytes != nb) return 0;
    return nb == 0 || memcmp(a->data, b->data, nb) == 0;
}

static void test_round_trip(const char * dir) {
    char path[512], tmp[520], err[512] = "";
    snprintf(path, sizeof(path), "%s/alrp-test-st-%d.safetensors", dir, (int) getpid());
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);

    float    f32[2 * 3 * 5];  for (int i = 0; i < 30; i++) f32[i] = (float) i * 0.25f - 3.0f;
    int64_t  i64[5] = { -1, 0, 1, INT64_MAX, INT64_MIN };
    float    sc = 42.5f;
    uint8_t  u8[3] = { 0, 127, 255 };
    int8_t   i8[4] = { -128, -1, 0, 127 };
    int32_t  i32[3] = { -7, 0, 1 << 30 };
    uint16_t f16[4] = { 0x3C00, 0xC000, 0x0001, 0x7BFF };     // 1, -2, 2^-24, 65504
    uint16_t bf16[2] = { 0x3F80, 0xC0A0 };                    // 1, -5
    double   f64[2] = { 0.1, -1e300 };
    int64_t  s235[3] = { 2, 3, 5 }, s5[1] = { 5 }, s3[1] = { 3 }, s4[1] = { 4 }, s04[2] = { 0, 4 },
             s22[2] = { 2, 2 }, s2[1] = { 2 }, s8[8] = { 1, 1, 1, 1, 1, 1, 2, 1 };
    struct alrp_st_tensor in[] = {
        mk("x.f32", "F32", 3, s235, f32),
        mk("u8", "U8", 1, s3, u8),
        mk("i64", "I64", 1, s5, i64),
        mk("scalar", "F32", 0, NULL, &sc),
        mk("empty", "F32", 2, s04, NULL),
        mk("i8", "I8", 1, s4, i8),
        mk("f16", "F16", 2, s22, f16),
        mk("i32", "I32", 1, s3, i32),
        mk("bf16", "BF16", 1, s2, bf16),
        mk("f64", "F64", 1, s2, f64),
        mk("eight.dims", "F32", 8, s8, f32),
        mk("na\xc3\xafve \"q\" \\ \x01", "F32", 1, s2, f32),
    };
    const int n = (int) (sizeof(in) / sizeof(in[0]));
    const char * meta[] = { "format", "pt", "note", "line1\nline2 \"quoted\" \\ tab\t \xe2\x82\xac", "empty", "", NULL };
    int rc = alrp_st_save(path, n, in, meta, err, sizeof(err));
    check(rc == 0, "save 12 tensors of 9 dtypes (scalar, empty, 8 dims, odd name) + metadata", rc ? err : NULL);
    check(access(tmp, F_OK) != 0, "no .tmp file left after save", NULL);

    struct alrp_st_file * f = alrp_st_load(path, err, sizeof(err));
    check(f != NULL, "load it back", f ? NULL : err);
    if (!f) return;
    int all = alrp_st_count(f) == n;
    for (int k = 0; k < n; k++) {
        const struct alrp_st_tensor * t = alrp_st_get(f, in[k].name);
        if (!same_tensor(&in[k], t)) { all = 0; printf("     mismatch in '%s'\n", in[k].name); }
    }
    check(all, "every tensor: name, dtype, shape, numel, bytes", NULL);
    check(alrp_st_get(f, "nope") == NULL && alrp_st_get(f, "") == NULL, "get of a missing name is NULL", NULL);
    // layout: stably sorted by element size, each tensor aligned to it
    const char * want_order[] = { "i64", "f64", "x.f32", "scalar", "empty", "i32", "eight.dims", in[11].name,
                                  "f16", "bf16", "u8", "i8" };
    int order_ok = 1, aligned = 1;
    for (int k = 0; k < n; k++) {
        const struct alrp_st_tensor * t = alrp_st_at(f, k);
        if (strcmp(t->name, want_order[k]) != 0) order_ok = 0;
        if ((uintptr_t) t->data % (uintptr_t) alrp_st_dtype_size(t->dtype) != 0) aligned = 0;
    }
    check(order_ok && alrp_st_at(f, n) == NULL && alrp_st_at(f, -1) == NULL, "data order: stable by element size, largest first", NULL);
    check(aligned, "every tensor's data aligned to its element size", NULL);
    check(alrp_st_metadata_count(f) == 3 && strcmp(alrp_st_metadata(f, "note"), meta[3]) == 0 &&
          strcmp(alrp_st_metadata(f, "format"), "pt") == 0 && strcmp(alrp_st_metadata(f, "empty"), "") == 0 &&
          alrp_st_metadata(f, "missing") == NULL, "metadata with escapes and UTF-8", NULL);
    const char * k0, * v0;
    alrp_st_metadata_at(f, 0, &k0, &v0);
    check(k0 && strcmp(k0, "format") == 0 && strcmp(v0, "pt") == 0, "metadata_at keeps the file's order", NULL);

    // conversions to f32
    float buf[32];
    int conv_ok = 1;
    const float want_f16[4] = { 1.0f, -2.0f, 5.9604645e-08f, 65504.0f };
    if (alrp_st_to_f32(alrp_st_get(f, "f16"), buf) || memcmp(buf, want_f16, sizeof(want_f16))) conv_ok = 0;
    if (alrp_st_to_f32(alrp_st_get(f, "bf16"), buf) || buf[0] != 1.0f || buf[1] != -5.0f) conv_ok = 0;
    if (alrp_st_to_f32(alrp_st_get(f, "i8"), buf) || buf[0] != -128.0f || buf[3] != 127.0f) conv_ok = 0;
    if (alrp_st_to_f32(alrp_st_get(f, "u8"), buf) || buf[2] != 255.0f) conv_ok = 0;
    if (alrp_st_to_f32(alrp_st_get(f, "f64"), buf) || buf[0] != 0.1f) conv_ok = 0;
    if (alrp_st_to_f32(alrp_st_get(f, "x.f32"), buf) || memcmp(buf, f32, sizeof(f32))) conv_ok = 0;
    check(conv_ok, "to_f32 from F16, BF16, I8, U8, F64, F32", NULL);
    alrp_st_close(f);

    // header: length field a multiple of 8, padded with spaces, JSON starts with '{'
    size_t size;
    uint8_t * raw = read_file(path, &size);
    uint64_t hl = 0;
    for (int k = 7; k >= 0; k--) hl = (hl << 8) | raw[k];
    check(hl % 8 == 0 && raw[8] == '{' && raw[8 + hl - 1] != '\0' && hl < size, "header length % 8 == 0, starts with '{'", NULL);

    // every truncation of the file fails cleanly; random byte flips never crash
    int trunc_ok = 1;
    for (size_t cut = 0; cut < size; cut++) {
        struct alrp_st_file * g = alrp_st_load_buffer(raw, cut, "cut.safetensors", err, sizeof(err));
        if (g) { trunc_ok = 0; alrp_st_close(g); }
    }
    check(trunc_ok, "all truncations (every length) are rejected", NULL);
    int loaded = 0, rejected = 0;
    uint8_t * mut = (uint8_t *) malloc(size);
    for (int it = 0; it < 3000; it++) {
        memcpy(mut, raw, size);
        int flips = 1 + (int) (rng_u32() % 4);
        for (int q = 0; q < flips; q++) {
            size_t pos = rng_u32() % (it % 2 ? size : (size_t) (8 + hl));   // half of them hit the header
            mut[pos] = (uint8_t) (it % 3 == 0 ? mut[pos] ^ (1u << (rng_u32() % 8)) : rng_u32());
        }
        struct alrp_st_file * g = alrp_st_load_buffer(mut, size, "flip.safetensors", err, sizeof(err));
        if (g) {
            loaded++;
            // whatever loaded must be self-consistent
            for (int k = 0; k < alrp_st_count(g); k++) {
                const struct alrp_st_tensor * t = alrp_st_at(g, k);
                if (alrp_st_get(g, t->name) != t || t->nbytes != (size_t) t->numel * (size_t) alrp_st_dtype_size(t->dtype)) trunc_ok = 0;
                volatile uint8_t sink = 0;
                for (size_t b = 0; b < t->nbytes; b++) sink ^= ((const uint8_t *) t->data)[b];   // ASan checks the range
                (void) sink;
            }
            alrp_st_close(g);
        } else {
            rejected++;
            if (strncmp(err, "flip.safetensors: ", 18) != 0) trunc_ok = 0;
        }
    }
    char detail[128];
    snprintf(detail, sizeof(detail), "%d loaded (data flips), %d rejected", loaded, rejected);
    check(trunc_ok && rejected > 0, "3000 random byte flips: no crash, consistent or rejected", detail);
    free(mut);

    // the same from disk, truncated
    write_file(path, raw, size - 3);
    f = alrp_st_load(path, err, sizeof(err));
    check(!f && strstr(err, "exceed the data section") && strstr(err, path), "truncated file on disk", f ? "loaded" : err);
    alrp_st_close(f);
    free(raw);

    // overwriting an existing file replaces it whole
    rc = alrp_st_save(path, 1, in, NULL, err, sizeof(err));
    f = alrp_st_load(path, err, sizeof(err));
    check(rc == 0 && f && alrp_st_count(f) == 1 && alrp_st_metadata_count(f) == 0, "save over an existing file, no metadata", f ? NULL : err);
    alrp_st_close(f);
    rc = alrp_st_save(path, 0, NULL, NULL, err, sizeof(err));
    f = alrp_st_load(path, err, sizeof(err));
    check(rc == 0 && f && alrp_st_count(f) == 0, "save and load zero tensors", f ? NULL : err);
    alrp_st_close(f);
    unlink(path);

    // writer argument errors: nothing written
    char bad_path[600];
    snprintf(bad_path, sizeof(bad_path), "%s/no-such-dir-%d/x.safetensors", dir, (int) getpid());
    rc = alrp_st_save(bad_path, 1, in, NULL, err, sizeof(err));
    check(rc != 0 && strstr(err, "no-such-dir") && strstr(err, "cannot create"), "save into a missing folder", err);
    struct alrp_st_tensor bad[2] = { in[0], in[0] };
    rc = alrp_st_save(path, 2, bad, NULL, err, sizeof(err));
    check(rc != 0 && strstr(err, "used twice") && access(path, F_OK) != 0, "save rejects duplicate names", err);
    bad[0] = in[0]; snprintf(bad[0].dtype, sizeof(bad[0].dtype), "Q4");
    rc = alrp_st_save(path, 1, bad, NULL, err, sizeof(err));
    check(rc != 0 && strstr(err, "unknown dtype 'Q4'"), "save rejects an unknown dtype", err);
    bad[0] = in[0]; bad[0].n_dims = 9;
    rc = alrp_st_save(path, 1, bad, NULL, err, sizeof(err));
    check(rc != 0 && strstr(err, "n_dims 9"), "save rejects 9 dims", err);
    bad[0] = in[0]; bad[0].shape[1] = -3;
    rc = alrp_st_save(path, 1, bad, NULL, err, sizeof(err));
    check(rc != 0 && strstr(err, "negative"), "save rejects a negative dim", err);
    bad[0] = in[0]; bad[0].data = NULL;
    rc = alrp_st_save(path, 1, bad, NULL, err, sizeof(err));
    check(rc != 0 && strstr(err, "NULL data"), "save rejects NULL data", err);
    bad[0] = in[0]; snprintf(bad[0].name, sizeof(bad[0].name), "__metadata__");
    rc = alrp_st_save(path, 1, bad, NULL, err, sizeof(err));
    check(rc != 0 && strstr(err, "reserved"), "save rejects the name __metadata__", err);
    const char * bad_meta[] = { "k", NULL };
    rc = alrp_st_save(path, 1, in, bad_meta, err, sizeof(err));
    check(rc != 0 && strstr(err, "NULL value") && access(path, F_OK) != 0, "save rejects a key without value", err);

    f = alrp_st_load(bad_path, err, sizeof(err));
    check(!f && strstr(err, "cannot open") && strstr(err, "no-such-dir"), "load of a missing file", err);
    f = alrp_st_load(dir, err, sizeof(err));
    check(!f && strstr(err, "not a regular file"), "load of a folder", err);
}

static void test_corrupt(void) {
    // header length field: beyond the file, huge, zero
    size_t size;
    char err[512];
    const char * ok_hdr = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    uint8_t * p = make_file(ok_hdr, strlen(ok_hdr), 8, &size);
    struct alrp_st_file * f = alrp_st_load_buffer(p, size, "ok.safetensors", err, sizeof(err));
    check(f != NULL, "a minimal valid file loads", f ? NULL : err);
    if (f) {
        const float * a = (const float *) alrp_st_get(f, "a")->data;
        check(((const uint8_t *) a)[0] == 0 && ((const uint8_t *) a)[7] == 7, "data section starts after the header", NULL);
    }
    alrp_st_close(f);
    free(p);
    struct { uint64_t len; const char * want; const char * what; } lens[] = {
        { 1000,                   "exceeds the file size",      "header length past the end of the file" },
        { (uint64_t) 1 << 63,     "exceeds the file size",      "header length 2^63" },
        { UINT64_MAX,             "exceeds the file size",      "header length 2^64-1" },
        { 0,                      "too small",                  "header length 0" },
        { 1,                      "too small",                  "header length 1" },
        { 20,                     "unexpected end",             "header length cutting the JSON" },
    };
    for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
        p = make_file(ok_hdr, lens[k].len, 8, &size);
        f = alrp_st_load_buffer(p, size, "bad.safetensors", err, sizeof(err));
        check(!f && strstr(err, lens[k].want) != NULL, lens[k].what, f ? "loaded" : err);
        alrp_st_close(f);
        free(p);
    }
    {   // > 100 MB header length in a (sparse, virtual) large buffer is rejected before reading
        uint8_t big[16] = { 0 };
        uint64_t l = (uint64_t) 200 * 1024 * 1024;
        for (int k = 0; k < 8; k++) big[k] = (uint8_t) (l >> (8 * k));
        f = alrp_st_load_buffer(big, 16, "bad.safetensors", err, sizeof(err));
        check(!f && strstr(err, "exceeds the file size"), "header length 200 MB in a 16-byte file", err);
    }
    f = alrp_st_load_buffer("\x02\0\0\0\0\0", 6, "bad.safetensors", err, sizeof(err));
    check(!f && strstr(err, "too short"), "6-byte file", err);
    f = alrp_st_load_buffer(NULL, 0, "bad.safetensors", err, sizeof(err));
    check(!f && strstr(err, "too short"), "empty file", err);

    // JSON syntax
    expect_bad("header not an object",     "[1, 2]  ", 0, "does not start with '{'");
    expect_bad("header of spaces",         "        ", 0, "does not start with '{'");
    expect_bad("space before the {",       " {}     ", 0, "does not start with '{'");
    expect_bad("unclosed object",          "{       ", 0, "unexpected end");
    expect_bad("key without colon",        "{\"a\" {} }", 0, "expected ':'");
    expect_bad("missing value",            "{\"a\":}", 0, "expected '{'");
    expect_bad("trailing comma",           "{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},}", 4, "expected '\"'");
    expect_bad("unquoted key",             "{a:{}}", 0, "expected '\"'");
    expect_bad("single quotes",            "{'a':{}}", 0, "expected '\"'");
    expect_bad("unterminated string",      "{\"abc", 0, "unterminated string");
    expect_bad("bad escape",               "{\"a\\x\":{}}", 0, "bad escape");
    expect_bad("bad \\u hex",              "{\"a\\u12G4\":{}}", 0, "bad hex digit");
    expect_bad("truncated \\u",            "{\"a\\u12", 0, "truncated \\u escape");
    expect_bad("lone high surrogate",      "{\"a\\ud800x\":{}}", 0, "high surrogate");
    expect_bad("lone low surrogate",       "{\"a\\udc00\":{}}", 0, "lone low surrogate");
    expect_bad("\\u0000 in a name",        "{\"a\\u0000\":{}}", 0, "NUL");
    expect_bad("raw control char",         "{\"a\tb\":{}}", 0, "control character");
    expect_bad("invalid UTF-8",            "{\"a\xff\":{}}", 0, "invalid UTF-8");
    expect_bad("overlong UTF-8",           "{\"a\xc0\xaf\":{}}", 0, "invalid UTF-8");
    expect_bad("UTF-8 surrogate",          "{\"a\xed\xa0\x80\":{}}", 0, "invalid UTF-8");
    expect_bad("truncated UTF-8",          "{\"a\xe2\x82\":{}}", 0, "invalid UTF-8");
    expect_bad("text after the object",    "{} x    ", 0, "text after");
    expect_bad("two objects",              "{}{}    ", 0, "text after");
    expect_bad("value is a number",        "{\"a\":5}", 0, "expected '{'");
    expect_bad("shape not an array",       "{\"a\":{\"dtype\":\"F32\",\"shape\":3,\"data_offsets\":[0,4]}}", 4, "expected '['");
    expect_bad("negative dim",             "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "negative number");
    expect_bad("fractional dim",           "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}", 4, "fraction or exponent");
    expect_bad("exponent offset",          "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4e0]}}", 4, "fraction or exponent");
    expect_bad("leading zero",             "{\"a\":{\"dtype\":\"F32\",\"shape\":[01],\"data_offsets\":[0,4]}}", 4, "leading zero");
    expect_bad("huge integer",             "{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]}}", 4, "too large");
    expect_bad("string dim",               "{\"a\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", 4, "non-negative integer");
    expect_bad("trailing comma in array",  "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,],\"data_offsets\":[0,4]}}", 4, "non-negative integer");
    expect_bad("unclosed array",           "{\"a\":{\"dtype\":\"F32\",\"shape\":[1 2],\"data_offsets\":[0,4]}}", 4, "expected ']'");
    expect_bad("dtype not a string",       "{\"a\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "\"dtype\" is not a string");
    expect_bad("metadata not an object",   "{\"__metadata__\":\"x\"}", 0, "expected '{'");
    expect_bad("metadata value a number",  "{\"__metadata__\":{\"k\":1}}", 0, "not a string");
    expect_bad("metadata value null",      "{\"__metadata__\":{\"k\":null}}", 0, "not a string");
    expect_bad("metadata twice",           "{\"__metadata__\":{},\"__metadata__\":{}}", 0, "appears twice");
    expect_bad("metadata key twice",       "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, "key 'k' appears twice");

    // header semantics
    expect_bad("unknown dtype",            "{\"w\":{\"dtype\":\"X42\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 'w': unknown dtype 'X42'");
    expect_bad("long unknown dtype",       "{\"w\":{\"dtype\":\"FLOAT32XYZ\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "unknown dtype 'FLOAT32XYZ'");
    expect_bad("lower-case dtype",         "{\"w\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "unknown dtype 'f32'");
    expect_bad("9 dims",                   "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, "tensor 'w': shape has more than 8 dims");
    expect_bad("3 offsets",                "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8, "tensor 'w': data_offsets must hold exactly 2");
    expect_bad("1 offset",                 "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4]}}", 4, "tensor 'w': data_offsets must hold exactly 2");
    expect_bad("missing dtype",            "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 'w': missing \"dtype\"");
    expect_bad("missing shape",            "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "missing \"shape\"");
    expect_bad("missing offsets",          "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "missing \"data_offsets\"");
    expect_bad("empty tensor object",      "{\"w\":{}}", 0, "missing \"dtype\"");
    expect_bad("unknown field",            "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":[]}}", 4, "unknown field \"x\"");
    expect_bad("field twice",              "{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "field \"dtype\" appears twice");
    expect_bad("tensor twice",             "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                                            "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "tensor 'w' appears twice");
    expect_bad("offsets out of range",     "{\"conv1.weight\":{\"dtype\":\"F32\",\"shape\":[25],\"data_offsets\":[0,100]}}", 64,
               "tensor 'conv1.weight': data_offsets [0, 100] exceed the data section (64 bytes)");
    expect_bad("offsets reversed",         "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4, "end before they begin");
    expect_bad("size != numel*dtype size", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,12]}}", 12,
               "data_offsets [0, 12] hold 12 bytes but shape [2, 3] of F32 needs 24");
    expect_bad("I64 size wrong",           "{\"w\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[0,12]}}", 12, "needs 24");
    expect_bad("numel overflow",           "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4, "overflows");
    expect_bad("bytes overflow",           "{\"w\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],\"data_offsets\":[0,4]}}", 4, "overflows");
    expect_bad("overlapping tensors",      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                            "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "'a' [0, 8] and 'b' [4, 12] overlap");
    expect_bad("same offsets twice",       "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                            "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "overlap");
    expect_bad("hole between tensors",     "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                                            "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12, "bytes [4, 8) belong to no tensor");
    expect_bad("bytes after last tensor",  "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 12, "8 bytes after the last tensor");
    expect_bad("data but no tensors",      "{}      ", 8, "8 bytes after the last tensor");
    char longname[300] = "{\"";
    for (int k = 0; k < 130; k++) strcat(longname, "n");
    strcat(longname, "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}");
    expect_bad("name of 130 bytes",        longname, 4, "130 bytes long, at most 127");

    // valid corner cases
    expect_good("whitespace everywhere",   "{ \"a\" : { \"dtype\" : \"F32\" , \"shape\" : [ 1 ] , \"data_offsets\" : [ 0 , 4 ] } } \n\t\r ", 4, 1);
    expect_good("escaped name",            "{\"a\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", 4, 1);
    expect_good("fields in any order",     "{\"a\":{\"data_offsets\":[0,4],\"shape\":[1],\"dtype\":\"I32\"}}", 4, 1);
    expect_good("zero-size tensors",       "{\"a\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[0,0]},"
                                            "\"b\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]},"
                                            "\"c\":{\"dtype\":\"F32\",\"shape\":[3,0],\"data_offsets\":[3,3]}}", 3, 3);
    expect_good("empty metadata, no tensors", "{\"__metadata__\":{}}", 0, 0);
    expect_good("unpadded header",         "{\"a\":{\"dtype\":\"BOOL\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, 1);

    // an unpadded header still gives a 64-byte aligned data section
    const char * odd = "{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}";
    p = make_file(odd, strlen(odd), 8, &size);
    f = alrp_st_load_buffer(p, size, "odd.safetensors", err, sizeof(err));
    check(f && (uintptr_t) alrp_st_get(f, "a")->data % 64 == 0, "data section 64-byte aligned for any header length", f ? NULL : err);
    alrp_st_close(f);
    free(p);
    check(alrp_st_load_buffer("{}", 2, "x", NULL, 0) == NULL, "NULL err buffer is allowed", NULL);
}

// the file written by tools/ref_safetensors.py must load with the right values, and
// alrp_st_save of the same content must give the same bytes
static void test_python(const char * data_dir) {
    char path[512], out[600], err[512];
    snprintf(path, sizeof(path), "%s/st-python.safetensors", data_dir);
    struct alrp_st_file * f = alrp_st_load(path, err, sizeof(err));
    check(f != NULL, "load the file written by tools/ref_safetensors.py", f ? NULL : err);
    if (!f) {
        printf("     HINT: run from the repository root, or regenerate it with\n"
               "     /usr/bin/python3 tools/ref_safetensors.py --write-test-file tests/data/st-python.safetensors\n");
        return;
    }
    float a[6], odd[7], w[2] = { 1.5f, -2.5f }, sc = 3.25f;
    int64_t b[3] = { -3, 0, ((int64_t) 1 << 40) + 1 };
    for (int i = 0; i < 6; i++) a[i] = (float) i * 0.5f - 1.0f;
    for (int i = 0; i < 7; i++) odd[i] = (float) i * 0.125f;
    int64_t s23[2] = { 2, 3 }, s7[1] = { 7 }, s3[1] = { 3 }, s03[2] = { 0, 3 }, s21[2] = { 2, 1 };
    const char * wname = "w\xc3\xa9ird \"name\"\\";
    struct alrp_st_tensor want[] = {
        mk("a", "F32", 2, s23, a), mk("odd", "F32", 1, s7, odd), mk("b", "I64", 1, s3, b),
        mk("scalar", "F32", 0, NULL, &sc), mk("empty", "F32", 2, s03, NULL), mk(wname, "F32", 2, s21, w),
    };
    int ok = alrp_st_count(f) == 6;
    for (int k = 0; k < 6; k++) ok &= same_tensor(&want[k], alrp_st_get(f, want[k].name));
    const char * meta[] = { "format", "pt", "quote", "a\"b\\c\nd\te", "unicode", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
                            "ctl", "\x01", NULL };
    for (int k = 0; meta[k]; k += 2) ok &= alrp_st_metadata(f, meta[k]) && strcmp(alrp_st_metadata(f, meta[k]), meta[k + 1]) == 0;
    check(ok, "python file: names, dtypes, shapes, values, metadata", NULL);
    alrp_st_close(f);

    snprintf(out, sizeof(out), "/tmp/alrp-test-st-py-%d.safetensors", (int) getpid());
    int rc = alrp_st_save(out, 6, want, meta, err, sizeof(err));
    size_t n1 = 0, n2 = 0;
    uint8_t * p1 = read_file(path, &n1), * p2 = rc == 0 ? read_file(out, &n2) : NULL;
    check(p1 && p2 && n1 == n2 && memcmp(p1, p2, n1) == 0, "alrp_st_save writes the same bytes as ref_safetensors.py", rc ? err : NULL);
    free(p1); free(p2);
    unlink(out);
}

// Names, dtypes and keys from the header are quoted escaped in messages (control characters as
// \n, \t, \xNN, \uNNNN; a backslash as \\), long ones cut with "...": a message is one line.
static void test_escaped(const char * dir) {
    expect_bad("dtype with a newline",     "{\"w\":{\"dtype\":\"F\\n32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "unknown dtype 'F\\n32'");
    expect_bad("name with a newline, offsets past the end", "{\"a\\nb\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,8]}}", 4,
               "tensor 'a\\nb': data_offsets [0, 8] exceed");
    expect_bad("name with \\t \\r \\u0001 DEL \\\\", "{\"\\t\\r\\u0001\\u007f\\\\x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4,
               "tensor '\\t\\r\\x01\\x7f\\\\x': data_offsets [0, 4] hold 4 bytes");
    expect_bad("names with U+0085, U+2028, U+2029", "{\"a\\u0085\\u2028\\u2029\xc3\xa9\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4,
               "tensor 'a\\u0085\\u2028\\u2029\xc3\xa9': data_offsets [4, 0] end before");
    expect_bad("unknown field with a newline", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"\\n\":1}}", 4,
               "unknown field \"\\n\"");
    expect_bad("missing dtype, name with \\r", "{\"\\r\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor '\\r': missing \"dtype\"");
    expect_bad("field twice, name with \\b", "{\"\\b\":{\"shape\":[1],\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor '\\b': field \"shape\" appears twice");
    expect_bad("9 dims, name with \\f", "{\"\\f\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, "tensor '\\f': shape has");
    expect_bad("3 offsets, name with \\n", "{\"\\n\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8, "tensor '\\n': data_offsets must");
    expect_bad("overflow, name with \\n", "{\"\\n\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4, "tensor '\\n': shape overflows");
    expect_bad("overlap of names with newlines", "{\"a\\n\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"b\\n\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "'a\\n' [0, 8] and 'b\\n' [4, 12] overlap");
    expect_bad("hole before a name with a newline", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"b\\n\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12, "(before 'b\\n')");
    expect_bad("tensor twice, name with a newline", "{\"x\\ny\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"x\\ny\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "tensor 'x\\ny' appears twice");
    expect_bad("metadata key twice, with a newline", "{\"__metadata__\":{\"k\\n\":\"1\",\"k\\n\":\"2\"}}", 0, "key 'k\\n' appears twice");
    char longname[400] = "{\"";
    for (int k = 0; k < 130; k++) strcat(longname, "\\n");
    strcat(longname, "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}");
    expect_bad("name of 130 newlines", longname, 4, "130 bytes long, at most 127");
    char name127[300] = "{\"";
    for (int k = 0; k < 127; k++) strcat(name127, "n");
    strcat(name127, "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,8]}}");
    expect_bad("a 127-byte name is quoted whole", name127, 4, "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
               "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn': data_offsets");

    // a 20000-byte key, twice: the message quotes its start, not all of it
    size_t kl = 20000, hl = 2 * kl + 64;
    char * hdr = (char *) malloc(hl);
    char * key = (char *) malloc(kl + 1);
    for (size_t k = 0; k < kl; k++) key[k] = (char) ('a' + k % 26);
    key[kl] = '\0';
    snprintf(hdr, hl, "{\"__metadata__\":{\"%s\":\"1\",\"%s\":\"2\"}}", key, key);
    size_t size;
    uint8_t * p = make_file(hdr, strlen(hdr), 0, &size);
    char err[4096] = "";
    struct alrp_st_file * f = alrp_st_load_buffer(p, size, "long.safetensors", err, sizeof(err));
    check(!f && strstr(err, "key 'abcdefghijklmnopqrstuvwxyzabcdef") && strstr(err, "...' appears twice") && strlen(err) < 300,
          "a 20000-byte duplicate key is quoted cut short", err);
    alrp_st_close(f);
    free(p); free(hdr); free(key);

    // the label (a path) is escaped too
    f = alrp_st_load_buffer("{}", 2, "dir\n/x.safetensors", err, sizeof(err));
    check(!f && one_line(err) && strstr(err, "dir\\n/x.safetensors: "), "a label with a newline", err);

    // the writer's messages
    char path[512];
    snprintf(path, sizeof(path), "%s/alrp-test-st-esc-%d.safetensors", dir, (int) getpid());
    float v = 1.0f;
    struct alrp_st_tensor two[2] = { mk("a\nb", "F32", 0, NULL, &v), mk("a\nb", "F32", 0, NULL, &v) };
    int rc = alrp_st_save(path, 2, two, NULL, err, sizeof(err));
    check(rc != 0 && one_line(err) && strstr(err, "'a\\nb' is used twice"), "save: duplicate name with a newline", err);
    two[0] = mk("bad\xff\n", "F32", 0, NULL, &v);
    rc = alrp_st_save(path, 1, two, NULL, err, sizeof(err));
    check(rc != 0 && one_line(err) && strstr(err, "'bad\\xff\\n'"), "save: invalid UTF-8 name with a newline", err);
    snprintf(two[0].dtype, sizeof(two[0].dtype), "F\n32");
    snprintf(two[0].name, sizeof(two[0].name), "w");
    rc = alrp_st_save(path, 1, two, NULL, err, sizeof(err));
    check(rc != 0 && one_line(err) && strstr(err, "unknown dtype 'F\\n32'"), "save: dtype with a newline", err);
    two[0] = mk("w", "F32", 0, NULL, &v);
    const char * meta[] = { "k\n", NULL };
    rc = alrp_st_save(path, 1, two, meta, err, sizeof(err));
    check(rc != 0 && one_line(err) && strstr(err, "key 'k\\n'"), "save: metadata key with a newline, no value", err);
    const char * meta2[] = { "k\x01", "\xff", NULL };
    rc = alrp_st_save(path, 1, two, meta2, err, sizeof(err));
    check(rc != 0 && one_line(err) && strstr(err, "'k\\x01'"), "save: metadata not UTF-8, key with \\x01", err);
    char bad_path[600];
    snprintf(bad_path, sizeof(bad_path), "%s/no\nsuch-%d/x.safetensors", dir, (int) getpid());
    rc = alrp_st_save(bad_path, 1, two, NULL, err, sizeof(err));
    check(rc != 0 && one_line(err) && strstr(err, "no\\nsuch"), "save: path with a newline", err);

    // alrp_load_tensors: the destination's name (the file's) escaped
    struct alrp_st_tensor in = mk("a\nb", "F32", 0, NULL, &v);
    rc = alrp_st_save(path, 1, &in, NULL, err, sizeof(err));
    struct alrp_init_params ip = { 1 << 16, NULL, false };
    struct alrp_context * ctx = alrp_init(ip);
    struct alrp_tensor * t2 = alrp_set_name(alrp_new_tensor_1d(ctx, 2), "a\nb");
    int n = alrp_load_tensors(NULL, path, 1, &t2, false, err, sizeof(err));
    check(rc == 0 && n == -1 && one_line(err) && strstr(err, "tensor 'a\\nb' has shape ()"), "load_tensors: shape mismatch, name with a newline", err);
    int64_t s1[1] = { 1 };
    struct alrp_tensor * ti = alrp_set_name(alrp_new_tensor(ctx, ALRP_TYPE_I32, 1, s1), "a\nb");
    n = alrp_load_tensors(NULL, path, 1, &ti, false, err, sizeof(err));
    check(n == -1 && one_line(err) && strstr(err, "tensor 'a\\nb' is F32"), "load_tensors: F32 into I32, name with a newline", err);
    struct alrp_tensor * tm = alrp_set_name(alrp_new_tensor_1d(ctx, 1), "c\td");
    n = alrp_load_tensors(NULL, path, 1, &tm, false, err, sizeof(err));
    check(n == -1 && one_line(err) && strstr(err, "no tensor 'c\\td'"), "load_tensors: missing name with a tab", err);
    alrp_free(ctx);
    unlink(path);
}

// The checks for duplicate metadata keys and tensor names (reader and writer) must cost
// O(n log n) comparisons, not n^2: counted, for 80000 keys and 80000 tensors
static void test_many_keys(const char * dir) {
    const int n = 80000;
    const uint64_t limit = 40 * (uint64_t) n;   // n log2 n is 1.3 M; n^2 / 2 is 3.2 G
    char detail[600], err[512] = "";
    size_t cap = (size_t) n * 32 + 64, hl = 0;
    char * hdr = (char *) malloc(cap);
    hl += (size_t) snprintf(hdr + hl, cap - hl, "{\"__metadata__\":{");
    for (int k = 0; k < n; k++) hl += (size_t) snprintf(hdr + hl, cap - hl, "%s\"key.%07d\":\"%d\"", k ? "," : "", (k * 7919) % n, k);
    snprintf(hdr + hl, cap - hl, "}}");
    size_t size;
    uint8_t * p = make_file(hdr, strlen(hdr), 0, &size);
    struct alrp_st_file * f = alrp_st_load_buffer(p, size, "meta.safetensors", err, sizeof(err));
    struct alrp__st_stats st = { 0 };
    if (f) alrp__st_file_stats(f, &st);
    snprintf(detail, sizeof(detail), "%s; %llu key comparisons", f ? "loaded" : err, (unsigned long long) st.key_cmps);
    check(f && alrp_st_metadata_count(f) == n && st.key_cmps < limit, "80000 metadata keys: fewer than 40 n comparisons", detail);
    int found = f != NULL;
    for (int k = 0; f && k < n; k += 97) {
        char key[32], val[32];
        snprintf(key, sizeof(key), "key.%07d", (k * 7919) % n);
        snprintf(val, sizeof(val), "%d", k);
        const char * v = alrp_st_metadata(f, key), * k2, * v2;
        alrp_st_metadata_at(f, k, &k2, &v2);
        if (!v || strcmp(v, val) != 0 || strcmp(k2, key) != 0 || strcmp(v2, val) != 0) found = 0;
    }
    check(found && (!f || alrp_st_metadata(f, "key.") == NULL), "every 97th of the 80000 keys found by name and by index", NULL);
    alrp_st_close(f);
    free(p);
    // the same with one key twice (the last one repeats the 1234th)
    hl = strlen(hdr) - 2;
    snprintf(hdr + hl, cap - hl, ",\"key.%07d\":\"x\"}}", (1234 * 7919) % n);
    p = make_file(hdr, strlen(hdr), 0, &size);
    f = alrp_st_load_buffer(p, size, "meta.safetensors", err, sizeof(err));
    char want[200];
    snprintf(want, sizeof(want), "key 'key.%07d' appears twice", (1234 * 7919) % n);
    check(!f && strstr(err, want), "80000 metadata keys, one twice: named", err);
    alrp_st_close(f);
    free(p);
    free(hdr);

    // 80000 tensors (in reverse name order) through the writer and the reader
    char path[512];
    snprintf(path, sizeof(path), "%s/alrp-test-st-many-%d.safetensors", dir, (int) getpid());
    struct alrp_st_tensor * ts = (struct alrp_st_tensor *) calloc((size_t) n, sizeof(*ts));
    uint8_t * bytes = (uint8_t *) malloc((size_t) n);
    int64_t one[1] = { 1 };
    for (int k = 0; k < n; k++) {
        char name[32];
        snprintf(name, sizeof(name), "layer.%07d.w", n - k);
        bytes[k] = (uint8_t) k;
        ts[k] = mk(name, "U8", 1, one, bytes + k);
    }
    int rc = alrp__st_save_ex(path, n, ts, NULL, err, sizeof(err), &st);
    snprintf(detail, sizeof(detail), "%s; %llu name comparisons", rc ? err : "saved", (unsigned long long) st.key_cmps);
    check(rc == 0 && st.key_cmps < limit, "save 80000 tensors: fewer than 40 n comparisons", detail);
    f = alrp_st_load(path, err, sizeof(err));
    memset(&st, 0, sizeof(st));
    if (f) alrp__st_file_stats(f, &st);
    snprintf(detail, sizeof(detail), "%s; %llu name comparisons", f ? "loaded" : err, (unsigned long long) st.key_cmps);
    check(f && alrp_st_count(f) == n && st.key_cmps < limit, "load 80000 tensors: fewer than 40 n comparisons", detail);
    found = f != NULL;
    for (int k = 0; f && k < n; k += 101) {
        const struct alrp_st_tensor * t = alrp_st_get(f, ts[k].name);
        if (!t || *(const uint8_t *) t->data != bytes[k] || alrp_st_at(f, k) != t) found = 0;
    }
    check(found, "every 101st of the 80000 tensors found by name, in the written order", NULL);
    alrp_st_close(f);
    unlink(path);
    snprintf(ts[n - 1].name, sizeof(ts[n - 1].name), "%s", ts[4321].name);
    rc = alrp__st_save_ex(path, n, ts, NULL, err, sizeof(err), &st);
    snprintf(want, sizeof(want), "tensor name '%s' is used twice", ts[4321].name);
    check(rc != 0 && strstr(err, want) && access(path, F_OK) != 0, "save 80000 tensors, one name twice: named, nothing written", err);
    free(ts);
    free(bytes);

    // the writer refuses a metadata key twice (the reader would refuse the file)
    float v = 1.0f;
    struct alrp_st_tensor t1 = mk("w", "F32", 0, NULL, &v);
    const char * meta[] = { "a", "1", "b", "2", "a", "3", NULL };
    rc = alrp_st_save(path, 1, &t1, meta, err, sizeof(err));
    check(rc != 0 && strstr(err, "metadata key 'a' appears twice") && access(path, F_OK) != 0, "save rejects a metadata key twice", err);
}

// header + data bytes to a file on disk
static int write_st(const char * path, const char * header, const void * data, size_t data_size) {
    size_t size;
    uint8_t * p = make_file(header, strlen(header), data_size, &size);
    if (data_size) memcpy(p + 8 + strlen(header), data, data_size);
    int rc = write_file(path, p, size);
    free(p);
    return rc;
}

// a destination tensor of its own malloc'ed block of exactly its size (so that ASan sees any
// write past it), in a no_alloc context
static struct alrp_tensor * dest(struct alrp_context * ctx, enum alrp_type type, const char * name, int64_t n) {
    int64_t s[1] = { n };
    struct alrp_tensor * t = alrp_set_name(alrp_new_tensor(ctx, type, 1, s), name);
    t->data = malloc(alrp_nbytes(t));
    memset(t->data, 0x5A, alrp_nbytes(t));
    return t;
}

// alrp_load_tensors into I8 and I32 tensors: integer dtypes convert exactly, anything that would
// not is an error naming the file, the tensor and both dtypes; nothing is written past the data
static void test_load_int(const char * dir) {
    char path[512], err[512];
    snprintf(path, sizeof(path), "%s/alrp-test-st-int-%d.safetensors", dir, (int) getpid());
    struct alrp_init_params ip = { 1 << 16, NULL, true };
    struct alrp_context * ctx = alrp_init(ip);

    // the 68-byte file of one U8 tensor [5] with bytes 0..4, into an I8 tensor of 5 bytes
    const char * hdr_u8 = "{\"lab\":{\"dtype\":\"U8\",\"shape\":[5],\"data_offsets\":[0,5]}}";
    const uint8_t u8[5] = { 0, 1, 2, 3, 127 };
    write_st(path, hdr_u8, u8, 5);
    struct alrp_tensor * lab = dest(ctx, ALRP_TYPE_I8, "lab", 5);
    int n = alrp_load_tensors(NULL, path, 1, &lab, false, err, sizeof(err));
    const int8_t * l8 = (const int8_t *) lab->data;
    check(n == 1 && l8[0] == 0 && l8[1] == 1 && l8[2] == 2 && l8[3] == 3 && l8[4] == 127,
          "U8 [5] into an I8 tensor: exact values, no write past its 5 bytes", n == 1 ? NULL : err);
    struct alrp_tensor * lab32 = dest(ctx, ALRP_TYPE_I32, "lab", 5);
    n = alrp_load_tensors(NULL, path, 1, &lab32, false, err, sizeof(err));
    const int32_t * l32 = (const int32_t *) lab32->data;
    check(n == 1 && l32[0] == 0 && l32[3] == 3 && l32[4] == 127, "U8 [5] into an I32 tensor", n == 1 ? NULL : err);

    // U8 200 does not fit I8: an error, and the destination is left as it was
    const uint8_t big8[5] = { 0, 1, 200, 3, 4 };
    write_st(path, hdr_u8, big8, 5);
    memset(lab->data, 0x5A, 5);
    n = alrp_load_tensors(NULL, path, 1, &lab, false, err, sizeof(err));
    check(n == -1 && strstr(err, path) && strstr(err, "'lab'") && strstr(err, "U8") && strstr(err, "I8") &&
          strstr(err, "200") && one_line(err) && ((uint8_t *) lab->data)[0] == 0x5A,
          "U8 value 200 into I8: out of range, destination untouched", err);

    // I64 into I32: exact (2^30 + 1 is not a float), and 2^31 is out of range
    const int64_t i64[4] = { -5, (1 << 30) + 1, INT32_MIN, INT32_MAX };
    const char * hdr_i64 = "{\"idx\":{\"dtype\":\"I64\",\"shape\":[4],\"data_offsets\":[0,32]}}";
    write_st(path, hdr_i64, i64, sizeof(i64));
    struct alrp_tensor * idx = dest(ctx, ALRP_TYPE_I32, "idx", 4);
    n = alrp_load_tensors(NULL, path, 1, &idx, false, err, sizeof(err));
    const int32_t * v32 = (const int32_t *) idx->data;
    check(n == 1 && v32[0] == -5 && v32[1] == (1 << 30) + 1 && v32[2] == INT32_MIN && v32[3] == INT32_MAX,
          "I64 into an I32 tensor: exact, INT32_MIN and INT32_MAX included", n == 1 ? NULL : err);
    const int64_t i64big[4] = { 0, 1, (int64_t) INT32_MAX + 1, 2 };
    write_st(path, hdr_i64, i64big, sizeof(i64big));
    n = alrp_load_tensors(NULL, path, 1, &idx, false, err, sizeof(err));
    check(n == -1 && strstr(err, "'idx'") && strstr(err, "I64") && strstr(err, "I32") && strstr(err, "2147483648") &&
          one_line(err), "I64 value 2^31 into I32: out of range", err);
    struct alrp_tensor * idx8 = dest(ctx, ALRP_TYPE_I8, "idx", 4);
    write_st(path, hdr_i64, i64, sizeof(i64));
    n = alrp_load_tensors(NULL, path, 1, &idx8, false, err, sizeof(err));
    check(n == -1 && strstr(err, "I64") && strstr(err, "I8") && strstr(err, "element 1 is 1073741825"),
          "I64 value 2^30 + 1 into I8: out of range (the first bad value is named)", err);

    // float dtypes never go into integer tensors
    const float f[4] = { 1.0f, 2.0f, 3.0f, 4.0f };
    const char * hdr_f32 = "{\"idx\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}";
    write_st(path, hdr_f32, f, sizeof(f));
    memset(idx->data, 0x5A, 16);
    n = alrp_load_tensors(NULL, path, 1, &idx, false, err, sizeof(err));
    check(n == -1 && strstr(err, path) && strstr(err, "'idx'") && strstr(err, "F32") && strstr(err, "I32") &&
          one_line(err) && ((uint8_t *) idx->data)[0] == 0x5A, "F32 into an I32 tensor is refused", err);
    n = alrp_load_tensors(NULL, path, 1, &idx8, false, err, sizeof(err));
    check(n == -1 && strstr(err, "F32") && strstr(err, "I8") && one_line(err), "F32 into an I8 tensor is refused", err);
    const char * hdr_bf = "{\"idx\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[0,8]}}";
    write_st(path, hdr_bf, f, 8);
    n = alrp_load_tensors(NULL, path, 1, &idx, false, err, sizeof(err));
    check(n == -1 && strstr(err, "BF16") && strstr(err, "I32"), "BF16 into an I32 tensor is refused", err);

    // BOOL: 0 and 1 into integer tensors; another byte is not a BOOL
    const uint8_t b[4] = { 1, 0, 0, 1 };
    const char * hdr_bool = "{\"m\":{\"dtype\":\"BOOL\",\"shape\":[4],\"data_offsets\":[0,4]}}";
    write_st(path, hdr_bool, b, 4);
    struct alrp_tensor * m = dest(ctx, ALRP_TYPE_I8, "m", 4);
    n = alrp_load_tensors(NULL, path, 1, &m, false, err, sizeof(err));
    check(n == 1 && memcmp(m->data, b, 4) == 0, "BOOL into an I8 tensor", n == 1 ? NULL : err);
    const uint8_t b2[4] = { 1, 0, 2, 1 };
    write_st(path, hdr_bool, b2, 4);
    n = alrp_load_tensors(NULL, path, 1, &m, false, err, sizeof(err));
    check(n == -1 && strstr(err, "BOOL") && strstr(err, "'m'") && one_line(err), "BOOL byte 2 is refused", err);

    // every integer dtype into I32 and I8, and into F32 as before
    const char * hdr_all = "{\"a\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                           "\"b\":{\"dtype\":\"U64\",\"shape\":[2],\"data_offsets\":[16,32]},"
                           "\"c\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[32,40]},"
                           "\"d\":{\"dtype\":\"U32\",\"shape\":[2],\"data_offsets\":[40,48]},"
                           "\"e\":{\"dtype\":\"I16\",\"shape\":[2],\"data_offsets\":[48,52]},"
                           "\"f\":{\"dtype\":\"U16\",\"shape\":[2],\"data_offsets\":[52,56]},"
                           "\"g\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[56,58]},"
                           "\"h\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[58,60]}}";
    uint8_t all[60];
    const int64_t a_[2] = { -128, 127 }; const uint64_t b_[2] = { 0, 127 }; const int32_t c_[2] = { -100, 100 };
    const uint32_t d_[2] = { 7, 9 }; const int16_t e_[2] = { -1, 1 }; const uint16_t f_[2] = { 3, 4 };
    const int8_t g_[2] = { -128, 127 }; const uint8_t h_[2] = { 0, 127 };
    memcpy(all, a_, 16); memcpy(all + 16, b_, 16); memcpy(all + 32, c_, 8); memcpy(all + 40, d_, 8);
    memcpy(all + 48, e_, 4); memcpy(all + 52, f_, 4); memcpy(all + 56, g_, 2); memcpy(all + 58, h_, 2);
    write_st(path, hdr_all, all, sizeof(all));
    const int want[8][2] = { { -128, 127 }, { 0, 127 }, { -100, 100 }, { 7, 9 }, { -1, 1 }, { 3, 4 }, { -128, 127 }, { 0, 127 } };
    const char * names[8] = { "a", "b", "c", "d", "e", "f", "g", "h" };
    int all_ok = 1;
    for (int k = 0; k < 8; k++) {
        struct alrp_tensor * t[3] = { dest(ctx, ALRP_TYPE_I32, names[k], 2), dest(ctx, ALRP_TYPE_I8, names[k], 2),
                                      dest(ctx, ALRP_TYPE_F32, names[k], 2) };
        for (int j = 0; j < 3; j++) {
            n = alrp_load_tensors(NULL, path, 1, &t[j], false, err, sizeof(err));
            for (int q = 0; q < 2; q++) {
                int got = j == 0 ? ((int32_t *) t[j]->data)[q] : j == 1 ? ((int8_t *) t[j]->data)[q]
                        : (int) ((float *) t[j]->data)[q];
                if (n != 1 || got != want[k][q]) { all_ok = 0; printf("     '%s' into type %d: %s\n", names[k], j, n == 1 ? "wrong value" : err); }
            }
            free(t[j]->data);
        }
    }
    check(all_ok, "I64 U64 I32 U32 I16 U16 I8 U8 into I32, I8 and F32 tensors", NULL);
    const uint64_t huge[2] = { 1, UINT64_MAX };
    memcpy(all + 16, huge, 16);
    write_st(path, hdr_all, all, sizeof(all));
    struct alrp_tensor * bt = dest(ctx, ALRP_TYPE_I32, "b", 2);
    n = alrp_load_tensors(NULL, path, 1, &bt, false, err, sizeof(err));
    check(n == -1 && strstr(err, "U64") && strstr(err, "18446744073709551615"), "U64 2^64-1 into I32: out of range", err);
    free(bt->data);

    unlink(path);
    free(lab->data); free(lab32->data); free(idx->data); free(idx8->data); free(m->data);
    alrp_free(ctx);
}

int main(int argc, char ** argv) {
    const char * data_dir = argc > 1 ? argv[1] : "tests/data";
    const char * tmp_dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    test_round_trip(tmp_dir);
    test_corrupt();
    test_load_int(tmp_dir);
    test_escaped(tmp_dir);
    test_many_keys(tmp_dir);
    test_python(data_dir);
    printf("%d OK, %d FAIL\n", n_ok, n_fail);
    return n_fail ? 1 : 0;
}
