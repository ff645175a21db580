// json.h - a strict streaming JSON reader (pull parser) and a small JSON writer.
//
// Reader: RFC 8259 exactly, nothing more (no comments, no trailing commas, no NaN/Infinity, no
// leading zeros, strings must be valid UTF-8, lone surrogates in \u escapes are rejected). The
// input is read through a fixed buffer (1 MiB by default), so a 450 MB file needs no more
// memory than that; nothing is kept of the values the caller skips.
//
// Pull style: the caller walks the document it expects.
//
//     struct json_reader r;
//     if (json_reader_open(&r, path, 0) != 0) { puts(r.err); ... }
//     if (json_begin_object(&r) != 0) goto fail;
//     while ((k = json_next_key(&r)) == 1) {          // 1: a member follows, key in r.key
//         if (json_key_is(&r, "id")) { if (json_read_int64(&r, &id)) goto fail; }
//         else if (json_skip_value(&r)) goto fail;    // validates what it skips
//     }
//     if (k < 0 || json_finish(&r) != 0) goto fail;   // json_finish: nothing but whitespace left
//     json_reader_close(&r);
//
// Every function returns 0 (or 1/0 for the iterators) on success and -1 on error; the first
// error is kept in r.err as one line, "NAME:LINE: CONTEXT: what went wrong", where CONTEXT is
// r.ctx_section[r.ctx_index].r.ctx_field when the caller has set those (they are pointers the
// caller keeps alive; the reader only reads them when it formats an error).
//
// Writer: begin/end object/array, keys and values; it places the commas, escapes strings, writes
// doubles in the shortest form that reads back to the same bits, and writes null for NaN/inf.
// pretty_depth > 0 puts each element of containers less deep than that on its own line.

#ifndef COCO_JSON_H
#define COCO_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 256
#define JSON_KEY_SIZE  64

enum json_type {
    JSON_ERROR  = -1,   // a character that cannot start a value (r.err says which)
    JSON_EOF    = 0,    // end of input
    JSON_NULL   = 1,
    JSON_FALSE  = 2,
    JSON_TRUE   = 3,
    JSON_NUMBER = 4,
    JSON_STRING = 5,
    JSON_ARRAY  = 6,
    JSON_OBJECT = 7,
};

struct json_reader {
    const unsigned char * p;      // next unread byte
    const unsigned char * end;    // end of the bytes in the window
    const unsigned char * win;    // start of the window
    unsigned char * buf;          // owned refill buffer (NULL when reading caller memory directly)
    size_t buf_size;
    int fd;                       // file source, or -1
    const unsigned char * src;    // memory source delivered in chunks (tests, fuzzing)
    size_t src_size, src_pos;
    int at_eof;                   // the source has nothing more
    uint64_t win_offset;          // bytes of input before win
    uint64_t win_lines;           // newlines before win
    int depth;
    uint8_t stack[JSON_MAX_DEPTH];
    char key[JSON_KEY_SIZE];      // the last key read by json_next_key (truncated, NUL-terminated)
    size_t key_len;               // its full length in bytes
    char * scratch;               // the last string read (NUL-terminated), number text
    size_t scratch_len, scratch_size;
    const unsigned char * pin;    // start of the number being lexed: kept across refills
    int failed;
    const char * ctx_section;     // error context set by the caller, e.g. "annotations"
    int64_t ctx_index;            // e.g. 12 (-1: none)
    const char * ctx_field;       // e.g. "bbox"
    char name[200];               // file name used in messages
    char err[800];                // name (200) + context (160) + message (256) fit
};

// Open a file (buf_size 0: 1 MiB). Returns 0, or -1 with r->err set (r is still safe to close).
int  json_reader_open(struct json_reader * r, const char * path, size_t buf_size);
// Read from memory without copying.
void json_reader_init_mem(struct json_reader * r, const void * data, size_t size, const char * name);
// Read from memory through the refill path, chunk bytes at a time (to test buffer boundaries).
int  json_reader_init_mem_chunked(struct json_reader * r, const void * data, size_t size,
                                  const char * name, size_t chunk);
void json_reader_close(struct json_reader * r);

// Formats an error at the current position (keeps the first one). Always returns -1.
int  json_reader_fail(struct json_reader * r, const char * fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
uint64_t json_reader_line(const struct json_reader * r);     // 1-based line of the position
uint64_t json_reader_offset(const struct json_reader * r);   // byte offset of the position

// Type of the next value (skips whitespace, consumes nothing).
enum json_type json_peek(struct json_reader * r);
int  json_begin_object(struct json_reader * r);
int  json_next_key(struct json_reader * r);    // 1: key read into r->key, ':' eaten; 0: '}' eaten
int  json_key_is(const struct json_reader * r, const char * key);
int  json_begin_array(struct json_reader * r);
int  json_next_item(struct json_reader * r);   // 1: an element follows; 0: ']' eaten
int  json_read_double(struct json_reader * r, double * v);     // any number, correctly rounded
int  json_read_int64(struct json_reader * r, int64_t * v);     // a number with an integral value
int  json_read_bool(struct json_reader * r, int * v);
int  json_read_null(struct json_reader * r);
// A string: *s points into the reader (valid until the next read), NUL-terminated; *len counts
// bytes (a \u0000 escape can put NULs inside).
int  json_read_string(struct json_reader * r, const char ** s, size_t * len);
int  json_skip_value(struct json_reader * r);  // any value, fully validated
int  json_finish(struct json_reader * r);      // after the top-level value: only whitespace left

// Converts JSON number text (the whole of s[0..n), validated) to the nearest double.
int  json_parse_number(const char * s, size_t n, double * v);

struct json_writer {
    FILE * f;
    int depth;
    uint8_t state[JSON_MAX_DEPTH];   // per open container: object?, has elements?
    int after_key;                   // a key was written; its value comes next
    int pretty_depth;                // containers shallower than this: one element per line
    int failed;                      // misuse or an I/O error
};

void json_writer_init(struct json_writer * w, FILE * f, int pretty_depth);
void json_write_begin_object(struct json_writer * w);
void json_write_end_object(struct json_writer * w);
void json_write_begin_array(struct json_writer * w);
void json_write_end_array(struct json_writer * w);
void json_write_key(struct json_writer * w, const char * key);
void json_write_string(struct json_writer * w, const char * s);   // UTF-8 in, escaped out
void json_write_double(struct json_writer * w, double v);         // shortest exact; NaN -> null
void json_write_int64(struct json_writer * w, int64_t v);
void json_write_bool(struct json_writer * w, int v);
void json_write_null(struct json_writer * w);
// A number already formatted by the caller (must be valid JSON number text; checked).
void json_write_number_text(struct json_writer * w, const char * text, size_t len);
// 0 when every container was closed and nothing failed (flushes f).
int  json_writer_finish(struct json_writer * w);
// The shortest "%.{15,16,17}g" text that reads back to v (v finite). buf: 32 bytes.
int  json_format_double(char * buf, double v);

#endif // COCO_JSON_H
