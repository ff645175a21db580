// libFuzzer harness for detector/json, coco, coco-results and coco-eval. Not part of make test.
//
//     clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -I. \
//           tests/fuzz/fuzz-coco.c -o /tmp/fuzz-coco -lm
//     mkdir -p /tmp/fuzz-corpus
//     /tmp/fuzz-coco -dict=tests/fuzz/coco.dict -max_len=4096 -max_total_time=1800 /tmp/fuzz-corpus tests/fuzz/corpus
//
// The first byte picks the target ('0'..'3', i.e. its value mod 4), the rest is its input:
//   0  JSON: the whole document skipped from memory and through 1..5-byte chunks must give the
//      same verdict and message; an accepted document is re-encoded by the writer, and the
//      re-encoding must read back and re-encode to the same bytes.
//   1  an annotation file; when it loads, it is evaluated with no detections.
//   2  an annotation file, a NUL byte, a results file; when both load: evaluated (both oLRP
//      definitions) fast and naive, which must agree bit for bit; the summary numbers must be
//      -1 or within [0, 1]; the results are written and read back unchanged.
//   3  a number: json_parse_number must accept exactly the JSON grammar and agree with strtod,
//      alone and inside an array (the reader's in-window fast path).
#include "../../detector/json.c"
#include "../../detector/coco.c"
#include "../../detector/coco-results.c"
#include "../../detector/coco-eval.c"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_ASSERT(c) do { if (!(c)) { fprintf(stderr, "assertion failed: %s (line %d)\n", #c, __LINE__); abort(); } } while (0)

// Copies the value at r to w, recursively. 0 or -1 (reader error).
static int reencode(struct json_reader * r, struct json_writer * w, int depth) {
    const char * s;
    size_t n;
    double v;
    int b, k;
    switch (json_peek(r)) {
        case JSON_OBJECT:
            if (json_begin_object(r)) return -1;
            json_write_begin_object(w);
            while ((k = json_next_key(r)) == 1) {
                // keys with a NUL byte cannot go through the C-string writer: skip the member
                if (strlen(r->scratch) != r->key_len) { if (json_skip_value(r)) return -1; continue; }
                json_write_key(w, r->scratch);
                if (reencode(r, w, depth + 1)) return -1;
            }
            json_write_end_object(w);
            return k < 0 ? -1 : 0;
        case JSON_ARRAY:
            if (json_begin_array(r)) return -1;
            json_write_begin_array(w);
            while ((k = json_next_item(r)) == 1) if (reencode(r, w, depth + 1)) return -1;
            json_write_end_array(w);
            return k < 0 ? -1 : 0;
        case JSON_STRING:
            if (json_read_string(r, &s, &n)) return -1;
            if (strlen(s) != n) json_write_null(w); else json_write_string(w, s);
            return 0;
        case JSON_NUMBER:
            if (json_read_double(r, &v)) return -1;
            json_write_double(w, v);
            return 0;
        case JSON_TRUE: case JSON_FALSE:
            if (json_read_bool(r, &b)) return -1;
            json_write_bool(w, b);
            return 0;
        case JSON_NULL:
            if (json_read_null(r)) return -1;
            json_write_null(w);
            return 0;
        default:
            return -1;
    }
}

static char * reencode_doc(const char * doc, size_t len, size_t * out_len, int * ok) {
    char * buf = NULL;
    FILE * f = open_memstream(&buf, out_len);
    struct json_writer w;
    json_writer_init(&w, f, 1);
    struct json_reader r;
    json_reader_init_mem(&r, doc, len, "in");
    *ok = reencode(&r, &w, 0) == 0 && json_finish(&r) == 0;
    int wrc = json_writer_finish(&w);
    json_reader_close(&r);
    fclose(f);
    FUZZ_ASSERT(!*ok || wrc == 0);
    return buf;
}

static void fuzz_json(const uint8_t * data, size_t size) {
    struct json_reader a, b;
    json_reader_init_mem(&a, data, size, "f");
    int ra = json_skip_value(&a);
    if (ra == 0) ra = json_finish(&a);
    size_t chunk = 1 + size % 5;
    FUZZ_ASSERT(json_reader_init_mem_chunked(&b, data, size, "f", chunk) == 0);
    int rb = json_skip_value(&b);
    if (rb == 0) rb = json_finish(&b);
    FUZZ_ASSERT(ra == rb);
    FUZZ_ASSERT(ra == 0 || strcmp(a.err, b.err) == 0);
    FUZZ_ASSERT(ra == 0 || strchr(a.err, '\n') == NULL);
    json_reader_close(&a);
    json_reader_close(&b);
    if (ra != 0) return;
    size_t l1, l2;
    int ok1, ok2;
    char * e1 = reencode_doc((const char *) data, size, &l1, &ok1);
    FUZZ_ASSERT(ok1);
    char * e2 = reencode_doc(e1, l1, &l2, &ok2);
    FUZZ_ASSERT(ok2 && l1 == l2 && memcmp(e1, e2, l1) == 0);
    free(e1);
    free(e2);
}

static void check_result(const struct coco_eval_result * r) {
    for (int i = 0; i < COCO_STAT_COUNT; i++) FUZZ_ASSERT(r->stats[i] == -1.0 || (r->stats[i] >= 0 && r->stats[i] <= 1));
    for (int t = 0; t < COCO_EVAL_T; t++) FUZZ_ASSERT(r->ap_per_iou[t] == -1.0 || (r->ap_per_iou[t] >= 0 && r->ap_per_iou[t] <= 1));
}

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof(a)) == 0 || (a != a && b != b); }

static void fuzz_eval(const struct coco_dataset * gt, const struct coco_results * dt) {
    char err[1024];
    for (int mode = 0; mode <= 1; mode++) {
        struct coco_eval_result r[2];
        for (int naive = 0; naive <= 1; naive++) {
            struct coco_eval_params p = { (enum coco_olrp_mode) mode, naive };
            FUZZ_ASSERT(coco_eval(&r[naive], gt, dt, &p, err, sizeof(err)) == 0);
            check_result(&r[naive]);
        }
        const int64_t K = r[0].n_classes;
        size_t np = (size_t) COCO_EVAL_T * COCO_EVAL_R * (size_t) K * COCO_EVAL_A * COCO_EVAL_M;
        size_t nr = (size_t) COCO_EVAL_T * (size_t) K * COCO_EVAL_A * COCO_EVAL_M;
        FUZZ_ASSERT(memcmp(r[0].precision, r[1].precision, np * sizeof(double)) == 0);
        FUZZ_ASSERT(memcmp(r[0].recall, r[1].recall, nr * sizeof(double)) == 0);
        for (int64_t k = 0; k < K; k++) {
            FUZZ_ASSERT(same_bits(r[0].classes[k].olrp, r[1].classes[k].olrp));
            FUZZ_ASSERT(same_bits(r[0].classes[k].olrp_loc, r[1].classes[k].olrp_loc));
            FUZZ_ASSERT(same_bits(r[0].classes[k].olrp_fp, r[1].classes[k].olrp_fp));
            FUZZ_ASSERT(same_bits(r[0].classes[k].olrp_fn, r[1].classes[k].olrp_fn));
        }
        coco_eval_result_free(&r[0]);
        coco_eval_result_free(&r[1]);
    }
}

static void fuzz_coco(const uint8_t * data, size_t size, int with_dets) {
    size_t gl = size;
    const uint8_t * d = NULL;
    size_t dl = 0;
    if (with_dets) {
        const uint8_t * z = (const uint8_t *) memchr(data, 0, size);
        if (!z) return;
        gl = (size_t) (z - data);
        d = z + 1;
        dl = size - gl - 1;
    }
    char err[1024];
    struct coco_dataset gt;
    if (coco_dataset_load_mem(&gt, data, gl, "gt.json", err, sizeof(err)) != 0) {
        FUZZ_ASSERT(strchr(err, '\n') == NULL && strncmp(err, "gt.json", 7) == 0);
        return;
    }
    struct coco_results dt;
    if (!with_dets) {
        memset(&dt, 0, sizeof(dt));
        fuzz_eval(&gt, &dt);
    } else if (coco_results_load_mem(&dt, d, dl, "dt.json", &gt, err, sizeof(err)) != 0) {
        FUZZ_ASSERT(strchr(err, '\n') == NULL && strncmp(err, "dt.json", 7) == 0);
    } else {
        fuzz_eval(&gt, &dt);
        char * buf = NULL;
        size_t len = 0;
        FILE * f = open_memstream(&buf, &len);
        int wrc = coco_results_write_file(f, dt.dets, dt.n);
        fclose(f);
        FUZZ_ASSERT(wrc == 0);
        struct coco_results back;
        FUZZ_ASSERT(coco_results_load_mem(&back, buf, len, "back", &gt, err, sizeof(err)) == 0);
        FUZZ_ASSERT(back.n == dt.n);
        for (int64_t i = 0; i < dt.n; i++) {
            FUZZ_ASSERT(back.dets[i].image == dt.dets[i].image && back.dets[i].category == dt.dets[i].category);
            FUZZ_ASSERT(memcmp(back.dets[i].bbox, dt.dets[i].bbox, sizeof(dt.dets[i].bbox)) == 0);
            FUZZ_ASSERT(same_bits(back.dets[i].score, dt.dets[i].score));
        }
        coco_results_free(&back);
        free(buf);
        coco_results_free(&dt);
    }
    coco_dataset_free(&gt);
}

static void fuzz_number(const uint8_t * data, size_t size) {
    if (size > 400) return;
    char s[401];
    memcpy(s, data, size);
    s[size] = 0;
    double v;
    int ok = json_parse_number(s, size, &v) == 0;
    FUZZ_ASSERT(ok == json__number_text_ok(s, size));
    if (ok) {
        double w = strtod(s, NULL);
        FUZZ_ASSERT(memcmp(&v, &w, sizeof(v)) == 0);
    }
    // inside an array: the reader's in-window fast path must agree with the general one
    char doc[410];
    snprintf(doc, sizeof(doc), "[%s]", s);
    struct json_reader r;
    json_reader_init_mem(&r, doc, size + 2, "n");
    double u = 0;
    int rok = json_begin_array(&r) == 0 && json_next_item(&r) == 1 && json_read_double(&r, &u) == 0 &&
              json_next_item(&r) == 0 && json_finish(&r) == 0;
    json_reader_close(&r);
    // (a valid number is valid in an array; the converse fails for e.g. "3 " which is valid there)
    FUZZ_ASSERT(!ok || (rok && memcmp(&u, &v, sizeof(v)) == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    if (size < 1) return 0;
    int target = data[0] % 4;
    data++;
    size--;
    switch (target) {
        case 0: fuzz_json(data, size); break;
        case 1: fuzz_coco(data, size, 0); break;
        case 2: fuzz_coco(data, size, 1); break;
        default: fuzz_number(data, size); break;
    }
    return 0;
}
