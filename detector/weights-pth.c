// weights-pth.c - PyTorch checkpoints (zip and legacy formats) without Python (weights-pth.h).
// Three parts: the zip directory, a pickle stack machine that builds only dicts, lists, tuples,
// scalars, storages and tensors, and the state dict's tensors made into safetensors records.
#include "weights-pth.h"
#include "det-err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PTH_MAX_VALUES  (1 << 24)
#define PTH_MAX_MEMO    (1 << 24)
#define PTH_MAX_STACK   (1 << 24)
#define PTH_MAX_DIMS    ALRP_ST_MAX_DIMS

// ---------------------------------------------------------------------------------------------
// little helpers

static uint16_t pth__u16(const uint8_t * p) { return (uint16_t) (p[0] | p[1] << 8); }
static uint32_t pth__u32(const uint8_t * p) { return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24; }
static uint64_t pth__u64(const uint8_t * p) { return (uint64_t) pth__u32(p) | (uint64_t) pth__u32(p + 4) << 32; }

// a name from the input, for a message: at most 60 bytes, unprintable bytes as '?'
struct pth__q { char s[72]; };
static struct pth__q pth__quote(const char * s, size_t n) {
    struct pth__q q;
    size_t j = 0;
    for (size_t i = 0; i < n && j < 60; i++) q.s[j++] = (s[i] >= 32 && s[i] < 127) ? s[i] : '?';
    if (n > 60) { q.s[j++] = '.'; q.s[j++] = '.'; q.s[j++] = '.'; }
    q.s[j] = '\0';
    return q;
}

// CRC-32 (zip's, reflected 0xEDB88320), slicing by 8
struct pth__crc { uint32_t t[8][256]; };
static void pth__crc_init(struct pth__crc * c) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t v = i;
        for (int k = 0; k < 8; k++) v = (v >> 1) ^ (0xEDB88320u & (0u - (v & 1)));
        c->t[0][i] = v;
    }
    for (int s = 1; s < 8; s++)
        for (int i = 0; i < 256; i++) c->t[s][i] = (c->t[s - 1][i] >> 8) ^ c->t[0][c->t[s - 1][i] & 0xFF];
}
static uint32_t pth__crc32(const struct pth__crc * c, const uint8_t * p, size_t n) {
    uint32_t v = 0xFFFFFFFFu;
    while (n >= 8) {
        uint32_t a = v ^ pth__u32(p), b = pth__u32(p + 4);
        v = c->t[7][a & 0xFF] ^ c->t[6][(a >> 8) & 0xFF] ^ c->t[5][(a >> 16) & 0xFF] ^ c->t[4][a >> 24] ^
            c->t[3][b & 0xFF] ^ c->t[2][(b >> 8) & 0xFF] ^ c->t[1][(b >> 16) & 0xFF] ^ c->t[0][b >> 24];
        p += 8; n -= 8;
    }
    while (n--) v = (v >> 8) ^ c->t[0][(v ^ *p++) & 0xFF];
    return v ^ 0xFFFFFFFFu;
}

// ---------------------------------------------------------------------------------------------
// the zip directory

struct pth__entry {
    const char * name; size_t name_len;
    uint64_t local, csize, usize;
    uint32_t crc;
    int method, flags;
};

struct pth__zip {
    struct pth__entry * e;
    int64_t n;
};

static int pth__entry_cmp(const void * a, const void * b) {
    const struct pth__entry * x = (const struct pth__entry *) a, * y = (const struct pth__entry *) b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, n);
    return c ? c : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

static int pth__zip_dir(const uint8_t * b, size_t size, const char * label, struct pth__zip * z, char * err, size_t err_size) {
    memset(z, 0, sizeof(*z));
    if (size < 22) return det_errf(err, err_size, "%s: truncated zip archive (%zu bytes, no end of central directory)", label, size);
    size_t eocd = (size_t) -1;
    size_t lo = size > 22 + 65535 ? size - 22 - 65535 : 0;
    for (size_t i = size - 22 + 1; i-- > lo;) {
        if (pth__u32(b + i) == 0x06054b50u && i + 22 + pth__u16(b + i + 20) == size) { eocd = i; break; }
    }
    if (eocd == (size_t) -1) return det_errf(err, err_size, "%s: truncated or damaged zip archive (no end of central directory record)", label);
    uint64_t n = pth__u16(b + eocd + 10), cd_size = pth__u32(b + eocd + 12), cd_off = pth__u32(b + eocd + 16);
    if (pth__u16(b + eocd + 4) != 0 || pth__u16(b + eocd + 6) != 0)
        return det_errf(err, err_size, "%s: a multi-disk zip archive (not written by torch.save)", label);
    if (n == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_off == 0xFFFFFFFFu) {
        if (eocd < 20 || pth__u32(b + eocd - 20) != 0x07064b50u)
            return det_errf(err, err_size, "%s: damaged zip64 archive (no zip64 end of central directory locator)", label);
        uint64_t z64 = pth__u64(b + eocd - 20 + 8);
        if (z64 > size || size - z64 < 56 || pth__u32(b + z64) != 0x06064b50u)
            return det_errf(err, err_size, "%s: damaged zip64 archive (bad zip64 end of central directory record)", label);
        n = pth__u64(b + z64 + 32);
        cd_size = pth__u64(b + z64 + 40);
        cd_off = pth__u64(b + z64 + 48);
    }
    if (cd_off > size || cd_size > size - cd_off)
        return det_errf(err, err_size, "%s: truncated zip archive (central directory at %llu + %llu bytes, file of %zu)",
                        label, (unsigned long long) cd_off, (unsigned long long) cd_size, size);
    if (n > cd_size / 46) return det_errf(err, err_size, "%s: damaged zip archive (%llu entries in a %llu-byte central directory)",
                                          label, (unsigned long long) n, (unsigned long long) cd_size);
    z->e = (struct pth__entry *) calloc((size_t) (n ? n : 1), sizeof(struct pth__entry));
    if (!z->e) return det_errf(err, err_size, "%s: out of memory", label);
    const uint8_t * p = b + cd_off, * end = b + cd_off + cd_size;
    for (uint64_t i = 0; i < n; i++) {
        if (end - p < 46 || pth__u32(p) != 0x02014b50u)
            return det_errf(err, err_size, "%s: damaged zip archive (central directory entry %llu)", label, (unsigned long long) i);
        struct pth__entry * e = &z->e[i];
        e->flags = pth__u16(p + 8);
        e->method = pth__u16(p + 10);
        e->crc = pth__u32(p + 16);
        e->csize = pth__u32(p + 20);
        e->usize = pth__u32(p + 24);
        size_t nl = pth__u16(p + 28), el = pth__u16(p + 30), cl = pth__u16(p + 32);
        e->local = pth__u32(p + 42);
        if ((size_t) (end - p) - 46 < nl + el + cl)
            return det_errf(err, err_size, "%s: damaged zip archive (central directory entry %llu overruns it)", label, (unsigned long long) i);
        e->name = (const char *) p + 46;
        e->name_len = nl;
        // zip64 extended information: the 32-bit fields that are all ones, in this order
        const uint8_t * x = p + 46 + nl, * xe = x + el;
        while (xe - x >= 4) {
            unsigned id = pth__u16(x), len = pth__u16(x + 2);
            if ((size_t) (xe - x) - 4 < len) break;
            if (id == 0x0001) {
                const uint8_t * f = x + 4, * fe = x + 4 + len;
                if (e->usize == 0xFFFFFFFFu && fe - f >= 8) { e->usize = pth__u64(f); f += 8; }
                if (e->csize == 0xFFFFFFFFu && fe - f >= 8) { e->csize = pth__u64(f); f += 8; }
                if (e->local == 0xFFFFFFFFu && fe - f >= 8) { e->local = pth__u64(f); f += 8; }
            }
            x += 4 + len;
        }
        p += 46 + nl + el + cl;
    }
    z->n = (int64_t) n;
    qsort(z->e, (size_t) n, sizeof(struct pth__entry), pth__entry_cmp);
    for (int64_t i = 1; i < z->n; i++)
        if (pth__entry_cmp(&z->e[i - 1], &z->e[i]) == 0)
            return det_errf(err, err_size, "%s: damaged zip archive (entry '%s' twice)", label, pth__quote(z->e[i].name, z->e[i].name_len).s);
    return 0;
}

static const struct pth__entry * pth__zip_find(const struct pth__zip * z, const char * name, size_t len) {
    struct pth__entry key;
    key.name = name; key.name_len = len;
    return (const struct pth__entry *) bsearch(&key, z->e, (size_t) z->n, sizeof(struct pth__entry), pth__entry_cmp);
}

// the stored bytes of entry e, CRC checked
static int pth__zip_data(const uint8_t * b, size_t size, const char * label, const struct pth__entry * e, const struct pth__crc * crc,
                         const uint8_t ** data, char * err, size_t err_size) {
    struct pth__q q = pth__quote(e->name, e->name_len);
    if (e->flags & 1) return det_errf(err, err_size, "%s: entry '%s' is encrypted", label, q.s);
    if (e->method != 0)
        return det_errf(err, err_size, "%s: entry '%s' is compressed (zip method %d); torch.save stores entries uncompressed: re-save the file with torch.save",
                        label, q.s, e->method);
    if (e->csize != e->usize) return det_errf(err, err_size, "%s: entry '%s' is stored with %llu bytes but says %llu", label, q.s,
                                              (unsigned long long) e->csize, (unsigned long long) e->usize);
    if (e->local > size || size - e->local < 30 || pth__u32(b + e->local) != 0x04034b50u)
        return det_errf(err, err_size, "%s: truncated or damaged zip archive (no local header for '%s')", label, q.s);
    uint64_t start = e->local + 30 + pth__u16(b + e->local + 26) + pth__u16(b + e->local + 28);
    if (start > size || size - start < e->usize)
        return det_errf(err, err_size, "%s: truncated zip archive ('%s': %llu bytes at %llu, file of %zu)", label, q.s,
                        (unsigned long long) e->usize, (unsigned long long) start, size);
    *data = b + start;
    if (pth__crc32(crc, *data, (size_t) e->usize) != e->crc)
        return det_errf(err, err_size, "%s: entry '%s' is damaged (CRC-32 mismatch)", label, q.s);
    return 0;
}

// ---------------------------------------------------------------------------------------------
// pickle values

enum pth__kind { PK_NONE, PK_BOOL, PK_INT, PK_BIGINT, PK_FLOAT, PK_STR, PK_BYTES, PK_TUPLE, PK_LIST, PK_DICT,
                 PK_GLOBAL, PK_OPAQUE, PK_STORAGE, PK_TENSOR };
static const char * const pth__kind_names[] = { "None", "a bool", "an int", "a big int", "a float", "a string", "bytes",
                                                "a tuple", "a list", "a dict", "a class or function", "an opaque object",
                                                "a storage", "a tensor" };

// the globals the reader builds
enum pth__global { G_OTHER, G_ORDEREDDICT, G_REBUILD_V2, G_REBUILD, G_REBUILD_PARAM, G_STORAGE };

struct pth__dtype { const char * storage, * st; int size; };
static const struct pth__dtype pth__dtypes[] = {
    { "FloatStorage", "F32", 4 }, { "DoubleStorage", "F64", 8 }, { "HalfStorage", "F16", 2 }, { "BFloat16Storage", "BF16", 2 },
    { "LongStorage", "I64", 8 }, { "IntStorage", "I32", 4 }, { "ShortStorage", "I16", 2 }, { "CharStorage", "I8", 1 },
    { "ByteStorage", "U8", 1 }, { "BoolStorage", "BOOL", 1 },
};
#define PTH__N_DTYPES ((int) (sizeof(pth__dtypes) / sizeof(pth__dtypes[0])))

struct pth__val {
    uint8_t kind, global;         // global: enum pth__global for PK_GLOBAL (and the dtype for G_STORAGE in i)
    int32_t n, cap;               // items of a tuple, list or dict (dict: key, value pairs)
    int32_t * items;
    int64_t i;                    // int, bool; storage / tensor index; G_STORAGE: dtype index
    int64_t i2;                   // storage: view offset in elements (legacy views)
    double f;
    const char * s, * s2;         // str / bytes / big int bytes; global: module (s) and name (s2)
    uint32_t len, len2;
};

struct pth__storage { const char * key; uint32_t key_len; int dtype; int64_t numel; const uint8_t * data; uint64_t nbytes; bool have; };
struct pth__tensor { int32_t storage; int64_t offset; int n_dims; int64_t shape[PTH_MAX_DIMS], stride[PTH_MAX_DIMS]; };

struct pth__pk {
    const char * label;
    const uint8_t * begin, * p, * end;
    struct pth__val * v; int32_t nv, vcap;
    int32_t * stack; int64_t sp, scap;
    int64_t * marks; int64_t nm, mcap;
    int32_t * memo; int64_t memo_cap, memo_count;
    struct pth__storage * st; int32_t nst, stcap;
    struct pth__tensor * t; int32_t nt, tcap;
    char * err; size_t err_size;
    bool failed;
};

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int pth__fail(struct pth__pk * k, const char * fmt, ...) {
    if (k->failed) return -1;
    k->failed = true;
    if (!k->err || !k->err_size) return -1;
    int n = snprintf(k->err, k->err_size, "%s: pickle byte %lld: ", k->label, (long long) (k->p - k->begin));
    if (n >= 0 && (size_t) n < k->err_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(k->err + n, k->err_size - (size_t) n, fmt, ap);
        va_end(ap);
    }
    for (char * c = k->err; *c; c++) if (*c == '\n' || *c == '\r') *c = ' ';
    return -1;
}

static bool pth__grow(void ** p, int64_t * cap, int64_t need, size_t elem) {
    if (need <= *cap) return true;
    int64_t c = *cap ? *cap : 16;
    while (c < need) c *= 2;
    void * q = realloc(*p, (size_t) c * elem);
    if (!q) return false;
    *p = q;
    *cap = c;
    return true;
}

static int32_t pth__new(struct pth__pk * k, int kind) {
    if (k->nv >= PTH_MAX_VALUES) { pth__fail(k, "more than %d values", PTH_MAX_VALUES); return -1; }
    int64_t cap = k->vcap;
    if (!pth__grow((void **) &k->v, &cap, (int64_t) k->nv + 1, sizeof(struct pth__val))) { pth__fail(k, "out of memory"); return -1; }
    k->vcap = (int32_t) cap;
    struct pth__val * v = &k->v[k->nv];
    memset(v, 0, sizeof(*v));
    v->kind = (uint8_t) kind;
    return k->nv++;
}

static int pth__push(struct pth__pk * k, int32_t id) {
    if (id < 0) return -1;
    if (k->sp >= PTH_MAX_STACK) return pth__fail(k, "stack deeper than %d", PTH_MAX_STACK);
    if (!pth__grow((void **) &k->stack, &k->scap, k->sp + 1, sizeof(int32_t))) return pth__fail(k, "out of memory");
    k->stack[k->sp++] = id;
    return 0;
}

static int64_t pth__mark_base(const struct pth__pk * k) { return k->nm ? k->marks[k->nm - 1] : 0; }

static int32_t pth__pop(struct pth__pk * k, const char * op) {
    if (k->sp <= pth__mark_base(k)) { pth__fail(k, "%s on an empty stack", op); return -1; }
    return k->stack[--k->sp];
}

static int pth__add_item(struct pth__pk * k, int32_t c, int32_t item) {
    struct pth__val * v = &k->v[c];
    int64_t cap = v->cap;
    if (v->n >= INT32_MAX - 1) return pth__fail(k, "a container of more than 2^31 items");
    if (!pth__grow((void **) &v->items, &cap, (int64_t) v->n + 1, sizeof(int32_t))) return pth__fail(k, "out of memory");
    v->cap = (int32_t) cap;
    v->items[v->n++] = item;
    return 0;
}

// a new tuple / list of the stack's items above the last mark (the mark is popped)
static int32_t pth__from_mark(struct pth__pk * k, int kind, const char * op) {
    if (!k->nm) { pth__fail(k, "%s without a mark", op); return -1; }
    int64_t base = k->marks[--k->nm];
    int32_t c = pth__new(k, kind);
    if (c < 0) return -1;
    for (int64_t i = base; i < k->sp; i++) if (pth__add_item(k, c, k->stack[i])) return -1;
    k->sp = base;
    return c;
}

static int pth__need(struct pth__pk * k, size_t n) {
    if ((size_t) (k->end - k->p) < n) return pth__fail(k, "truncated pickle (%zu more bytes needed, %zu left)", n, (size_t) (k->end - k->p));
    return 0;
}

// a text line (protocol 0 arguments) without its '\n'
static int pth__line(struct pth__pk * k, const char ** s, size_t * n) {
    const uint8_t * e = (const uint8_t *) memchr(k->p, '\n', (size_t) (k->end - k->p));
    if (!e) return pth__fail(k, "truncated pickle (unterminated text argument)");
    *s = (const char *) k->p;
    *n = (size_t) (e - k->p);
    k->p = e + 1;
    return 0;
}

static int pth__line_int(struct pth__pk * k, int64_t * out) {
    const char * s = NULL;
    size_t n = 0;
    if (pth__line(k, &s, &n)) return -1;
    char buf[32];
    if (n && s[n - 1] == 'L') n--;          // protocol 0 longs end in 'L'
    if (n == 0 || n >= sizeof buf) return pth__fail(k, "bad text integer");
    memcpy(buf, s, n);
    buf[n] = '\0';
    char * e;
    errno = 0;
    long long v = strtoll(buf, &e, 10);
    if (*e || errno) return pth__fail(k, "bad text integer '%s'", pth__quote(s, n).s);
    *out = v;
    return 0;
}

static int pth__str(struct pth__pk * k, int kind, uint64_t n) {
    if (pth__need(k, (size_t) n) || n > UINT32_MAX) return pth__fail(k, "truncated pickle (a string of %llu bytes)", (unsigned long long) n);
    int32_t id = pth__new(k, kind);
    if (id < 0) return -1;
    k->v[id].s = (const char *) k->p;
    k->v[id].len = (uint32_t) n;
    k->p += n;
    return pth__push(k, id);
}

static int pth__int(struct pth__pk * k, int64_t x) {
    int32_t id = pth__new(k, PK_INT);
    if (id < 0) return -1;
    k->v[id].i = x;
    return pth__push(k, id);
}

// LONG1 / LONG4: n little-endian two's complement bytes
static int pth__long(struct pth__pk * k, uint64_t n) {
    if (pth__need(k, (size_t) n) || n > UINT32_MAX) return pth__fail(k, "truncated pickle (an integer of %llu bytes)", (unsigned long long) n);
    if (n > 8) return pth__str(k, PK_BIGINT, n);
    uint64_t x = 0;
    for (uint64_t i = 0; i < n; i++) x |= (uint64_t) k->p[i] << (8 * i);
    if (n > 0 && n < 8 && (k->p[n - 1] & 0x80)) x |= ~(uint64_t) 0 << (8 * n);
    k->p += n;
    return pth__int(k, (int64_t) x);
}

static bool pth__is_str(const struct pth__val * v, const char * s) {
    return v->kind == PK_STR && v->len == strlen(s) && memcmp(v->s, s, v->len) == 0;
}

static int pth__global(struct pth__pk * k, const char * mod, size_t ml, const char * name, size_t nl) {
    int32_t id = pth__new(k, PK_GLOBAL);
    if (id < 0) return -1;
    struct pth__val * v = &k->v[id];
    v->s = mod; v->len = (uint32_t) ml; v->s2 = name; v->len2 = (uint32_t) nl;
#define PTH__IS(m, n_) (ml == strlen(m) && memcmp(mod, m, ml) == 0 && nl == strlen(n_) && memcmp(name, n_, nl) == 0)
    if (PTH__IS("collections", "OrderedDict")) v->global = G_ORDEREDDICT;
    else if (PTH__IS("torch._utils", "_rebuild_tensor_v2")) v->global = G_REBUILD_V2;
    else if (PTH__IS("torch._utils", "_rebuild_tensor")) v->global = G_REBUILD;
    else if (PTH__IS("torch._utils", "_rebuild_parameter") || PTH__IS("torch._utils", "_rebuild_parameter_with_state")) v->global = G_REBUILD_PARAM;
    else if (ml == 5 && memcmp(mod, "torch", 5) == 0) {
        for (int d = 0; d < PTH__N_DTYPES; d++)
            if (nl == strlen(pth__dtypes[d].storage) && memcmp(name, pth__dtypes[d].storage, nl) == 0) { v->global = G_STORAGE; v->i = d; }
    }
#undef PTH__IS
    return pth__push(k, id);
}

// "module.name" of a global or an opaque object made from one, for messages
static struct pth__q pth__global_name(const struct pth__val * v) {
    struct pth__q q;
    if (v->kind != PK_GLOBAL && v->kind != PK_OPAQUE) { snprintf(q.s, sizeof q.s, "%s", pth__kind_names[v->kind]); return q; }
    if (!v->s) { snprintf(q.s, sizeof q.s, "?"); return q; }
    struct pth__q a = pth__quote(v->s, v->len > 30 ? 30 : v->len), b = pth__quote(v->s2, v->len2 > 30 ? 30 : v->len2);
    size_t la = strlen(a.s), lb = strlen(b.s);
    memcpy(q.s, a.s, la);
    q.s[la] = '.';
    memcpy(q.s + la + 1, b.s, lb + 1);
    return q;
}

// what a value is, for messages: "a dict", "an opaque 'numpy.core.multiarray._reconstruct' object"
static const char * pth__describe(const struct pth__val * v, char * buf, size_t size) {
    if (v->kind == PK_OPAQUE || v->kind == PK_GLOBAL) snprintf(buf, size, "%s '%s'", v->kind == PK_OPAQUE ? "an opaque object made by" : "the global", pth__global_name(v).s);
    else snprintf(buf, size, "%s", pth__kind_names[v->kind]);
    return buf;
}

static int32_t pth__opaque_of(struct pth__pk * k, int32_t callable) {
    int32_t id = pth__new(k, PK_OPAQUE);
    if (id < 0) return -1;
    const struct pth__val * c = &k->v[callable];
    if (c->kind == PK_GLOBAL || c->kind == PK_OPAQUE) {
        k->v[id].s = c->s; k->v[id].len = c->len; k->v[id].s2 = c->s2; k->v[id].len2 = c->len2;
    }
    return id;
}

static bool pth__int_tuple(const struct pth__pk * k, int32_t id, int64_t * out, int * n) {
    const struct pth__val * v = &k->v[id];
    if (v->kind != PK_TUPLE && v->kind != PK_LIST) return false;
    if (v->n > PTH_MAX_DIMS) return false;
    for (int i = 0; i < v->n; i++) {
        const struct pth__val * x = &k->v[v->items[i]];
        if (x->kind != PK_INT) return false;
        out[i] = x->i;
    }
    *n = v->n;
    return true;
}

// _rebuild_tensor_v2(storage, offset, size, stride, ...) -> a tensor record
static int32_t pth__rebuild(struct pth__pk * k, int32_t args) {
    const struct pth__val * a = &k->v[args];
    char d[128];
    if (a->kind != PK_TUPLE || a->n < 4) { pth__fail(k, "_rebuild_tensor: arguments are %s, not a tuple of at least 4", pth__describe(a, d, sizeof d)); return -1; }
    const struct pth__val * s = &k->v[a->items[0]], * off = &k->v[a->items[1]];
    if (s->kind != PK_STORAGE) { pth__fail(k, "a tensor's storage is %s, not a storage", pth__describe(s, d, sizeof d)); return -1; }
    if (off->kind != PK_INT || off->i < 0) { pth__fail(k, "a tensor's storage offset is %s", off->kind == PK_INT ? "negative" : pth__describe(off, d, sizeof d)); return -1; }
    struct pth__tensor t;
    memset(&t, 0, sizeof t);
    int ns = 0, nr = 0;
    if (!pth__int_tuple(k, a->items[2], t.shape, &ns) || !pth__int_tuple(k, a->items[3], t.stride, &nr) || ns != nr) {
        pth__fail(k, "a tensor's size and stride are not two tuples of at most %d ints of the same length", PTH_MAX_DIMS);
        return -1;
    }
    for (int i = 0; i < ns; i++)
        if (t.shape[i] < 0 || t.stride[i] < 0) { pth__fail(k, "a tensor has a negative size or stride"); return -1; }
    t.storage = (int32_t) s->i;
    t.n_dims = ns;
    if (__builtin_add_overflow(off->i, s->i2, &t.offset)) { pth__fail(k, "a tensor's storage offset overflows"); return -1; }
    int64_t cap = k->tcap;
    if (!pth__grow((void **) &k->t, &cap, (int64_t) k->nt + 1, sizeof(struct pth__tensor))) { pth__fail(k, "out of memory"); return -1; }
    k->tcap = (int32_t) cap;
    int32_t id = pth__new(k, PK_TENSOR);
    if (id < 0) return -1;
    k->t[k->nt] = t;
    k->v[id].i = k->nt++;
    return id;
}

static int pth__reduce(struct pth__pk * k, int32_t callable, int32_t args) {
    const struct pth__val * c = &k->v[callable];
    char d[128];
    int32_t id = -1;
    if (c->kind == PK_GLOBAL && c->global == G_ORDEREDDICT) id = pth__new(k, PK_DICT);
    else if (c->kind == PK_GLOBAL && (c->global == G_REBUILD_V2 || c->global == G_REBUILD)) id = pth__rebuild(k, args);
    else if (c->kind == PK_GLOBAL && c->global == G_REBUILD_PARAM) {
        const struct pth__val * a = &k->v[args];
        if (a->kind != PK_TUPLE || a->n < 1 || k->v[a->items[0]].kind != PK_TENSOR)
            return pth__fail(k, "_rebuild_parameter: its data is %s, not a tensor", a->kind == PK_TUPLE && a->n ? pth__describe(&k->v[a->items[0]], d, sizeof d) : "missing");
        id = a->items[0];
    } else if (c->kind == PK_GLOBAL || c->kind == PK_OPAQUE) id = pth__opaque_of(k, callable);
    else return pth__fail(k, "REDUCE calls %s", pth__describe(c, d, sizeof d));
    return pth__push(k, id);
}

// BINPERSID: ('storage', torch.<Type>Storage, key, location, numel[, view_metadata])
static int pth__persid(struct pth__pk * k, int32_t pid) {
    const struct pth__val * t = &k->v[pid];
    char d[128];
    if (t->kind != PK_TUPLE || t->n < 5 || !pth__is_str(&k->v[t->items[0]], "storage"))
        return pth__fail(k, "persistent id is %s, not a ('storage', type, key, location, size) tuple", pth__describe(t, d, sizeof d));
    const struct pth__val * type = &k->v[t->items[1]], * key = &k->v[t->items[2]], * numel = &k->v[t->items[4]];
    if (type->kind != PK_GLOBAL || type->global != G_STORAGE)
        return pth__fail(k, "storage type is %s (only torch.{Float,Double,Half,BFloat16,Long,Int,Short,Char,Byte,Bool}Storage)", pth__describe(type, d, sizeof d));
    if (key->kind != PK_STR) return pth__fail(k, "storage key is %s, not a string", pth__describe(key, d, sizeof d));
    if (numel->kind != PK_INT || numel->i < 0) return pth__fail(k, "storage size is not an int >= 0");
    int64_t view_off = 0;
    const char * ks = key->s;
    uint32_t kl = key->len;
    if (t->n >= 6 && k->v[t->items[5]].kind != PK_NONE) {   // legacy view: (view_key, offset, size)
        const struct pth__val * vm = &k->v[t->items[5]];
        if (vm->kind != PK_TUPLE || vm->n < 3 || k->v[vm->items[1]].kind != PK_INT || k->v[vm->items[1]].i < 0)
            return pth__fail(k, "storage view metadata is not a (key, offset, size) tuple");
        view_off = k->v[vm->items[1]].i;
    }
    int32_t si = -1;
    for (int32_t i = k->nst; i-- > 0;)
        if (k->st[i].key_len == kl && memcmp(k->st[i].key, ks, kl) == 0) { si = i; break; }
    if (si >= 0 && k->st[si].dtype != (int) type->i)
        return pth__fail(k, "storage '%s' is referenced with two types", pth__quote(ks, kl).s);
    if (si < 0) {
        int64_t cap = k->stcap;
        if (!pth__grow((void **) &k->st, &cap, (int64_t) k->nst + 1, sizeof(struct pth__storage))) return pth__fail(k, "out of memory");
        k->stcap = (int32_t) cap;
        si = k->nst++;
        memset(&k->st[si], 0, sizeof(k->st[si]));
        k->st[si].key = ks; k->st[si].key_len = kl; k->st[si].dtype = (int) type->i; k->st[si].numel = numel->i;
    }
    int32_t id = pth__new(k, PK_STORAGE);
    if (id < 0) return -1;
    k->v[id].i = si;
    k->v[id].i2 = view_off;
    return pth__push(k, id);
}

static int pth__memo_put(struct pth__pk * k, int64_t idx) {
    if (k->sp <= 0) return pth__fail(k, "PUT on an empty stack");
    // the pickler numbers memo entries 0, 1, 2 ...: an index far beyond the count is not a checkpoint's
    if (idx < 0 || idx >= PTH_MAX_MEMO || idx > 2 * k->memo_count + 1024) return pth__fail(k, "memo index %lld out of range", (long long) idx);
    if (idx >= k->memo_cap) {
        int64_t old = k->memo_cap;
        if (!pth__grow((void **) &k->memo, &k->memo_cap, idx + 1, sizeof(int32_t))) return pth__fail(k, "out of memory");
        for (int64_t i = old; i < k->memo_cap; i++) k->memo[i] = -1;
    }
    if (k->memo[idx] < 0) k->memo_count++;
    k->memo[idx] = k->stack[k->sp - 1];
    return 0;
}

static int pth__memo_get(struct pth__pk * k, int64_t idx) {
    if (idx < 0 || idx >= k->memo_cap || k->memo[idx] < 0) return pth__fail(k, "memo index %lld was never stored", (long long) idx);
    return pth__push(k, k->memo[idx]);
}

// SETITEM(S) / APPEND(S) into the container c of the items stack[from..sp)
static int pth__fill(struct pth__pk * k, int32_t c, int64_t from, bool dict, const char * op) {
    struct pth__val * v = &k->v[c];
    if (dict && (k->sp - from) % 2) return pth__fail(k, "%s with an odd number of items", op);
    bool ok = dict ? v->kind == PK_DICT : (v->kind == PK_LIST);
    if (v->kind == PK_OPAQUE) { k->sp = from; return 0; }   // e.g. a dict subclass from mmcv: dropped
    if (!ok) { char d[128]; return pth__fail(k, "%s on %s", op, pth__describe(v, d, sizeof d)); }
    for (int64_t i = from; i < k->sp; i++) if (pth__add_item(k, c, k->stack[i])) return -1;
    k->sp = from;
    return 0;
}

// Runs one pickle from k->p; *out = the object. 0 or -1.
static int pth__run(struct pth__pk * k, int32_t * out) {
    k->sp = 0; k->nm = 0; k->memo_count = 0;
    for (int64_t i = 0; i < k->memo_cap; i++) k->memo[i] = -1;
    while (!k->failed) {
        if (pth__need(k, 1)) return -1;
        const uint8_t op = *k->p++;
        int32_t a, b, c;
        const char * s = NULL, * s2 = NULL;
        size_t n = 0, n2 = 0;
        int64_t x;
        switch (op) {
        case 0x80: if (pth__need(k, 1)) return -1; if (*k->p > 5) return pth__fail(k, "pickle protocol %d (at most 5)", *k->p); k->p++; break;
        case 0x95: if (pth__need(k, 8)) return -1; k->p += 8; break;                                 // FRAME
        case '.':                                                                                     // STOP
            if (k->sp != 1 || k->nm) return pth__fail(k, "STOP with %lld values on the stack", (long long) k->sp);
            *out = k->stack[0];
            return 0;
        case '(':                                                                                     // MARK
            if (!pth__grow((void **) &k->marks, &k->mcap, k->nm + 1, sizeof(int64_t))) return pth__fail(k, "out of memory");
            k->marks[k->nm++] = k->sp;
            break;
        case '0': if (k->sp > pth__mark_base(k)) k->sp--; else if (k->nm) k->sp = k->marks[--k->nm]; else return pth__fail(k, "POP on an empty stack"); break;
        case '1': if (!k->nm) return pth__fail(k, "POP_MARK without a mark"); k->sp = k->marks[--k->nm]; break;
        case '2': if (k->sp <= 0) return pth__fail(k, "DUP on an empty stack"); if (pth__push(k, k->stack[k->sp - 1])) return -1; break;
        case 'N': if (pth__push(k, pth__new(k, PK_NONE))) return -1; break;
        case 0x88: case 0x89:                                                                         // NEWTRUE, NEWFALSE
            if ((a = pth__new(k, PK_BOOL)) < 0) return -1;
            k->v[a].i = op == 0x88;
            if (pth__push(k, a)) return -1;
            break;
        case 'J': if (pth__need(k, 4)) return -1; x = (int32_t) pth__u32(k->p); k->p += 4; if (pth__int(k, x)) return -1; break;
        case 'K': if (pth__need(k, 1)) return -1; x = *k->p++; if (pth__int(k, x)) return -1; break;
        case 'M': if (pth__need(k, 2)) return -1; x = pth__u16(k->p); k->p += 2; if (pth__int(k, x)) return -1; break;
        case 0x8a: if (pth__need(k, 1)) return -1; n = *k->p++; if (pth__long(k, n)) return -1; break;
        case 0x8b: if (pth__need(k, 4)) return -1; n = pth__u32(k->p); k->p += 4; if (pth__long(k, n)) return -1; break;
        case 'I': case 'L':                                                                           // INT, LONG (text)
            if (op == 'I' && (size_t) (k->end - k->p) >= 3 && k->p[0] == '0' && (k->p[1] == '0' || k->p[1] == '1') && k->p[2] == '\n') {
                if ((a = pth__new(k, PK_BOOL)) < 0) return -1;
                k->v[a].i = k->p[1] == '1';
                k->p += 3;
                if (pth__push(k, a)) return -1;
                break;
            }
            if (pth__line_int(k, &x) || pth__int(k, x)) return -1;
            break;
        case 'G': {                                                                                   // BINFLOAT (big endian)
            if (pth__need(k, 8)) return -1;
            uint64_t bits = 0;
            for (int i = 0; i < 8; i++) bits = bits << 8 | k->p[i];
            k->p += 8;
            if ((a = pth__new(k, PK_FLOAT)) < 0) return -1;
            memcpy(&k->v[a].f, &bits, 8);
            if (pth__push(k, a)) return -1;
            break;
        }
        case 'F': {                                                                                   // FLOAT (text)
            if (pth__line(k, &s, &n)) return -1;
            char buf[64];
            if (n == 0 || n >= sizeof buf) return pth__fail(k, "bad text float");
            memcpy(buf, s, n); buf[n] = '\0';
            if ((a = pth__new(k, PK_FLOAT)) < 0) return -1;
            k->v[a].f = strtod(buf, NULL);
            if (pth__push(k, a)) return -1;
            break;
        }
        case 'X': case 'T': if (pth__need(k, 4)) return -1; n = pth__u32(k->p); k->p += 4; if (pth__str(k, PK_STR, n)) return -1; break;
        case 0x8c: case 'U': if (pth__need(k, 1)) return -1; n = *k->p++; if (pth__str(k, PK_STR, n)) return -1; break;
        case 0x8d: if (pth__need(k, 8)) return -1; { uint64_t m = pth__u64(k->p); k->p += 8; if (pth__str(k, PK_STR, m)) return -1; } break;
        case 'B': if (pth__need(k, 4)) return -1; n = pth__u32(k->p); k->p += 4; if (pth__str(k, PK_BYTES, n)) return -1; break;
        case 'C': if (pth__need(k, 1)) return -1; n = *k->p++; if (pth__str(k, PK_BYTES, n)) return -1; break;
        case 0x8e: case 0x96: if (pth__need(k, 8)) return -1; { uint64_t m = pth__u64(k->p); k->p += 8; if (pth__str(k, PK_BYTES, m)) return -1; } break;
        case 'S': case 'V':                                                                           // STRING, UNICODE (text): kept raw
            if (pth__line(k, &s, &n)) return -1;
            if ((a = pth__new(k, PK_STR)) < 0) return -1;
            if (op == 'S' && n >= 2 && (s[0] == '\'' || s[0] == '"') && s[n - 1] == s[0]) { s++; n -= 2; }
            k->v[a].s = s; k->v[a].len = (uint32_t) n;
            if (pth__push(k, a)) return -1;
            break;
        case ')': if (pth__push(k, pth__new(k, PK_TUPLE))) return -1; break;
        case ']': if (pth__push(k, pth__new(k, PK_LIST))) return -1; break;
        case '}': if (pth__push(k, pth__new(k, PK_DICT))) return -1; break;
        case 0x8f: if (pth__push(k, pth__new(k, PK_LIST))) return -1; break;                           // EMPTY_SET: a list
        case 0x85: case 0x86: case 0x87: {                                                            // TUPLE1..3
            int m = op - 0x84;
            if (k->sp - pth__mark_base(k) < m) return pth__fail(k, "TUPLE%d on a stack of %lld", m, (long long) (k->sp - pth__mark_base(k)));
            if ((a = pth__new(k, PK_TUPLE)) < 0) return -1;
            for (int i = 0; i < m; i++) if (pth__add_item(k, a, k->stack[k->sp - m + i])) return -1;
            k->sp -= m;
            if (pth__push(k, a)) return -1;
            break;
        }
        case 't': case 'l': case 0x91:                                                                // TUPLE, LIST, FROZENSET
            if (pth__push(k, pth__from_mark(k, op == 't' ? PK_TUPLE : PK_LIST, "TUPLE/LIST"))) return -1;
            break;
        case 'd':                                                                                     // DICT
            if ((a = pth__from_mark(k, PK_DICT, "DICT")) < 0) return -1;
            if (k->v[a].n % 2) return pth__fail(k, "DICT with an odd number of items");
            if (pth__push(k, a)) return -1;
            break;
        case 'a':                                                                                     // APPEND
            if (k->sp - pth__mark_base(k) < 2) return pth__fail(k, "APPEND on a stack of %lld", (long long) (k->sp - pth__mark_base(k)));
            if (pth__fill(k, k->stack[k->sp - 2], k->sp - 1, false, "APPEND")) return -1;
            break;
        case 's':                                                                                     // SETITEM
            if (k->sp - pth__mark_base(k) < 3) return pth__fail(k, "SETITEM on a stack of %lld", (long long) (k->sp - pth__mark_base(k)));
            if (pth__fill(k, k->stack[k->sp - 3], k->sp - 2, true, "SETITEM")) return -1;
            break;
        case 'e': case 'u': case 0x90: {                                                              // APPENDS, SETITEMS, ADDITEMS
            if (!k->nm) return pth__fail(k, "APPENDS/SETITEMS without a mark");
            int64_t base = k->marks[--k->nm];
            if (base < 1 || base <= pth__mark_base(k)) return pth__fail(k, "APPENDS/SETITEMS with no container below the mark");
            if (pth__fill(k, k->stack[base - 1], base, op == 'u', op == 'u' ? "SETITEMS" : "APPENDS")) return -1;
            break;
        }
        case 'p': if (pth__line_int(k, &x) || pth__memo_put(k, x)) return -1; break;                  // PUT
        case 'q': if (pth__need(k, 1)) return -1; x = *k->p++; if (pth__memo_put(k, x)) return -1; break;
        case 'r': if (pth__need(k, 4)) return -1; x = pth__u32(k->p); k->p += 4; if (pth__memo_put(k, x)) return -1; break;
        case 0x94: if (pth__memo_put(k, k->memo_count)) return -1; break;                             // MEMOIZE
        case 'g': if (pth__line_int(k, &x) || pth__memo_get(k, x)) return -1; break;                  // GET
        case 'h': if (pth__need(k, 1)) return -1; x = *k->p++; if (pth__memo_get(k, x)) return -1; break;
        case 'j': if (pth__need(k, 4)) return -1; x = pth__u32(k->p); k->p += 4; if (pth__memo_get(k, x)) return -1; break;
        case 'c':                                                                                     // GLOBAL
            if (pth__line(k, &s, &n) || pth__line(k, &s2, &n2) || pth__global(k, s, n, s2, n2)) return -1;
            break;
        case 0x93:                                                                                    // STACK_GLOBAL
            if ((b = pth__pop(k, "STACK_GLOBAL")) < 0 || (a = pth__pop(k, "STACK_GLOBAL")) < 0) return -1;
            if (k->v[a].kind != PK_STR || k->v[b].kind != PK_STR) return pth__fail(k, "STACK_GLOBAL of non-strings");
            if (pth__global(k, k->v[a].s, k->v[a].len, k->v[b].s, k->v[b].len)) return -1;
            break;
        case 'R':                                                                                     // REDUCE
            if ((b = pth__pop(k, "REDUCE")) < 0 || (a = pth__pop(k, "REDUCE")) < 0 || pth__reduce(k, a, b)) return -1;
            break;
        case 0x81:                                                                                    // NEWOBJ
            if ((b = pth__pop(k, "NEWOBJ")) < 0 || (a = pth__pop(k, "NEWOBJ")) < 0) return -1;
            if (pth__push(k, k->v[a].kind == PK_GLOBAL && k->v[a].global == G_ORDEREDDICT ? pth__new(k, PK_DICT) : pth__opaque_of(k, a))) return -1;
            break;
        case 0x92:                                                                                    // NEWOBJ_EX
            if ((c = pth__pop(k, "NEWOBJ_EX")) < 0 || (b = pth__pop(k, "NEWOBJ_EX")) < 0 || (a = pth__pop(k, "NEWOBJ_EX")) < 0) return -1;
            if (pth__push(k, pth__opaque_of(k, a))) return -1;
            break;
        case 'o': {                                                                                   // OBJ
            if ((a = pth__from_mark(k, PK_TUPLE, "OBJ")) < 0) return -1;
            if (k->v[a].n < 1) return pth__fail(k, "OBJ without a class");
            if (pth__push(k, pth__opaque_of(k, k->v[a].items[0]))) return -1;
            break;
        }
        case 'i':                                                                                     // INST
            if (pth__line(k, &s, &n) || pth__line(k, &s2, &n2)) return -1;
            if ((a = pth__from_mark(k, PK_TUPLE, "INST")) < 0) return -1;
            if ((a = pth__new(k, PK_OPAQUE)) < 0) return -1;
            k->v[a].s = s; k->v[a].len = (uint32_t) n; k->v[a].s2 = s2; k->v[a].len2 = (uint32_t) n2;
            if (pth__push(k, a)) return -1;
            break;
        case 'b':                                                                                     // BUILD: the state is dropped
            if (pth__pop(k, "BUILD") < 0) return -1;
            if (k->sp <= pth__mark_base(k)) return pth__fail(k, "BUILD without an object");
            break;
        case 'Q':                                                                                     // BINPERSID
            if ((a = pth__pop(k, "BINPERSID")) < 0 || pth__persid(k, a)) return -1;
            break;
        case 'P': return pth__fail(k, "a text persistent id (not a PyTorch checkpoint)");
        case 0x82: case 0x83: case 0x84: return pth__fail(k, "pickle extension codes are not supported");
        case 0x97: return pth__fail(k, "out-of-band buffers (NEXT_BUFFER) are not supported");
        case 0x98: break;                                                                             // READONLY_BUFFER
        default: return pth__fail(k, "unknown pickle opcode 0x%02x", op);
        }
    }
    return -1;
}

static void pth__pk_free(struct pth__pk * k) {
    for (int32_t i = 0; i < k->nv; i++) free(k->v[i].items);
    free(k->v); free(k->stack); free(k->marks); free(k->memo); free(k->st); free(k->t);
}

// ---------------------------------------------------------------------------------------------
// the file

struct pth_file {
    uint8_t * buf;
    size_t size;
    struct alrp_st_tensor * t;
    int n;
    const struct alrp_st_tensor ** by_name;   // sorted by name
    void ** owned;              // contiguous copies of strided tensors
    int n_owned;
    struct pth_info info;
};

void pth_close(struct pth_file * f) {
    if (!f) return;
    for (int i = 0; i < f->n_owned; i++) free(f->owned[i]);
    free(f->owned);
    free(f->by_name);
    free(f->t);
    free(f->buf);
    free(f);
}

int pth_count(const struct pth_file * f) { return f ? f->n : 0; }
const struct alrp_st_tensor * pth_at(const struct pth_file * f, int i) { return f && i >= 0 && i < f->n ? &f->t[i] : NULL; }
void pth_get_info(const struct pth_file * f, struct pth_info * info) { *info = f->info; }

static int pth__by_name(const void * a, const void * b) {
    return strcmp((*(const struct alrp_st_tensor * const *) a)->name, (*(const struct alrp_st_tensor * const *) b)->name);
}

const struct alrp_st_tensor * pth_get(const struct pth_file * f, const char * name) {
    int lo = 0, hi = f ? f->n : 0;
    while (lo < hi) {
        int mid = (lo + hi) / 2, c = strcmp(f->by_name[mid]->name, name);
        if (c == 0) return f->by_name[mid];
        if (c < 0) lo = mid + 1; else hi = mid;
    }
    return NULL;
}

bool pth_sniff(const void * head, size_t n) {
    const uint8_t * p = (const uint8_t *) head;
    if (n >= 4 && pth__u32(p) == 0x04034b50u) return true;
    return n >= 4 && p[0] == 0x80 && p[1] == 2 && p[2] == 0x8a && p[3] == 10;
}

// the value of string key `name` in dict d, or -1
static int32_t pth__dict_get(const struct pth__pk * k, int32_t d, const char * name) {
    const struct pth__val * v = &k->v[d];
    for (int32_t i = 0; i + 1 < v->n; i += 2) if (pth__is_str(&k->v[v->items[i]], name)) return v->items[i + 1];
    return -1;
}

// copies the strided tensor t (element size es) at base into dst, C order
static void pth__gather(uint8_t * dst, const uint8_t * base, const struct pth__tensor * t, int es) {
    int64_t idx[PTH_MAX_DIMS] = { 0 };
    int64_t numel = 1;
    for (int d = 0; d < t->n_dims; d++) numel *= t->shape[d];
    for (int64_t j = 0; j < numel; j++) {
        int64_t off = t->offset;
        for (int d = 0; d < t->n_dims; d++) off += idx[d] * t->stride[d];
        memcpy(dst + j * es, base + off * es, (size_t) es);
        for (int d = t->n_dims - 1; d >= 0; d--) { if (++idx[d] < t->shape[d]) break; idx[d] = 0; }
    }
}

// the state dict of the root object into f's tensor list
static int pth__tensors(struct pth__pk * k, int32_t root, struct pth_file * f, const char * label, char * err, size_t err_size) {
    char d[160];
    const struct pth__val * r = &k->v[root];
    if (r->kind == PK_OPAQUE)
        return det_errf(err, err_size, "%s: the checkpoint holds a pickled '%s' object (a whole model saved with torch.save(model)?): save its state_dict() instead",
                        label, pth__global_name(r).s);
    if (r->kind != PK_DICT) return det_errf(err, err_size, "%s: the pickled object is %s, not a state dict", label, pth__describe(r, d, sizeof d));
    int32_t sd = root;
    f->info.container = "";
    static const char * const containers[] = { "state_dict", "model" };
    for (int c = 0; c < 2; c++) {
        int32_t v = pth__dict_get(k, root, containers[c]);
        if (v >= 0 && k->v[v].kind == PK_DICT) { sd = v; f->info.container = containers[c]; f->info.n_wrapper_keys = r->n / 2; break; }
    }
    const struct pth__val * s = &k->v[sd];
    int n = s->n / 2;
    if (n == 0) return det_errf(err, err_size, "%s: the state dict%s is empty", label, sd == root ? "" : " in the wrapper");
    f->t = (struct alrp_st_tensor *) calloc((size_t) n, sizeof(struct alrp_st_tensor));
    f->by_name = (const struct alrp_st_tensor **) malloc(sizeof(*f->by_name) * (size_t) n);
    f->owned = (void **) calloc((size_t) n, sizeof(void *));
    if (!f->t || !f->by_name || !f->owned) return det_errf(err, err_size, "%s: out of memory", label);
    bool all_module = true;
    for (int i = 0; i < n; i++) {
        const struct pth__val * key = &k->v[s->items[2 * i]];
        all_module &= key->kind == PK_STR && key->len > 7 && memcmp(key->s, "module.", 7) == 0;
    }
    f->info.module_prefix = all_module;
    for (int i = 0; i < n; i++) {
        const struct pth__val * key = &k->v[s->items[2 * i]], * val = &k->v[s->items[2 * i + 1]];
        if (key->kind != PK_STR) return det_errf(err, err_size, "%s: state dict key %d is %s, not a string", label, i, pth__describe(key, d, sizeof d));
        const char * name = key->s + (all_module ? 7 : 0);
        size_t len = key->len - (all_module ? 7 : 0);
        struct pth__q q = pth__quote(name, len);
        if (len == 0 || len >= ALRP_ST_MAX_NAME || memchr(name, '\0', len))
            return det_errf(err, err_size, "%s: state dict key '%s' is empty, longer than %d bytes or has a NUL", label, q.s, ALRP_ST_MAX_NAME - 1);
        if (val->kind != PK_TENSOR)
            return det_errf(err, err_size, "%s: state dict entry '%s' is %s where a tensor is needed", label, q.s, pth__describe(val, d, sizeof d));
        const struct pth__tensor * t = &k->t[val->i];
        const struct pth__storage * st = &k->st[t->storage];
        const struct pth__dtype * dt = &pth__dtypes[st->dtype];
        struct alrp_st_tensor * o = &f->t[i];
        memcpy(o->name, name, len);
        o->name[len] = '\0';
        snprintf(o->dtype, sizeof o->dtype, "%s", dt->st);
        o->n_dims = t->n_dims;
        int64_t numel = 1, last = t->offset;     // last: the largest element index used
        bool contiguous = true;
        int64_t expect = 1;
        for (int dd = t->n_dims - 1; dd >= 0; dd--) {
            o->shape[dd] = t->shape[dd];
            int64_t span;
            if (__builtin_mul_overflow(numel, t->shape[dd], &numel) || numel > ((int64_t) 1 << 48))
                return det_errf(err, err_size, "%s: tensor '%s' has more than 2^48 elements", label, q.s);
            if (t->shape[dd] > 0 && (__builtin_mul_overflow(t->shape[dd] - 1, t->stride[dd], &span) || __builtin_add_overflow(last, span, &last)))
                return det_errf(err, err_size, "%s: tensor '%s': its strides overflow", label, q.s);
            if (t->shape[dd] != 1 && t->stride[dd] != expect) contiguous = false;
            expect *= t->shape[dd];
        }
        o->numel = numel;
        o->nbytes = (size_t) numel * (size_t) dt->size;
        if (numel == 0) { o->data = st->data ? st->data : (const void *) f->t; continue; }
        if (!st->have)
            return det_errf(err, err_size, "%s: tensor '%s': storage '%s' has no data in the file", label, q.s, pth__quote(st->key, st->key_len).s);
        if ((uint64_t) last >= st->nbytes / (uint64_t) dt->size)
            return det_errf(err, err_size, "%s: tensor '%s' %s needs %lld elements of storage '%s', which holds %llu: the storage is shorter than its tensor",
                            label, q.s, dt->st, (long long) last + 1, pth__quote(st->key, st->key_len).s,
                            (unsigned long long) (st->nbytes / (uint64_t) dt->size));
        if (contiguous) {
            o->data = st->data + (size_t) t->offset * (size_t) dt->size;
        } else {
            uint8_t * copy = (uint8_t *) malloc(o->nbytes);
            if (!copy) return det_errf(err, err_size, "%s: out of memory for tensor '%s'", label, q.s);
            f->owned[f->n_owned++] = copy;
            pth__gather(copy, st->data, t, dt->size);
            o->data = copy;
        }
    }
    f->n = n;
    for (int i = 0; i < n; i++) f->by_name[i] = &f->t[i];
    qsort(f->by_name, (size_t) n, sizeof(*f->by_name), pth__by_name);
    for (int i = 1; i < n; i++)
        if (strcmp(f->by_name[i - 1]->name, f->by_name[i]->name) == 0)
            return det_errf(err, err_size, "%s: state dict key '%s' appears twice", label, pth__quote(f->by_name[i]->name, strlen(f->by_name[i]->name)).s);
    return 0;
}

static int pth__zip(struct pth__pk * k, struct pth_file * f, const char * label, char * err, size_t err_size) {
    struct pth__zip z;
    struct pth__crc * crc = (struct pth__crc *) malloc(sizeof(struct pth__crc));
    int rc = -1;
    char * name = NULL;
    if (!crc) return det_errf(err, err_size, "%s: out of memory", label);
    pth__crc_init(crc);
    if (pth__zip_dir(f->buf, f->size, label, &z, err, err_size)) goto done;
    const struct pth__entry * pkl = NULL;
    for (int64_t i = 0; i < z.n; i++) {
        const struct pth__entry * e = &z.e[i];
        if (e->name_len >= 9 && memcmp(e->name + e->name_len - 9, "/data.pkl", 9) == 0) {
            if (pkl) { det_errf(err, err_size, "%s: two pickles in the archive ('%s' and '%s')", label, pth__quote(pkl->name, pkl->name_len).s, pth__quote(e->name, e->name_len).s); goto done; }
            pkl = e;
        }
    }
    if (!pkl) { det_errf(err, err_size, "%s: a zip archive with no '<name>/data.pkl' entry: not a PyTorch checkpoint", label); goto done; }
    const size_t top = pkl->name_len - 9;        // "<top>" before "/data.pkl"
    char bo[16];
    snprintf(bo, sizeof bo, "/byteorder");
    name = (char *) malloc(65536 + 64);           // entry names are at most 65535 bytes
    if (!name) { det_errf(err, err_size, "%s: out of memory", label); goto done; }
    memcpy(name, pkl->name, top);
    memcpy(name + top, bo, strlen(bo));
    const struct pth__entry * be = pth__zip_find(&z, name, top + strlen(bo));
    const uint8_t * data;
    if (be) {
        if (pth__zip_data(f->buf, f->size, label, be, crc, &data, err, err_size)) goto done;
        if (be->usize == 3 && memcmp(data, "big", 3) == 0) { det_errf(err, err_size, "%s: a big-endian checkpoint (not supported)", label); goto done; }
    }
    if (pth__zip_data(f->buf, f->size, label, pkl, crc, &data, err, err_size)) goto done;
    if (pkl->usize > INT32_MAX) { det_errf(err, err_size, "%s: data.pkl is larger than 2 GiB", label); goto done; }
    k->begin = k->p = data;
    k->end = data + pkl->usize;
    int32_t root;
    if (pth__run(k, &root)) goto done;
    for (int32_t i = 0; i < k->nst; i++) {
        struct pth__storage * s = &k->st[i];
        size_t nl = top + 6 + s->key_len;
        if (nl > 65535) continue;                 // longer than any zip entry name: no data
        memcpy(name + top, "/data/", 6);
        memcpy(name + top + 6, s->key, s->key_len);
        const struct pth__entry * e = pth__zip_find(&z, name, nl);
        if (!e) continue;                         // an error only if a tensor of the state dict uses it
        if (pth__zip_data(f->buf, f->size, label, e, crc, &s->data, err, err_size)) goto done;
        s->nbytes = e->usize;
        s->have = true;
    }
    f->info.format = PTH_ZIP;
    f->info.n_storages = k->nst;
    rc = pth__tensors(k, root, f, label, err, err_size);
done:
    free(name);
    free(z.e);
    free(crc);
    return rc;
}

static int pth__legacy(struct pth__pk * k, struct pth_file * f, const char * label, char * err, size_t err_size) {
    static const uint8_t magic[10] = { 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19 };
    k->begin = k->p = f->buf;
    k->end = f->buf + f->size;
    int32_t v;
    if (pth__run(k, &v)) return -1;
    if (k->v[v].kind != PK_BIGINT || k->v[v].len != 10 || memcmp(k->v[v].s, magic, 10) != 0)
        return det_errf(err, err_size, "%s: wrong magic number (not a PyTorch checkpoint)", label);
    if (pth__run(k, &v)) return -1;
    if (k->v[v].kind != PK_INT || k->v[v].i != 1001)
        return det_errf(err, err_size, "%s: legacy format protocol %lld (only 1001)", label, k->v[v].kind == PK_INT ? (long long) k->v[v].i : -1LL);
    if (pth__run(k, &v)) return -1;
    if (k->v[v].kind != PK_DICT) return det_errf(err, err_size, "%s: the system info is not a dict", label);
    int32_t le = pth__dict_get(k, v, "little_endian");
    if (le >= 0 && !(k->v[le].kind == PK_BOOL && k->v[le].i)) return det_errf(err, err_size, "%s: a big-endian checkpoint (not supported)", label);
    int32_t root, keys;
    if (pth__run(k, &root) || pth__run(k, &keys)) return -1;
    const struct pth__val * kl = &k->v[keys];
    if (kl->kind != PK_LIST) return det_errf(err, err_size, "%s: the storage key list is not a list", label);
    const uint8_t * p = k->p;
    for (int32_t i = 0; i < kl->n; i++) {
        const struct pth__val * key = &k->v[kl->items[i]];
        if (key->kind != PK_STR) return det_errf(err, err_size, "%s: storage key %d is not a string", label, i);
        struct pth__q q = pth__quote(key->s, key->len);
        int32_t si = -1;
        for (int32_t j = 0; j < k->nst; j++)
            if (k->st[j].key_len == key->len && memcmp(k->st[j].key, key->s, key->len) == 0) { si = j; break; }
        if (si < 0) return det_errf(err, err_size, "%s: storage '%s' is listed but no tensor uses it", label, q.s);
        struct pth__storage * s = &k->st[si];
        if (s->have) return det_errf(err, err_size, "%s: storage '%s' is listed twice", label, q.s);
        if ((size_t) (k->end - p) < 8) return det_errf(err, err_size, "%s: truncated (storage '%s', %d of %d: no size)", label, q.s, i + 1, kl->n);
        uint64_t count = pth__u64(p), es = (uint64_t) pth__dtypes[s->dtype].size;
        p += 8;
        if (count > (uint64_t) (k->end - p) / es)
            return det_errf(err, err_size, "%s: truncated (storage '%s', %d of %d: %llu elements of %llu bytes, %zu bytes left)", label, q.s, i + 1, kl->n,
                            (unsigned long long) count, (unsigned long long) es, (size_t) (k->end - p));
        s->data = p;
        s->nbytes = count * es;
        s->have = true;
        p += s->nbytes;
    }
    f->info.format = PTH_LEGACY;
    f->info.n_storages = k->nst;
    return pth__tensors(k, root, f, label, err, err_size);
}

// takes buf (malloc'd, size bytes)
static struct pth_file * pth__open(uint8_t * buf, size_t size, const char * label, char * err, size_t err_size) {
    struct pth_file * f = (struct pth_file *) calloc(1, sizeof(struct pth_file));
    if (!f) { free(buf); det_errf(err, err_size, "%s: out of memory", label); return NULL; }
    f->buf = buf;
    f->size = size;
    struct pth__pk k;
    memset(&k, 0, sizeof k);
    k.label = label;
    k.err = err;
    k.err_size = err_size;
    int rc;
    if (size >= 4 && pth__u32(buf) == 0x04034b50u) rc = pth__zip(&k, f, label, err, err_size);
    else if (size >= 2 && buf[0] == 0x80 && buf[1] == 2) rc = pth__legacy(&k, f, label, err, err_size);
    else if (size >= 262 && memcmp(buf + 257, "ustar", 5) == 0)
        rc = det_errf(err, err_size, "%s: a tar-format checkpoint (PyTorch before 0.1.10): not supported; re-save it with a newer torch.save", label);
    else if (size == 0) rc = det_errf(err, err_size, "%s: empty file", label);
    else rc = det_errf(err, err_size, "%s: wrong magic number: neither a zip archive (PyTorch >= 1.6) nor a legacy pickle stream: not a PyTorch checkpoint", label);
    pth__pk_free(&k);
    if (rc) { pth_close(f); return NULL; }
    return f;
}

struct pth_file * pth_load_buffer(const void * buf, size_t size, const char * label, char * err, size_t err_size) {
    uint8_t * copy = (uint8_t *) malloc(size ? size : 1);
    if (!copy) { det_errf(err, err_size, "%s: out of memory", label); return NULL; }
    if (size) memcpy(copy, buf, size);
    return pth__open(copy, size, label, err, err_size);
}

struct pth_file * pth_load(const char * path, char * err, size_t err_size) {
    FILE * fp = fopen(path, "rb");
    if (!fp) { det_errf(err, err_size, "%s: cannot open: %s", path, strerror(errno)); return NULL; }
    uint8_t * buf = NULL;
    size_t size = 0;
    long end = -1;
    if (fseek(fp, 0, SEEK_END) == 0) end = ftell(fp);
    if (end < 0 || fseek(fp, 0, SEEK_SET) != 0) { fclose(fp); det_errf(err, err_size, "%s: cannot seek (not a regular file?)", path); return NULL; }
    size = (size_t) end;
    buf = (uint8_t *) malloc(size ? size : 1);
    if (!buf) { fclose(fp); det_errf(err, err_size, "%s: out of memory for %zu bytes", path, size); return NULL; }
    size_t got = fread(buf, 1, size, fp);
    int bad = ferror(fp);
    fclose(fp);
    if (bad || got != size) { free(buf); det_errf(err, err_size, "%s: read error", path); return NULL; }
    return pth__open(buf, size, path, err, err_size);
}
