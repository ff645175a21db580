// json.c - strict streaming JSON reader and small writer; see json.h.
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define JSON__IN_OBJECT 1
#define JSON__FIRST     2    // the container has had no element yet

// ============================================================================================
// ===== reader: input window
// ============================================================================================

static void json__set_name(struct json_reader * r, const char * name) {
    snprintf(r->name, sizeof(r->name), "%s", name ? name : "<input>");
    // names go into one-line messages: no control characters
    for (char * c = r->name; *c; c++) if ((unsigned char) *c < 0x20) *c = '?';
}

static void json__reset(struct json_reader * r) {
    memset(r, 0, sizeof(*r));
    r->fd = -1;
    r->ctx_index = -1;
}

// the refill window of r->buf_size bytes; -1 (with the error set) when out of memory
static int json__alloc_window(struct json_reader * r) {
    r->buf = (unsigned char *) malloc(r->buf_size);
    if (!r->buf) {
        snprintf(r->err, sizeof(r->err), "%s: out of memory", r->name);
        r->failed = 1;
        r->at_eof = 1;
        return -1;
    }
    r->p = r->end = r->win = r->buf;
    return 0;
}


int json_reader_open(struct json_reader * r, const char * path, size_t buf_size) {
    json__reset(r);
    json__set_name(r, path);
    r->buf_size = buf_size ? buf_size : (size_t) 1 << 20;
    r->fd = open(path, O_RDONLY);
    if (r->fd < 0) {
        snprintf(r->err, sizeof(r->err), "%s: cannot open: %s", r->name, strerror(errno));
        r->failed = 1;
        r->at_eof = 1;
        return -1;
    }
    return json__alloc_window(r);
}

void json_reader_init_mem(struct json_reader * r, const void * data, size_t size, const char * name) {
    json__reset(r);
    json__set_name(r, name);
    r->p = r->win = (const unsigned char *) data;
    r->end = r->p + size;
    r->at_eof = 1;
    if (!data) r->p = r->win = r->end = (const unsigned char *) "";
}

int json_reader_init_mem_chunked(struct json_reader * r, const void * data, size_t size,
                                 const char * name, size_t chunk) {
    json__reset(r);
    json__set_name(r, name);
    r->src = (const unsigned char *) data;
    r->src_size = data ? size : 0;
    r->buf_size = chunk ? chunk : 1;
    return json__alloc_window(r);
}

void json_reader_close(struct json_reader * r) {
    if (r->fd >= 0) close(r->fd);
    free(r->buf);
    free(r->scratch);
    r->fd = -1;
    r->buf = NULL;
    r->scratch = NULL;
    r->p = r->end = r->win = NULL;
    r->at_eof = 1;
}

static uint64_t json__count_nl(const unsigned char * a, const unsigned char * b) {
    uint64_t n = 0;
    while (a < b) {
        const unsigned char * q = (const unsigned char *) memchr(a, '\n', (size_t) (b - a));
        if (!q) break;
        n++;
        a = q + 1;
    }
    return n;
}

// Moves the window forward. Only called when every byte of the window was consumed.
// Returns 1 when bytes are available, 0 at the end of input (or after a read error).
static int json__scratch_reserve(struct json_reader * r, size_t extra);

static int json__fill(struct json_reader * r) {
    if (r->at_eof || r->failed) return 0;
    if (r->pin) {   // a number spans the refill: keep its first part
        size_t k = (size_t) (r->end - r->pin);
        if (json__scratch_reserve(r, k)) return 0;
        memcpy(r->scratch + r->scratch_len, r->pin, k);
        r->scratch_len += k;
        r->pin = r->buf;
    }
    r->win_lines  += json__count_nl(r->win, r->end);
    r->win_offset += (uint64_t) (r->end - r->win);
    size_t n = 0;
    if (r->fd >= 0) {
        for (;;) {
            ssize_t k = read(r->fd, r->buf, r->buf_size);
            if (k < 0 && errno == EINTR) continue;
            if (k < 0) {
                r->p = r->end = r->win = r->buf;
                json_reader_fail(r, "read error: %s", strerror(errno));
                r->at_eof = 1;
                return 0;
            }
            n = (size_t) k;
            break;
        }
    } else if (r->src) {
        n = r->src_size - r->src_pos;
        if (n > r->buf_size) n = r->buf_size;
        if (n) memcpy(r->buf, r->src + r->src_pos, n);
        r->src_pos += n;
    }
    r->p = r->win = r->buf;
    r->end = r->buf + n;
    if (n == 0) { r->at_eof = 1; return 0; }
    return 1;
}

static inline int json__peekc(struct json_reader * r) {
    if (r->p < r->end) return *r->p;
    return json__fill(r) ? *r->p : -1;
}

static inline int json__getc(struct json_reader * r) {
    if (r->p < r->end) return *r->p++;
    return json__fill(r) ? *r->p++ : -1;
}

static inline int json__skip_ws(struct json_reader * r) {
    for (;;) {
        while (r->p < r->end) {
            int c = *r->p;
            if (c == ' ' || c == '\n' || c == '\r' || c == '\t') r->p++;
            else return c;
        }
        if (!json__fill(r)) return -1;
    }
}

uint64_t json_reader_line(const struct json_reader * r) {
    if (!r->win || !r->p) return r->win_lines + 1;
    return r->win_lines + json__count_nl(r->win, r->p) + 1;
}

uint64_t json_reader_offset(const struct json_reader * r) {
    if (!r->win || !r->p) return r->win_offset;
    return r->win_offset + (uint64_t) (r->p - r->win);
}

int json_reader_fail(struct json_reader * r, const char * fmt, ...) {
    if (r->failed) return -1;
    r->failed = 1;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    char ctx[160] = "";
    if (r->ctx_section || r->ctx_field) {
        size_t n = 0;
        if (r->ctx_section) {
            n += (size_t) snprintf(ctx + n, sizeof(ctx) - n, "%s", r->ctx_section);
            if (r->ctx_index >= 0 && n < sizeof(ctx))
                n += (size_t) snprintf(ctx + n, sizeof(ctx) - n, "[%lld]", (long long) r->ctx_index);
        }
        if (r->ctx_field && n < sizeof(ctx))
            n += (size_t) snprintf(ctx + n, sizeof(ctx) - n, "%s%s", r->ctx_section ? "." : "", r->ctx_field);
        if (n < sizeof(ctx)) snprintf(ctx + n, sizeof(ctx) - n, ": ");
    }
    snprintf(r->err, sizeof(r->err), "%s:%llu: %s%s (byte %llu)", r->name,
             (unsigned long long) json_reader_line(r), ctx, msg,
             (unsigned long long) json_reader_offset(r));
    return -1;
}

static const char * json__describe(int c) {
    switch (c) {
        case -1:  return "the end of the input";
        case '{': return "an object";
        case '[': return "an array";
        case '"': return "a string";
        case 't': case 'f': return "a boolean";
        case 'n': return "null";
        case '}': return "'}'";
        case ']': return "']'";
        case ',': return "','";
        case ':': return "':'";
        default:  return (c == '-' || (c >= '0' && c <= '9')) ? "a number" : "an unexpected character";
    }
}

static int json__expected(struct json_reader * r, const char * what, int c) {
    if (c >= 0x20 && c < 0x7f && !strchr("{[\"tfn}],:-0123456789", c))
        return json_reader_fail(r, "expected %s, got '%c'", what, c);
    if (c >= 0 && (c < 0x20 || c >= 0x7f) && c != '\n')
        return json_reader_fail(r, "expected %s, got byte 0x%02x", what, c);
    return json_reader_fail(r, "expected %s, got %s", what, json__describe(c));
}

static int json__scratch_reserve(struct json_reader * r, size_t extra) {
    if (r->scratch_len + extra + 1 <= r->scratch_size) return 0;
    size_t n = r->scratch_size ? r->scratch_size : 256;
    while (n < r->scratch_len + extra + 1) {
        if (n > ((size_t) 1 << 40)) return json_reader_fail(r, "string too long");
        n *= 2;
    }
    char * s = (char *) realloc(r->scratch, n);
    if (!s) return json_reader_fail(r, "out of memory");
    r->scratch = s;
    r->scratch_size = n;
    return 0;
}

static inline int json__scratch_put(struct json_reader * r, int c) {
    if (r->scratch_len + 2 > r->scratch_size && json__scratch_reserve(r, 1)) return -1;
    r->scratch[r->scratch_len++] = (char) c;
    return 0;
}

// ============================================================================================
// ===== reader: scalars
// ============================================================================================

static int json__hex4(struct json_reader * r, unsigned * v) {
    unsigned x = 0;
    for (int i = 0; i < 4; i++) {
        int c = json__getc(r);
        if      (c >= '0' && c <= '9') x = x * 16 + (unsigned) (c - '0');
        else if (c >= 'a' && c <= 'f') x = x * 16 + (unsigned) (c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') x = x * 16 + (unsigned) (c - 'A' + 10);
        else return json_reader_fail(r, "bad \\u escape: expected 4 hex digits");
    }
    *v = x;
    return 0;
}

static int json__put_utf8(struct json_reader * r, unsigned cp) {
    if (json__scratch_reserve(r, 4)) return -1;
    char * o = r->scratch + r->scratch_len;
    if (cp < 0x80) { o[0] = (char) cp; r->scratch_len += 1; }
    else if (cp < 0x800) {
        o[0] = (char) (0xC0 | (cp >> 6)); o[1] = (char) (0x80 | (cp & 0x3F));
        r->scratch_len += 2;
    } else if (cp < 0x10000) {
        o[0] = (char) (0xE0 | (cp >> 12)); o[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char) (0x80 | (cp & 0x3F));
        r->scratch_len += 3;
    } else {
        o[0] = (char) (0xF0 | (cp >> 18)); o[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
        o[2] = (char) (0x80 | ((cp >> 6) & 0x3F)); o[3] = (char) (0x80 | (cp & 0x3F));
        r->scratch_len += 4;
    }
    return 0;
}

// A UTF-8 lead byte c >= 0x80 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF): returns the
// number of continuation bytes and the allowed range of the first one, or -1.
static int json__utf8_lead(int c, int * lo, int * hi) {
    *lo = 0x80; *hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) return 1;
    if (c == 0xE0) { *lo = 0xA0; return 2; }
    if (c >= 0xE1 && c <= 0xEC) return 2;
    if (c == 0xED) { *hi = 0x9F; return 2; }
    if (c >= 0xEE && c <= 0xEF) return 2;
    if (c == 0xF0) { *lo = 0x90; return 3; }
    if (c >= 0xF1 && c <= 0xF3) return 3;
    if (c == 0xF4) { *hi = 0x8F; return 3; }
    return -1;
}

// A string at r->p (the opening quote not yet eaten). store: keep it in r->scratch.
static int json__string(struct json_reader * r, int store) {
    r->scratch_len = 0;
    if (json__getc(r) != '"') return json_reader_fail(r, "expected a string");
    for (;;) {
        if (r->p == r->end && !json__fill(r)) return json_reader_fail(r, "unterminated string");
        // plain printable ASCII run
        const unsigned char * q = r->p;
        while (q < r->end && *q >= 0x20 && *q < 0x80 && *q != '"' && *q != '\\') q++;
        if (store && q > r->p) {
            if (json__scratch_reserve(r, (size_t) (q - r->p))) return -1;
            memcpy(r->scratch + r->scratch_len, r->p, (size_t) (q - r->p));
            r->scratch_len += (size_t) (q - r->p);
        }
        r->p = q;
        if (q == r->end) continue;
        int c = *r->p;
        if (c == '"') {
            r->p++;
            if (store) {
                if (json__scratch_reserve(r, 0)) return -1;
                r->scratch[r->scratch_len] = 0;
            }
            return 0;
        }
        if (c < 0x20) return json_reader_fail(r, "control character 0x%02x in a string (must be escaped)", c);
        r->p++;
        if (c == '\\') {
            int e = json__getc(r);
            int out;
            switch (e) {
                case '"': out = '"'; break;
                case '\\': out = '\\'; break;
                case '/': out = '/'; break;
                case 'b': out = '\b'; break;
                case 'f': out = '\f'; break;
                case 'n': out = '\n'; break;
                case 'r': out = '\r'; break;
                case 't': out = '\t'; break;
                case 'u': {
                    unsigned cp;
                    if (json__hex4(r, &cp)) return -1;
                    if (cp >= 0xDC00 && cp <= 0xDFFF) return json_reader_fail(r, "lone low surrogate \\u%04X in a string", cp);
                    if (cp >= 0xD800 && cp <= 0xDBFF) {
                        unsigned lo;
                        if (json__getc(r) != '\\' || json__getc(r) != 'u')
                            return json_reader_fail(r, "high surrogate \\u%04X not followed by a low surrogate", cp);
                        if (json__hex4(r, &lo)) return -1;
                        if (lo < 0xDC00 || lo > 0xDFFF)
                            return json_reader_fail(r, "high surrogate \\u%04X not followed by a low surrogate", cp);
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    }
                    if (store && json__put_utf8(r, cp)) return -1;
                    continue;
                }
                default:
                    if (e < 0) return json_reader_fail(r, "unterminated string");
                    return json_reader_fail(r, "bad escape in a string");
            }
            if (store && json__scratch_put(r, out)) return -1;
            continue;
        }
        // c >= 0x80: a UTF-8 sequence
        int lo, hi;
        int n = json__utf8_lead(c, &lo, &hi);
        if (n < 0) return json_reader_fail(r, "invalid UTF-8 byte 0x%02x in a string", c);
        if (store && json__scratch_put(r, c)) return -1;
        for (int i = 0; i < n; i++) {
            int b = json__getc(r);
            if (b < lo || b > hi) return json_reader_fail(r, "invalid UTF-8 sequence in a string");
            lo = 0x80; hi = 0xBF;
            if (store && json__scratch_put(r, b)) return -1;
        }
    }
}

static const double json__pow10[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

// The digits of a number, as gathered by the lexer.
struct json__num {
    uint64_t mant;      // up to 19 significant decimal digits
    int nsig;           // digits in mant (leading zeros not counted)
    int inexact;        // nonzero digits were dropped after the 19th
    int64_t exp10;      // value = mant * 10^exp10 (before the explicit exponent)
    int64_t exp;        // the explicit exponent, saturated
    int neg, has_frac, has_exp;
    int int_overflow;   // the integer part does not fit in int64
    uint64_t ival;      // the integer part, when no overflow
};

static inline void json__digit(struct json__num * n, int d, int in_frac) {
    if (n->nsig < 19) {
        if (n->mant == 0 && d == 0) { if (in_frac) n->exp10--; return; }
        n->mant = n->mant * 10 + (uint64_t) d;
        n->nsig++;
        if (in_frac) n->exp10--;
    } else {
        if (!in_frac) n->exp10++;
        if (d) n->inexact = 1;
    }
}

// Lexes a number at r->p. keep: gather its digits, and pin its start so that
// json__pinned_text can give its text (for strtod and messages). The caller clears r->pin.
static int json__number(struct json_reader * r, struct json__num * n, int keep) {
    memset(n, 0, sizeof(*n));
    if (keep) {
        r->scratch_len = 0;
        r->pin = r->p;
    }
    int c = json__peekc(r);
    if (c == '-') {
        n->neg = 1;
        r->p++;
        c = json__peekc(r);
    }
    if (c == '0') {
        r->p++;
        c = json__peekc(r);
        if (c >= '0' && c <= '9') { r->pin = NULL; return json_reader_fail(r, "leading zeros are not allowed in numbers"); }
    } else if (c >= '1' && c <= '9') {
        for (;;) {
            // fast run over the digits in the window
            while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
                int d = *r->p++ - '0';
                if (keep) {
                    json__digit(n, d, 0);
                    if (n->ival > (UINT64_MAX - 9) / 10) n->int_overflow = 1;
                    n->ival = n->ival * 10 + (uint64_t) d;
                }
            }
            if (r->p < r->end || !json__fill(r)) break;
        }
        c = json__peekc(r);
    } else {
        r->pin = NULL;
        return json__expected(r, "a digit", c);
    }
    if (c == '.') {
        r->p++;
        n->has_frac = 1;
        c = json__peekc(r);
        if (!(c >= '0' && c <= '9')) { r->pin = NULL; return json_reader_fail(r, "expected a digit after '.' in a number"); }
        for (;;) {
            while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
                int d = *r->p++ - '0';
                if (keep) json__digit(n, d, 1);
            }
            if (r->p < r->end || !json__fill(r)) break;
        }
        c = json__peekc(r);
    }
    if (c == 'e' || c == 'E') {
        r->p++;
        n->has_exp = 1;
        c = json__peekc(r);
        int eneg = 0;
        if (c == '+' || c == '-') {
            eneg = c == '-';
            r->p++;
            c = json__peekc(r);
        }
        if (!(c >= '0' && c <= '9')) { r->pin = NULL; return json_reader_fail(r, "expected a digit in the exponent of a number"); }
        while ((c = json__peekc(r)) >= '0' && c <= '9') {
            r->p++;
            if (n->exp < 1000000) n->exp = n->exp * 10 + (c - '0');
        }
        if (eneg) n->exp = -n->exp;
    }
    if (r->failed) { r->pin = NULL; return -1; }   // a read error inside a refill
    return 0;
}

// The text of the number just lexed with keep (NUL-terminated, in r->scratch); unpins.
static const char * json__pinned_text(struct json_reader * r) {
    if (r->pin) {
        size_t k = (size_t) (r->p - r->pin);
        if (json__scratch_reserve(r, k)) { r->pin = NULL; return ""; }
        memcpy(r->scratch + r->scratch_len, r->pin, k);
        r->scratch_len += k;
        r->pin = NULL;
    }
    if (json__scratch_reserve(r, 0)) return "";
    r->scratch[r->scratch_len] = 0;
    return r->scratch;
}

static double json__num_value(struct json_reader * r, const struct json__num * n) {
    int64_t e = n->exp10 + n->exp;
    if (n->mant == 0) return n->neg ? -0.0 : 0.0;
    if (!n->inexact && n->mant <= ((uint64_t) 1 << 53) && e >= -22 && e <= 22) {
        // both operands exact, one correctly rounded operation (Clinger's fast path)
        double m = (double) n->mant;
        double v = e >= 0 ? m * json__pow10[e] : m / json__pow10[-e];
        return n->neg ? -v : v;
    }
    return strtod(json__pinned_text(r), NULL);   // glibc's strtod is correctly rounded
}

// Fast path for the common number: up to 19 significant digits, no exponent, wholly inside the
// window (the byte after it is there too). Returns 1 with *v set and the number eaten, or 0
// with nothing eaten, for the general lexer to handle (and to report errors the same way).
static inline int json__double_span(struct json_reader * r, double * v) {
    const unsigned char * p = r->p, * end = r->end;
    int neg = 0, nd = 0;
    int64_t e10 = 0;
    uint64_t m = 0;
    if (p < end && *p == '-') { neg = 1; p++; }
    if (p >= end) return 0;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9') {
            if (nd == 19) return 0;
            m = m * 10 + (uint64_t) (*p++ - '0');
            nd++;
        }
    } else {
        return 0;
    }
    if (p < end && *p == '.') {
        p++;
        if (!(p < end && *p >= '0' && *p <= '9')) return 0;
        while (p < end && *p >= '0' && *p <= '9') {
            int d = *p++ - '0';
            e10--;
            if (m == 0 && d == 0) continue;
            if (nd == 19) return 0;
            m = m * 10 + (uint64_t) d;
            nd++;
        }
    }
    // the number must end inside the window, on a byte that cannot continue it
    if (p >= end || *p == 'e' || *p == 'E' || (*p >= '0' && *p <= '9') || *p == '.') return 0;
    if (m > ((uint64_t) 1 << 53) || e10 < -22) return 0;
    double x = (double) m;
    if (e10 < 0) x = x / json__pow10[-e10];
    *v = neg ? -x : x;
    r->p = p;
    return 1;
}

int json_parse_number(const char * s, size_t len, double * v) {
    struct json_reader r;
    json_reader_init_mem(&r, s, len, "<number>");
    struct json__num n;
    int rc = json__number(&r, &n, 1);
    if (rc == 0 && r.p != r.end) rc = -1;
    if (rc == 0) *v = json__num_value(&r, &n);
    r.pin = NULL;
    json_reader_close(&r);
    return rc;
}

// Is s[0..n) exactly one JSON number? (the grammar alone, no allocation)
static int json__number_text_ok(const char * s, size_t n) {
    size_t i = 0;
    #define JSON__DIGIT(k) ((k) < n && s[k] >= '0' && s[k] <= '9')
    if (i < n && s[i] == '-') i++;
    if (i < n && s[i] == '0') i++;
    else if (JSON__DIGIT(i)) { while (JSON__DIGIT(i)) i++; }
    else return 0;
    if (i < n && s[i] == '.') {
        i++;
        if (!JSON__DIGIT(i)) return 0;
        while (JSON__DIGIT(i)) i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (!JSON__DIGIT(i)) return 0;
        while (JSON__DIGIT(i)) i++;
    }
    #undef JSON__DIGIT
    return i == n;
}

static int json__literal(struct json_reader * r, const char * word) {
    for (const char * w = word; *w; w++) {
        if (json__getc(r) != *w) return json_reader_fail(r, "invalid literal (expected '%s')", word);
    }
    return 0;
}

// ============================================================================================
// ===== reader: structure
// ============================================================================================

enum json_type json_peek(struct json_reader * r) {
    if (r->failed) return JSON_ERROR;
    int c = json__skip_ws(r);
    switch (c) {
        case -1:  return r->failed ? JSON_ERROR : JSON_EOF;
        case '{': return JSON_OBJECT;
        case '[': return JSON_ARRAY;
        case '"': return JSON_STRING;
        case 't': return JSON_TRUE;
        case 'f': return JSON_FALSE;
        case 'n': return JSON_NULL;
        default:
            if (c == '-' || (c >= '0' && c <= '9')) return JSON_NUMBER;
            json__expected(r, "a value", c);
            return JSON_ERROR;
    }
}

static int json__push(struct json_reader * r, int is_object) {
    if (r->depth >= JSON_MAX_DEPTH) return json_reader_fail(r, "nesting deeper than %d levels", JSON_MAX_DEPTH);
    r->stack[r->depth++] = (uint8_t) ((is_object ? JSON__IN_OBJECT : 0) | JSON__FIRST);
    r->p++;
    return 0;
}

int json_begin_object(struct json_reader * r) {
    if (r->failed) return -1;
    int c = json__skip_ws(r);
    if (c != '{') return json__expected(r, "an object", c);
    return json__push(r, 1);
}

int json_begin_array(struct json_reader * r) {
    if (r->failed) return -1;
    int c = json__skip_ws(r);
    if (c != '[') return json__expected(r, "an array", c);
    return json__push(r, 0);
}

int json_next_key(struct json_reader * r) {
    if (r->failed) return -1;
    if (r->depth == 0 || !(r->stack[r->depth - 1] & JSON__IN_OBJECT))
        return json_reader_fail(r, "internal: json_next_key outside an object");
    uint8_t * st = &r->stack[r->depth - 1];
    int c = json__skip_ws(r);
    if (c == '}') { r->p++; r->depth--; return 0; }
    if (*st & JSON__FIRST) {
        *st &= (uint8_t) ~JSON__FIRST;
    } else {
        if (c != ',') return json__expected(r, "',' or '}' after an object member", c);
        r->p++;
        c = json__skip_ws(r);
    }
    if (c != '"') return json__expected(r, "a key string", c);
    if (json__string(r, 1)) return -1;
    r->key_len = r->scratch_len;
    size_t n = r->key_len < JSON_KEY_SIZE - 1 ? r->key_len : JSON_KEY_SIZE - 1;
    memcpy(r->key, r->scratch, n);
    r->key[n] = 0;
    c = json__skip_ws(r);
    if (c != ':') return json__expected(r, "':' after a key", c);
    r->p++;
    return 1;
}

int json_key_is(const struct json_reader * r, const char * key) {
    size_t n = strlen(key);
    return n == r->key_len && n < JSON_KEY_SIZE && memcmp(r->key, key, n) == 0;
}

int json_next_item(struct json_reader * r) {
    if (r->failed) return -1;
    if (r->depth == 0 || (r->stack[r->depth - 1] & JSON__IN_OBJECT))
        return json_reader_fail(r, "internal: json_next_item outside an array");
    uint8_t * st = &r->stack[r->depth - 1];
    int c = json__skip_ws(r);
    if (c == ']') { r->p++; r->depth--; return 0; }
    if (*st & JSON__FIRST) {
        *st &= (uint8_t) ~JSON__FIRST;
        return 1;
    }
    if (c != ',') return json__expected(r, "',' or ']' after an array element", c);
    r->p++;
    return 1;
}

int json_read_double(struct json_reader * r, double * v) {
    if (r->failed) return -1;
    int c = json__skip_ws(r);
    if (!(c == '-' || (c >= '0' && c <= '9'))) return json__expected(r, "a number", c);
    if (json__double_span(r, v)) return 0;
    struct json__num n;
    if (json__number(r, &n, 1)) return -1;
    *v = json__num_value(r, &n);
    r->pin = NULL;
    return 0;
}

int json_read_int64(struct json_reader * r, int64_t * v) {
    if (r->failed) return -1;
    int c = json__skip_ws(r);
    if (!(c == '-' || (c >= '0' && c <= '9'))) return json__expected(r, "an integer", c);
    struct json__num n;
    if (json__number(r, &n, 1)) return -1;
    if (!n.has_frac && !n.has_exp) {
        if (n.int_overflow || n.ival > (uint64_t) INT64_MAX + (uint64_t) n.neg)
            return json_reader_fail(r, "integer %.40s is out of range", json__pinned_text(r));
        r->pin = NULL;
        *v = n.neg ? (int64_t) (0 - n.ival) : (int64_t) n.ival;
        return 0;
    }
    // 12.0 or 1e3: accept integral values that a double holds exactly
    double d = json__num_value(r, &n);
    if (!(d == floor(d) && fabs(d) <= 9007199254740992.0))
        return json_reader_fail(r, "expected an integer, got %.40s", json__pinned_text(r));
    r->pin = NULL;
    *v = (int64_t) d;
    return 0;
}

int json_read_bool(struct json_reader * r, int * v) {
    if (r->failed) return -1;
    int c = json__skip_ws(r);
    if (c == 't') { *v = 1; return json__literal(r, "true"); }
    if (c == 'f') { *v = 0; return json__literal(r, "false"); }
    return json__expected(r, "true or false", c);
}

int json_read_null(struct json_reader * r) {
    if (r->failed) return -1;
    int c = json__skip_ws(r);
    if (c != 'n') return json__expected(r, "null", c);
    return json__literal(r, "null");
}

int json_read_string(struct json_reader * r, const char ** s, size_t * len) {
    if (r->failed) return -1;
    int c = json__skip_ws(r);
    if (c != '"') return json__expected(r, "a string", c);
    if (json__string(r, 1)) return -1;
    *s = r->scratch;
    if (len) *len = r->scratch_len;
    return 0;
}

// Skips one scalar at r->p (c is its first byte).
static int json__skip_scalar(struct json_reader * r, int c) {
    struct json__num n;
    switch (c) {
        case '"': return json__string(r, 0);
        case 't': return json__literal(r, "true");
        case 'f': return json__literal(r, "false");
        case 'n': return json__literal(r, "null");
        default:
            if (c == '-' || (c >= '0' && c <= '9')) return json__number(r, &n, 0);
            return json__expected(r, "a value", c);
    }
}

// After '[' of an array being skipped: eats a run of number elements ("1, 2.5, -3"), the
// common case of polygons. Returns 1 when a ',' was eaten and a non-number element follows,
// 0 when the general loop should continue (at ']' or at the first element), -1 on error.
static int json__skip_number_run(struct json_reader * r) {
    uint8_t * st = &r->stack[r->depth - 1];
    struct json__num n;
    int c = json__skip_ws(r);
    while (c == '-' || (c >= '0' && c <= '9')) {
        if (json__number(r, &n, 0)) return -1;
        *st &= (uint8_t) ~JSON__FIRST;
        c = json__skip_ws(r);
        if (c != ',') return 0;
        r->p++;
        c = json__skip_ws(r);
        if (!(c == '-' || (c >= '0' && c <= '9'))) {
            if (c == ']') return json_reader_fail(r, "trailing ',' before ']'");
            return 1;
        }
    }
    return 0;
}

int json_skip_value(struct json_reader * r) {
    if (r->failed) return -1;
    const int base = r->depth;
    for (;;) {
        // a value starts here
        int c = json__skip_ws(r);
        if (c == '{') {
            if (json__push(r, 1)) return -1;
        } else if (c == '[') {
            if (json__push(r, 0)) return -1;
            int k = json__skip_number_run(r);
            if (k < 0) return -1;
            if (k == 1) continue;          // the next element follows its eaten comma
        } else if (json__skip_scalar(r, c)) {
            return -1;
        }
        // move to the next value, closing finished containers
        for (;;) {
            if (r->depth == base) return 0;
            int k = (r->stack[r->depth - 1] & JSON__IN_OBJECT) ? json_next_key(r) : json_next_item(r);
            if (k < 0) return -1;
            if (k == 1) break;
        }
    }
}

int json_finish(struct json_reader * r) {
    if (r->failed) return -1;
    if (r->depth != 0) return json_reader_fail(r, "internal: json_finish inside a container");
    int c = json__skip_ws(r);
    if (r->failed) return -1;
    if (c != -1) return json__expected(r, "the end of the input after the top-level value", c);
    return 0;
}

// ============================================================================================
// ===== writer
// ============================================================================================

#define JSON__W_OBJECT 1
#define JSON__W_HAS    2

void json_writer_init(struct json_writer * w, FILE * f, int pretty_depth) {
    memset(w, 0, sizeof(*w));
    w->f = f;
    w->pretty_depth = pretty_depth;
}

static void json__w_newline(struct json_writer * w, int depth) {
    fputc('\n', w->f);
    for (int i = 0; i < depth; i++) fputs("  ", w->f);
}

// Comma and layout before a value (or a key, is_key = 1).
static int json__w_before(struct json_writer * w, int is_key) {
    if (w->failed) return -1;
    if (w->depth == 0) {
        if (is_key || w->state[0] & JSON__W_HAS) { w->failed = 1; return -1; }  // one top-level value
        return 0;
    }
    uint8_t * st = &w->state[w->depth];
    int in_obj = *st & JSON__W_OBJECT;
    if (in_obj && !is_key) {
        if (!w->after_key) { w->failed = 1; return -1; }
        w->after_key = 0;
        return 0;
    }
    if (!in_obj && is_key) { w->failed = 1; return -1; }
    if (*st & JSON__W_HAS) fputc(',', w->f);
    *st |= JSON__W_HAS;
    if (w->depth <= w->pretty_depth) json__w_newline(w, w->depth);
    return 0;
}

static void json__w_done_value(struct json_writer * w) {
    if (w->depth == 0) w->state[0] |= JSON__W_HAS;
}

static void json__w_begin(struct json_writer * w, int is_object) {
    if (json__w_before(w, 0)) return;
    if (w->depth + 1 >= JSON_MAX_DEPTH) { w->failed = 1; return; }
    fputc(is_object ? '{' : '[', w->f);
    w->state[++w->depth] = (uint8_t) (is_object ? JSON__W_OBJECT : 0);
}

static void json__w_end(struct json_writer * w, int is_object) {
    if (w->failed) return;
    if (w->depth == 0 || ((w->state[w->depth] & JSON__W_OBJECT) != 0) != is_object || w->after_key) {
        w->failed = 1;
        return;
    }
    int had = w->state[w->depth] & JSON__W_HAS;
    w->depth--;
    if (had && w->depth + 1 <= w->pretty_depth) json__w_newline(w, w->depth);
    fputc(is_object ? '}' : ']', w->f);
    json__w_done_value(w);
}

void json_write_begin_object(struct json_writer * w) { json__w_begin(w, 1); }
void json_write_end_object(struct json_writer * w)   { json__w_end(w, 1); }
void json_write_begin_array(struct json_writer * w)  { json__w_begin(w, 0); }
void json_write_end_array(struct json_writer * w)    { json__w_end(w, 0); }

static void json__w_string(struct json_writer * w, const char * s) {
    static const char hex[] = "0123456789abcdef";
    fputc('"', w->f);
    for (const unsigned char * c = (const unsigned char *) s; *c; c++) {
        switch (*c) {
            case '"':  fputs("\\\"", w->f); break;
            case '\\': fputs("\\\\", w->f); break;
            case '\n': fputs("\\n", w->f); break;
            case '\r': fputs("\\r", w->f); break;
            case '\t': fputs("\\t", w->f); break;
            case '\b': fputs("\\b", w->f); break;
            case '\f': fputs("\\f", w->f); break;
            default:
                if (*c < 0x20 || *c == 0x7f) {
                    fputs("\\u00", w->f);
                    fputc(hex[*c >> 4], w->f);
                    fputc(hex[*c & 15], w->f);
                } else {
                    fputc(*c, w->f);
                }
        }
    }
    fputc('"', w->f);
}

// UTF-8 check, so that the writer never emits text a strict reader rejects.
static int json__utf8_valid(const char * s) {
    const unsigned char * p = (const unsigned char *) s, * e = p + strlen(s);
    while (p < e) {
        int c = *p++;
        if (c < 0x80) continue;
        int lo, hi;
        int k = json__utf8_lead(c, &lo, &hi);
        if (k < 0) return 0;
        for (int i = 0; i < k; i++) {
            if (p >= e || *p < lo || *p > hi) return 0;
            p++;
            lo = 0x80; hi = 0xBF;
        }
    }
    return 1;
}

void json_write_key(struct json_writer * w, const char * key) {
    if (!key || !json__utf8_valid(key)) { w->failed = 1; return; }
    if (json__w_before(w, 1)) return;
    json__w_string(w, key);
    fputc(':', w->f);
    w->after_key = 1;
}

void json_write_string(struct json_writer * w, const char * s) {
    if (!s || !json__utf8_valid(s)) { w->failed = 1; return; }
    if (json__w_before(w, 0)) return;
    json__w_string(w, s);
    json__w_done_value(w);
}

int json_format_double(char * buf, double v) {
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(buf, 32, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    return n;
}

void json_write_double(struct json_writer * w, double v) {
    if (json__w_before(w, 0)) return;
    if (!isfinite(v)) {
        fputs("null", w->f);
    } else {
        char buf[32];
        int n = json_format_double(buf, v);
        fwrite(buf, 1, (size_t) n, w->f);
    }
    json__w_done_value(w);
}

void json_write_int64(struct json_writer * w, int64_t v) {
    if (json__w_before(w, 0)) return;
    fprintf(w->f, "%lld", (long long) v);
    json__w_done_value(w);
}

void json_write_bool(struct json_writer * w, int v) {
    if (json__w_before(w, 0)) return;
    fputs(v ? "true" : "false", w->f);
    json__w_done_value(w);
}

void json_write_null(struct json_writer * w) {
    if (json__w_before(w, 0)) return;
    fputs("null", w->f);
    json__w_done_value(w);
}

void json_write_number_text(struct json_writer * w, const char * text, size_t len) {
    if (!json__number_text_ok(text, len)) { w->failed = 1; return; }
    if (json__w_before(w, 0)) return;
    fwrite(text, 1, len, w->f);
    json__w_done_value(w);
}

int json_writer_finish(struct json_writer * w) {
    if (w->depth != 0 || w->after_key) w->failed = 1;
    if (fflush(w->f) != 0 || ferror(w->f)) w->failed = 1;
    return w->failed ? -1 : 0;
}
