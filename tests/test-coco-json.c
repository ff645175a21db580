// detector/json: the strict streaming reader (valid and invalid documents, read whole and in
// 1/2/3/7-byte chunks with identical results and messages), exact number conversion against
// strtod, integers, strings and escapes, and the writer (layout, escaping, round trips, misuse).
#include "../detector/json.c"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int n_fail = 0, n_ok = 0;

static void check(int cond, const char * what) {
    if (cond) n_ok++;
    else { n_fail++; printf("FAIL %s\n", what); }
}

// Skips a whole document. Returns 0 or -1 with the message in err.
static int skip_doc(const char * doc, size_t len, size_t chunk, char * err, size_t err_size) {
    struct json_reader r;
    if (chunk == 0) json_reader_init_mem(&r, doc, len, "doc.json");
    else if (json_reader_init_mem_chunked(&r, doc, len, "doc.json", chunk)) { snprintf(err, err_size, "%s", r.err); return -1; }
    int rc = json_skip_value(&r);
    if (rc == 0) rc = json_finish(&r);
    snprintf(err, err_size, "%s", rc ? r.err : "");
    json_reader_close(&r);
    return rc;
}

static const size_t chunks[] = { 0, 1, 2, 3, 7, 4096 };
#define N_CHUNKS (sizeof(chunks) / sizeof(chunks[0]))

static void test_documents(void) {
    static const char * valid[] = {
        "0", "-0", "1.5e+10", "-0.0e-0", "123456789012345678901234567890", "true", "false", "null",
        "\"\"", "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"", "\"\\u00e9\\ud83d\\ude00\\u0000\"", "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"",
        "[]", "{}", " [ 1 , 2 , [ 3 , { } ] , { \"a\" : [ ] } ] ", "{\"a\":1,\"b\":[1,2,{\"c\":null}],\"\":\"\"}",
        "[1,\"x\",2]", "[[1,2],[3,4.5e-3],[]]", "[-1,-2.5,0,0.25]", "\n\t\r [1]\n",
        "{\"segmentation\":[[239.97,260.24,222.04,270.49]],\"area\":2765.1486}",
    };
    static const char * invalid[] = {
        "", " ", "[1,]", "[,1]", "{\"a\":1,}", "{,}", "[1 2]", "{\"a\" 1}", "{\"a\":}", "{a:1}", "{'a':1}",
        "01", "-", "1.", ".5", "+1", "1e", "1e+", "0x10", "1.5.3", "-01", "NaN", "Infinity", "-Infinity", "nul",
        "tru", "falsey", "\"abc", "\"a\x01\"", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"",
        "\"\xff\"", "\"\xc0\xaf\"", "\"\xe0\x80\xaf\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xc3\"",
        "[1]]", "[1] [2]", "{} x", "[", "{", "{\"a\":[1,2}", "[1,[2,3]", "// c\n1", "/* c */ 1", "[1,2,]",
        "[1.]", "[-]", "[01]", "[1.5e]", "[1e+]", "[--1]", "[1.2.3]", "[0.1x]", "[12345678901234567890123.5e]",
        "[1,[2],]", "\x00", "[1,\x00]", "\"\t\"",
    };
    char e0[1024], e1[1024];
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        for (size_t c = 0; c < N_CHUNKS; c++) {
            int rc = skip_doc(valid[i], strlen(valid[i]), chunks[c], e0, sizeof(e0));
            if (rc) printf("  valid doc %zu chunk %zu: %s\n", i, chunks[c], e0);
            check(rc == 0, "valid document accepted");
        }
    }
    size_t lens[sizeof(invalid) / sizeof(invalid[0])];
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        // documents with an embedded NUL: length up to the closing bracket
        lens[i] = strlen(invalid[i]);
        if (i == sizeof(invalid) / sizeof(invalid[0]) - 3) lens[i] = 1;
        if (i == sizeof(invalid) / sizeof(invalid[0]) - 2) lens[i] = 5;
        int rc0 = skip_doc(invalid[i], lens[i], 0, e0, sizeof(e0));
        check(rc0 != 0, "invalid document rejected");
        if (rc0 == 0) printf("  invalid doc %zu accepted: %s\n", i, invalid[i]);
        check(strncmp(e0, "doc.json:1: ", 12) == 0 && strchr(e0, '\n') == NULL, "error is one line naming the file and line");
        for (size_t c = 1; c < N_CHUNKS; c++) {
            int rc = skip_doc(invalid[i], lens[i], chunks[c], e1, sizeof(e1));
            check(rc != 0 && strcmp(e0, e1) == 0, "same error whatever the chunk size");
            if (strcmp(e0, e1) != 0) printf("  doc %zu chunk %zu: '%s' vs '%s'\n", i, chunks[c], e0, e1);
        }
    }
    // line numbers and context in messages
    {
        const char * doc = "{\n  \"a\": [1,\n  2,\n  x]\n}";
        skip_doc(doc, strlen(doc), 3, e0, sizeof(e0));
        check(strncmp(e0, "doc.json:4: expected a value, got 'x'", 37) == 0, "error names line 4");
        printf("  message: %s\n", e0);
    }
    // nesting: deep but allowed, and too deep
    {
        char doc[2 * JSON_MAX_DEPTH + 10];
        int d = JSON_MAX_DEPTH;
        for (int i = 0; i < d; i++) doc[i] = '[';
        for (int i = 0; i < d; i++) doc[d + i] = ']';
        doc[2 * d] = 0;
        check(skip_doc(doc, strlen(doc), 0, e0, sizeof(e0)) == 0, "nesting of JSON_MAX_DEPTH accepted");
        doc[0] = '['; memmove(doc + 1, doc, 2 * (size_t) d + 1); doc[0] = '['; doc[2 * d + 1] = ']'; doc[2 * d + 2] = 0;
        check(skip_doc(doc, strlen(doc), 0, e0, sizeof(e0)) != 0 && strstr(e0, "nesting") != NULL, "deeper nesting rejected");
    }
}

static int read_double_text(const char * s, double * v, size_t chunk) {
    struct json_reader r;
    if (chunk) json_reader_init_mem_chunked(&r, s, strlen(s), "n", chunk);
    else json_reader_init_mem(&r, s, strlen(s), "n");
    int rc = json_read_double(&r, v);
    if (rc == 0) rc = json_finish(&r);
    json_reader_close(&r);
    return rc;
}

// The same number inside an array ("[n]", "[n,0]"): the reader's in-window fast path.
static int read_double_in_array(const char * s, double * v, size_t chunk) {
    char doc[160];
    snprintf(doc, sizeof(doc), "[%s,0]", s);
    struct json_reader r;
    if (chunk) json_reader_init_mem_chunked(&r, doc, strlen(doc), "n", chunk);
    else json_reader_init_mem(&r, doc, strlen(doc), "n");
    double zero = 1;
    int rc = json_begin_array(&r) || json_next_item(&r) != 1 || json_read_double(&r, v) || json_next_item(&r) != 1 ||
             json_read_double(&r, &zero) || json_next_item(&r) != 0 || json_finish(&r) || zero != 0;
    json_reader_close(&r);
    return rc;
}

static uint64_t rng_state = 12345;
static uint64_t rng(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void test_numbers(void) {
    static const char * fixed[] = {
        "0", "-0", "1", "-1", "0.1", "0.2", "0.3", "1e22", "1e23", "9007199254740993", "9007199254740992",
        "2.2250738585072011e-308", "2.2250738585072012e-308", "4.9e-324", "2e-324", "1.7976931348623157e308",
        "1.7976931348623158e308", "1e309", "1e-400", "123456789012345678901234567890.123e-10",
        "0.000000000000000000000000000001", "3.141592653589793238462643383279", "239.97", "0.8999999999999999",
        "12345678901234567890", "1234567890123456789", "100000000000000000000000", "0.1e1", "5e-1", "7.0e+0",
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        double v, want = strtod(fixed[i], NULL);
        for (size_t c = 0; c < N_CHUNKS; c++) {
            if (read_double_text(fixed[i], &v, chunks[c]) != 0 || memcmp(&v, &want, sizeof(v)) != 0) {
                bad++;
                printf("  %s: got %.17g want %.17g\n", fixed[i], v, want);
            }
            if (read_double_in_array(fixed[i], &v, chunks[c]) != 0 || memcmp(&v, &want, sizeof(v)) != 0) {
                bad++;
                printf("  [%s]: got %.17g want %.17g\n", fixed[i], v, want);
            }
        }
    }
    // random doubles in several formats, random digit strings
    char buf[128];
    for (int i = 0; i < 200000; i++) {
        uint64_t bits = rng();
        double x;
        memcpy(&x, &bits, sizeof(x));
        if (!isfinite(x)) continue;
        switch (i % 5) {
            case 0: snprintf(buf, sizeof(buf), "%.17g", x); break;
            case 1: snprintf(buf, sizeof(buf), "%.6g", x); break;
            case 2: snprintf(buf, sizeof(buf), "%.2f", (double) (int64_t) (rng() % 100000000) / 100.0); break;
            case 3: snprintf(buf, sizeof(buf), "%.15e", ldexp((double) (rng() >> 11), (int) (rng() % 200) - 150)); break;
            default: {
                int n = 1 + (int) (rng() % 30), o = 0;
                if (rng() & 1) buf[o++] = '-';
                buf[o++] = (char) ('1' + rng() % 9);
                for (int k = 1; k < n; k++) buf[o++] = (char) ('0' + rng() % 10);
                if (rng() & 1) { buf[o++] = '.'; for (int k = 0; k < 1 + (int) (rng() % 25); k++) buf[o++] = (char) ('0' + rng() % 10); }
                if (rng() & 1) o += snprintf(buf + o, sizeof(buf) - (size_t) o, "e%d", (int) (rng() % 700) - 350);
                buf[o] = 0;
            }
        }
        // C's %g may write "inf"/"1e+300"; only JSON-valid text is tested
        double v, want = strtod(buf, NULL);
        if (read_double_text(buf, &v, 0) != 0 || memcmp(&v, &want, sizeof(v)) != 0) {
            if (bad < 10) printf("  %s: got %.17g want %.17g\n", buf, v, want);
            bad++;
        }
        if (read_double_in_array(buf, &v, i % 3 == 0 ? 5 : 0) != 0 || memcmp(&v, &want, sizeof(v)) != 0) {
            if (bad < 10) printf("  [%s]: got %.17g want %.17g\n", buf, v, want);
            bad++;
        }
    }
    // invalid numbers read as numbers: rejected, with the same message whole and chunked
    static const char * badnum[] = { "1.", "-", "01", "1.5e", "1e+", "--1", "-.5", "1.2.3", "0.1x", ".5", "+1", "1e5.5",
                                     "123456789012345678901234.5e", "-01.5", "0.0.", "1.e3" };
    for (size_t i = 0; i < sizeof(badnum) / sizeof(badnum[0]); i++) {
        char msg[2][1024];
        for (int c = 0; c < 2; c++) {
            char doc[64];
            snprintf(doc, sizeof(doc), "[%s,0]", badnum[i]);
            struct json_reader r;
            if (c) json_reader_init_mem_chunked(&r, doc, strlen(doc), "n", 1);
            else json_reader_init_mem(&r, doc, strlen(doc), "n");
            double v, z;
            int rc = json_begin_array(&r) || json_next_item(&r) != 1 || json_read_double(&r, &v) ||
                     json_next_item(&r) != 1 || json_read_double(&r, &z) || json_next_item(&r) != 0;
            snprintf(msg[c], sizeof(msg[c]), "%s", rc ? r.err : "(accepted)");
            json_reader_close(&r);
        }
        int ok = strcmp(msg[0], "(accepted)") != 0 && strcmp(msg[0], msg[1]) == 0;
        if (!ok) printf("  [%s,0]: '%s' vs '%s'\n", badnum[i], msg[0], msg[1]);
        check(ok, "invalid number rejected the same way whole and chunked");
    }
    printf("  numbers: %d mismatches against strtod\n", bad);
    check(bad == 0, "numbers convert exactly as strtod");

    // integers
    struct { const char * s; int ok; int64_t v; } ints[] = {
        { "0", 1, 0 }, { "-0", 1, 0 }, { "42", 1, 42 }, { "9223372036854775807", 1, INT64_MAX },
        { "-9223372036854775808", 1, INT64_MIN }, { "9223372036854775808", 0, 0 }, { "-9223372036854775809", 0, 0 },
        { "99999999999999999999999", 0, 0 }, { "1e3", 1, 1000 }, { "12.0", 1, 12 }, { "1.5", 0, 0 },
        { "1e300", 0, 0 }, { "\"1\"", 0, 0 }, { "true", 0, 0 },
    };
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        char first[1024] = "";
        for (size_t c = 0; c < N_CHUNKS; c++) {
            struct json_reader r;
            if (chunks[c]) json_reader_init_mem_chunked(&r, ints[i].s, strlen(ints[i].s), "i", chunks[c]);
            else json_reader_init_mem(&r, ints[i].s, strlen(ints[i].s), "i");
            int64_t v = -7;
            int rc = json_read_int64(&r, &v);
            if (c == 0) snprintf(first, sizeof(first), "%s", r.err);
            int same_msg = strcmp(first, r.err) == 0;
            json_reader_close(&r);
            check((rc == 0) == ints[i].ok && (!ints[i].ok || v == ints[i].v) && same_msg, "integer read, whole and chunked");
            if ((rc == 0) != ints[i].ok || !same_msg) printf("  int %s chunk %zu: rc %d v %lld '%s'\n", ints[i].s, chunks[c], rc, (long long) v, first);
        }
    }
    {   // the message quotes the number, even when it spans refills
        struct json_reader r;
        const char * big = "123456789012345678901234567890";
        json_reader_init_mem_chunked(&r, big, strlen(big), "i", 3);
        int64_t v;
        check(json_read_int64(&r, &v) != 0 && strstr(r.err, "integer 123456789012345678901234567890 is out of range") != NULL,
              "out-of-range message quotes the whole number");
        json_reader_close(&r);
    }
}

static void test_strings_and_keys(void) {
    const char * doc = "{\"name\":\"caf\\u00e9\\ud83d\\ude00\\u0000!\",\"a_key_that_is_much_longer_than_the_sixty_four_byte_key_buffer_of_the_reader\":1,"
                       "\"id\\u0000\":2,\"id\":3,\"\\u0069d\":4}";
    for (size_t c = 0; c < N_CHUNKS; c++) {
        struct json_reader r;
        if (chunks[c]) json_reader_init_mem_chunked(&r, doc, strlen(doc), "s", chunks[c]);
        else json_reader_init_mem(&r, doc, strlen(doc), "s");
        int ok = json_begin_object(&r) == 0;
        int ids = 0, k;
        while (ok && (k = json_next_key(&r)) == 1) {
            if (json_key_is(&r, "name")) {
                const char * s; size_t n;
                ok = json_read_string(&r, &s, &n) == 0 && n == 11 && memcmp(s, "caf\xc3\xa9\xf0\x9f\x98\x80\0!", 11) == 0;
            } else if (json_key_is(&r, "id")) {
                int64_t v;
                ok = json_read_int64(&r, &v) == 0 && (v == 3 || v == 4);
                ids++;
            } else {
                ok = json_skip_value(&r) == 0;
            }
        }
        ok = ok && k == 0 && json_finish(&r) == 0 && ids == 2;
        if (!ok) printf("  chunk %zu: %s\n", chunks[c], r.err);
        check(ok, "strings, escapes and keys (NUL inside a key never matches)");
        json_reader_close(&r);
    }
    // type errors name what was found, with the caller's context
    struct json_reader r;
    const char * d2 = "[\"x\"]";
    json_reader_init_mem(&r, d2, strlen(d2), "f.json");
    r.ctx_section = "annotations"; r.ctx_index = 7; r.ctx_field = "bbox";
    double v;
    check(json_begin_array(&r) == 0 && json_next_item(&r) == 1 && json_read_double(&r, &v) != 0 &&
          strcmp(r.err, "f.json:1: annotations[7].bbox: expected a number, got a string (byte 1)") == 0, "typed error with context");
    printf("  message: %s\n", r.err);
    json_reader_close(&r);
}

static void test_writer(void) {
    char * buf = NULL;
    size_t len = 0;
    FILE * f = open_memstream(&buf, &len);
    struct json_writer w;
    json_writer_init(&w, f, 1);
    json_write_begin_object(&w);
    json_write_key(&w, "s");    json_write_string(&w, "q\"b\\n\n\t\x01\x7f caf\xc3\xa9");
    json_write_key(&w, "d");    json_write_double(&w, 0.1);
    json_write_key(&w, "third"); json_write_double(&w, 1.0 / 3.0);
    json_write_key(&w, "nan");  json_write_double(&w, NAN);
    json_write_key(&w, "inf");  json_write_double(&w, -INFINITY);
    json_write_key(&w, "i");    json_write_int64(&w, INT64_MIN);
    json_write_key(&w, "b");    json_write_bool(&w, 1);
    json_write_key(&w, "n");    json_write_null(&w);
    json_write_key(&w, "a");
    json_write_begin_array(&w);
    json_write_number_text(&w, "12.50", 5);
    json_write_begin_object(&w); json_write_end_object(&w);
    json_write_begin_array(&w); json_write_end_array(&w);
    json_write_end_array(&w);
    json_write_end_object(&w);
    int rc = json_writer_finish(&w);
    fclose(f);
    const char * want = "{\n  \"s\":\"q\\\"b\\\\n\\n\\t\\u0001\\u007f caf\xc3\xa9\",\n  \"d\":0.1,\n  \"third\":0.3333333333333333,\n"
                        "  \"nan\":null,\n  \"inf\":null,\n  \"i\":-9223372036854775808,\n  \"b\":true,\n  \"n\":null,\n"
                        "  \"a\":[12.50,{},[]]\n}";
    check(rc == 0 && strcmp(buf, want) == 0, "writer output");
    if (strcmp(buf, want) != 0) printf("  got:\n%s\n", buf);
    char err[1024];
    check(skip_doc(buf, len, 1, err, sizeof(err)) == 0, "writer output reads back strictly");
    free(buf);

    // doubles round trip exactly, strings of every byte round trip
    int bad = 0;
    for (int i = 0; i < 100000; i++) {
        uint64_t bits = rng();
        double x;
        memcpy(&x, &bits, sizeof(x));
        if (!isfinite(x)) continue;
        char t[32];
        int n = json_format_double(t, x);
        double y;
        if (json_parse_number(t, (size_t) n, &y) != 0 || memcmp(&x, &y, sizeof(x)) != 0) bad++;
    }
    check(bad == 0, "json_format_double round trips through the reader");
    char s[128];
    for (int c = 1; c < 128; c++) s[c - 1] = (char) c;
    s[127] = 0;
    f = open_memstream(&buf, &len);
    json_writer_init(&w, f, 0);
    json_write_string(&w, s);
    rc = json_writer_finish(&w);
    fclose(f);
    struct json_reader r;
    json_reader_init_mem(&r, buf, len, "w");
    const char * back; size_t bl;
    check(rc == 0 && json_read_string(&r, &back, &bl) == 0 && bl == 127 && memcmp(back, s, 127) == 0, "every ASCII byte round trips");
    json_reader_close(&r);
    free(buf);

    // misuse and invalid input make finish fail
    struct { int what; } cases[] = { { 0 }, { 1 }, { 2 }, { 3 }, { 4 }, { 5 } };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        f = open_memstream(&buf, &len);
        json_writer_init(&w, f, 0);
        switch (cases[i].what) {
            case 0: json_write_begin_object(&w); json_write_int64(&w, 1); json_write_end_object(&w); break;  // value without key
            case 1: json_write_begin_array(&w); break;                                                       // unclosed
            case 2: json_write_int64(&w, 1); json_write_int64(&w, 2); break;                                   // two top-level values
            case 3: json_write_begin_array(&w); json_write_key(&w, "k"); json_write_end_array(&w); break;       // key in array
            case 4: json_write_string(&w, "\xff"); break;                                                     // not UTF-8
            case 5: json_write_begin_array(&w); json_write_number_text(&w, "01", 2); json_write_end_array(&w); break;
        }
        check(json_writer_finish(&w) != 0, "writer misuse is reported");
        fclose(f);
        free(buf);
    }
}

int main(void) {
    test_documents();
    test_numbers();
    test_strings_and_keys();
    test_writer();
    printf("%s: %d checks OK, %d FAIL\n", n_fail ? "FAIL" : "OK", n_ok, n_fail);
    return n_fail ? 1 : 0;
}
