// detector/coco-eval: hand-computed cases for each rule of pycocotools' bbox evaluation and of
// oLRP, a cross-check against tools/coco_eval_ref.py's numbers for the generated case
// (tests/data/coco/ref-small*.json, see tests/data/coco/README.md), and the fast accumulation
// against the naive pycocotools-shaped one (bit for bit) on several generated cases.
#include "../detector/json.c"
#include "../detector/coco.c"
#include "../detector/coco-results.c"
#include "../detector/coco-eval.c"
#include "../tools/coco-gen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int n_fail = 0, n_ok = 0;

#define SKIP 1234.5     // an expected value that is not checked
#define TOL  1e-12      // hand cases: exact rationals, up to the eps in tp / (fp + tp + eps)

static void check(int cond, const char * what) {
    if (cond) n_ok++;
    else { n_fail++; printf("FAIL %s\n", what); }
}

// |a - b| with NaN == NaN; a SKIP want is 0.
static double diff(double got, double want) {
    if (want == SKIP) return 0.0;
    if (isnan(want) || isnan(got)) return isnan(want) && isnan(got) ? 0.0 : INFINITY;
    return fabs(got - want);
}

static int evaluate(const char * gt_json, const char * dt_json, enum coco_olrp_mode mode, int naive,
                    struct coco_dataset * gt, struct coco_results * dt, struct coco_eval_result * res) {
    char err[1024];
    if (coco_dataset_load_mem(gt, gt_json, strlen(gt_json), "gt.json", err, sizeof(err))) { printf("  %s\n", err); return -1; }
    if (coco_results_load_mem(dt, dt_json, strlen(dt_json), "dt.json", gt, err, sizeof(err))) {
        printf("  %s\n", err);
        coco_dataset_free(gt);
        return -1;
    }
    struct coco_eval_params p = { mode, naive };
    if (coco_eval(res, gt, dt, &p, err, sizeof(err))) {
        printf("  %s\n", err);
        coco_results_free(dt);
        coco_dataset_free(gt);
        return -1;
    }
    return 0;
}

// want: the 12 stats, then oLRP, loc, FP, FN (NaN: undefined).
static void hand_case(const char * name, const char * gt_json, const char * dt_json, enum coco_olrp_mode mode,
                      const double want[16]) {
    struct coco_dataset gt;
    struct coco_results dt;
    struct coco_eval_result res;
    for (int naive = 0; naive <= 1; naive++) {
        if (evaluate(gt_json, dt_json, mode, naive, &gt, &dt, &res)) { check(0, name); return; }
        const double got[16] = {
            res.stats[0], res.stats[1], res.stats[2], res.stats[3], res.stats[4], res.stats[5], res.stats[6],
            res.stats[7], res.stats[8], res.stats[9], res.stats[10], res.stats[11],
            res.olrp, res.olrp_loc, res.olrp_fp, res.olrp_fn,
        };
        static const char * names[16] = { "AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs",
                                          "ARm", "ARl", "oLRP", "oLRP_loc", "oLRP_FP", "oLRP_FN" };
        double maxerr = 0;
        for (int i = 0; i < 16; i++) {
            double d = diff(got[i], want[i]);
            if (d > maxerr) maxerr = d;
            if (d > TOL) printf("  %s: %s = %.17g, want %.17g\n", name, names[i], got[i], want[i]);
        }
        printf("%s %-44s %s max error %.3g\n", maxerr <= TOL ? "OK  " : "FAIL", name, naive ? "(naive)" : "(fast) ", maxerr);
        check(maxerr <= TOL, name);
        coco_eval_result_free(&res);
        coco_results_free(&dt);
        coco_dataset_free(&gt);
    }
}

#define IMG(id) "{\"id\":" #id ",\"width\":640,\"height\":480}"
#define CAT(id) "{\"id\":" #id ",\"name\":\"c" #id "\"}"
#define ANN(id, img, cat, x, y, w, h, area, crowd) \
    "{\"id\":" #id ",\"image_id\":" #img ",\"category_id\":" #cat ",\"bbox\":[" #x "," #y "," #w "," #h "],\"area\":" #area ",\"iscrowd\":" #crowd "}"
#define DET(img, cat, x, y, w, h, score) \
    "{\"image_id\":" #img ",\"category_id\":" #cat ",\"bbox\":[" #x "," #y "," #w "," #h "],\"score\":" #score "}"

static void test_hand_cases(void) {
    const double U = NAN;
    // A. One perfect detection of a small object. Medium/large have no gt: -1.
    hand_case("perfect match",
        "{\"images\":[" IMG(1) "],\"categories\":[" CAT(1) "],\"annotations\":[" ANN(1, 1, 1, 10, 10, 20, 20, 400, 0) "]}",
        "[" DET(1, 1, 10, 10, 20, 20, 0.9) "]", COCO_OLRP_SCORES,
        (const double[16]) { 1, 1, 1, 1, -1, -1, 1, 1, 1, 1, -1, -1, 0, 0, 0, 0 });

    // B. Duplicate detections: TP, duplicate (FP), TP. pr = 1, 1/2, 2/3 at recall .5, .5, 1;
    // envelope 1, 2/3, 2/3: 51 recall points at 1, 50 at 2/3 -> AP = 253/303 at every IoU.
    // AR1: only the first detection -> 1/2. oLRP: best after all three: (0 + 1 + 0)/3.
    const double b = 253.0 / 303.0;
    hand_case("duplicate detections",
        "{\"images\":[" IMG(1) "],\"categories\":[" CAT(1) "],\"annotations\":["
            ANN(1, 1, 1, 0, 0, 10, 10, 100, 0) "," ANN(2, 1, 1, 20, 0, 10, 10, 100, 0) "]}",
        "[" DET(1, 1, 0, 0, 10, 10, 0.9) "," DET(1, 1, 0, 0, 10, 10, 0.8) "," DET(1, 1, 20, 0, 10, 10, 0.7) "]",
        COCO_OLRP_SCORES, (const double[16]) { b, b, b, b, -1, -1, 0.5, 1, 1, 1, -1, -1, 1.0 / 3, 0, 1.0 / 3, 0 });

    // C. Crowd: D1 lies inside the crowd box (IoU = 400/400 with the det's area as denominator)
    // and is ignored, not a FP; D4 covers the crowd by exactly 0.5 of its own area, so it is
    // ignored at IoU .50 and a FP above. Order D1 ign, D4, D2 TP, D3 FP:
    // IoU .50: ign ign TP FP -> AP 1; IoU >= .55: ign FP TP FP -> envelope 1/2 -> AP 1/2.
    // AP = (1 + 9/2)/10 = .55. AR1: only D1 (ignored) -> 0. oLRP: 0 after D2.
    hand_case("crowd match",
        "{\"images\":[" IMG(1) "],\"categories\":[" CAT(1) "],\"annotations\":["
            ANN(1, 1, 1, 0, 0, 100, 100, 10000, 1) "," ANN(2, 1, 1, 200, 200, 10, 10, 100, 0) "]}",
        "[" DET(1, 1, 10, 10, 20, 20, 0.9) "," DET(1, 1, 80, 0, 40, 20, 0.85) "," DET(1, 1, 200, 200, 10, 10, 0.8) ","
            DET(1, 1, 300, 300, 10, 10, 0.7) "]",
        COCO_OLRP_SCORES, (const double[16]) { 0.55, 1, 0.5, 0.55, -1, -1, 0, 1, 1, 1, -1, -1, 0, 0, 0, 0 });

    // D. Area ranges are inclusive at both ends. G1 area exactly 32^2, G2 exactly 96^2; D3 is an
    // unmatched 32x32 FP with the top score. all/medium: FP TP TP -> 2/3. small: G2 ignored,
    // D3 (area 1024) counts, D2 matches the ignored G2 -> FP TP ign -> 1/2. large: G1 ignored,
    // D3 out of range and unmatched -> ignored, D1 matches ignored G1 -> ign ign TP -> 1.
    const double t3 = 2.0 / 3;
    hand_case("area-range edges",
        "{\"images\":[" IMG(1) "],\"categories\":[" CAT(1) "],\"annotations\":["
            ANN(1, 1, 1, 0, 0, 32, 32, 1024, 0) "," ANN(2, 1, 1, 100, 100, 96, 96, 9216, 0) "]}",
        "[" DET(1, 1, 300, 300, 32, 32, 0.95) "," DET(1, 1, 0, 0, 32, 32, 0.9) "," DET(1, 1, 100, 100, 96, 96, 0.8) "]",
        COCO_OLRP_SCORES, (const double[16]) { t3, t3, t3, 0.5, t3, 1, 0, 1, 1, 1, 1, 1, 1.0 / 3, 0, 1.0 / 3, 0 });

    // E. Categories listed out of order, with gaps: 1 has a perfect detection (AP 1), 5 has a gt
    // and no detection (AP 0, counted), 3 has a detection and no gt (-1, not counted), 7 has
    // nothing (-1). AP = 1/2. oLRP: 0 and 1 -> 1/2; loc/FP: only category 1 is defined.
    const char * gt_e = "{\"images\":[" IMG(1) "],\"categories\":[" CAT(5) "," CAT(1) "," CAT(7) "," CAT(3) "],\"annotations\":["
            ANN(1, 1, 1, 0, 0, 10, 10, 100, 0) "," ANN(2, 1, 5, 20, 20, 10, 10, 100, 0) "]}";
    const char * dt_e = "[" DET(1, 1, 0, 0, 10, 10, 0.9) "," DET(1, 3, 50, 50, 10, 10, 0.8) "]";
    hand_case("class with no detections, class with no gt", gt_e, dt_e, COCO_OLRP_SCORES,
        (const double[16]) { 0.5, 0.5, 0.5, 0.5, -1, -1, 0.5, 0.5, 0.5, 0.5, -1, -1, 0.5, 0, 0, 0.5 });
    {
        struct coco_dataset gt; struct coco_results dt; struct coco_eval_result res;
        if (evaluate(gt_e, dt_e, COCO_OLRP_SCORES, 0, &gt, &dt, &res) == 0) {
            const struct coco_eval_class * c = res.classes;
            int ok = res.n_classes == 4 && c[0].category_id == 1 && c[1].category_id == 3 && c[2].category_id == 5 &&
                     c[3].category_id == 7 && diff(c[0].ap, 1) < TOL && c[1].ap == -1 && c[2].ap == 0 && c[3].ap == -1 &&
                     c[1].n_det == 1 && c[2].n_gt == 1 && c[2].olrp == 1 && isnan(c[2].olrp_loc) && c[1].olrp == -1 &&
                     c[0].olrp_thr == 0.9 && strcmp(c[2].name, "c5") == 0;
            printf("%s per-class rows (ascending ids, -1 and NaN where undefined)\n", ok ? "OK  " : "FAIL");
            check(ok, "per-class rows");
            coco_eval_result_free(&res); coco_results_free(&dt); coco_dataset_free(&gt);
        } else check(0, "per-class rows");
    }

    // F. Ties in score across images: images pooled in ascending id, so image 5's FP comes
    // before image 9's TP although the file lists image 9 (and its detection) first.
    // FP TP with 2 gts: envelope 1/2 up to recall 1/2 -> AP = 51 * 0.5 / 101.
    const double f = 25.5 / 101;
    hand_case("ties in score across images (ascending image id)",
        "{\"images\":[" IMG(9) "," IMG(5) "],\"categories\":[" CAT(1) "],\"annotations\":["
            ANN(1, 5, 1, 0, 0, 10, 10, 100, 0) "," ANN(2, 9, 1, 0, 0, 10, 10, 100, 0) "]}",
        "[" DET(9, 1, 0, 0, 10, 10, 0.5) "," DET(5, 1, 50, 50, 10, 10, 0.5) "]",
        COCO_OLRP_SCORES, (const double[16]) { f, f, f, f, -1, -1, 0.5, 0.5, 0.5, 0.5, -1, -1, 2.0 / 3, 0, 0.5, 0.5 });

    // F2. Ties in score within an image keep the file order: FP (listed first) then TP -> AP 1/2
    // (the other order would give 1); AR1 keeps only the FP -> 0.
    hand_case("ties in score within an image (file order)",
        "{\"images\":[" IMG(1) "],\"categories\":[" CAT(1) "],\"annotations\":[" ANN(1, 1, 1, 0, 0, 10, 10, 100, 0) "]}",
        "[" DET(1, 1, 50, 50, 10, 10, 0.5) "," DET(1, 1, 0, 0, 10, 10, 0.5) "]",
        COCO_OLRP_SCORES, (const double[16]) { 0.5, 0.5, 0.5, 0.5, -1, -1, 0, 1, 1, 1, -1, -1, 0.5, 0, 0.5, 0 });

    // G. maxDets: category 1 has 2 gts and 2 perfect detections (AR1 1/2); category 2 has 100
    // FPs scored .9 and its only TP scored .1, which the cut to 100 per image drops (AR 0).
    {
        static char dt_g[16384];
        size_t o = (size_t) snprintf(dt_g, sizeof(dt_g), "[" DET(1, 1, 0, 0, 10, 10, 0.9) "," DET(1, 1, 20, 0, 10, 10, 0.8) ","
                                                     DET(1, 2, 100, 100, 10, 10, 0.1));
        for (int i = 0; i < 100; i++) o += (size_t) snprintf(dt_g + o, sizeof(dt_g) - o, "," DET(1, 2, 300, 300, 10, 10, 0.9));
        snprintf(dt_g + o, sizeof(dt_g) - o, "]");
        hand_case("maxDets 1/10/100 and the cut to 100 per image",
            "{\"images\":[" IMG(1) "],\"categories\":[" CAT(1) "," CAT(2) "],\"annotations\":["
                ANN(1, 1, 1, 0, 0, 10, 10, 100, 0) "," ANN(2, 1, 1, 20, 0, 10, 10, 100, 0) "," ANN(3, 1, 2, 100, 100, 10, 10, 100, 0) "]}",
            dt_g, COCO_OLRP_SCORES,
            (const double[16]) { 0.5, 0.5, 0.5, 0.5, -1, -1, 0.25, 0.5, 0.5, 0.5, -1, -1, 0.5, 0, 0, 0.5 });
    }

    // H. A detection with equal IoU (90/110) to two gts takes the later one. det1 -> G2; det2
    // then overlaps only G1, at 70/130, a match at IoU .50 alone. IoU .50: TP TP (AP 1);
    // .55-.80: TP FP (AP 51/101); .85-.95: FP FP (0). AP = (1 + 6 * 51/101)/10 = 407/1010.
    // (Taking the first gt would give .7.) oLRP at .50: both TP, loc = 2 - 9/11 - 7/13 = 92/143.
    const double h = 407.0 / 1010, h75 = 51.0 / 101;
    hand_case("equal IoU goes to the later gt",
        "{\"images\":[" IMG(1) "],\"categories\":[" CAT(1) "],\"annotations\":["
            ANN(1, 1, 1, 9, 0, 10, 10, 100, 0) "," ANN(2, 1, 1, 11, 0, 10, 10, 100, 0) "]}",
        "[" DET(1, 1, 10, 0, 10, 10, 0.9) "," DET(1, 1, 12, 0, 10, 10, 0.8) "]",
        COCO_OLRP_SCORES, (const double[16]) { h, 1, h75, h, -1, -1, 0.35, 0.4, 0.4, 0.4, -1, -1,
                                               92.0 / 143, 46.0 / 143, 0, 0 });

    // I. oLRP definitions. D1 (IoU .8, score .905), D2 (FP, .901), D3 (IoU .6, .65), 2 gts.
    // Every score: LRP after D1 = (0.2/0.5 + 0 + 1)/2 = .7, after D2 .8, after D3 (1.2+1)/3;
    // min .7: loc .2, FP 0, FN .5. Grid 0:.01:1 cannot cut between .905 and .901: min over
    // {all three (s <= .65): 11/15, D1+D2: .8, none: 1} = 11/15: loc .3, FP 1/3, FN 0.
    const char * gt_i = "{\"images\":[" IMG(1) "],\"categories\":[" CAT(1) "],\"annotations\":["
            ANN(1, 1, 1, 0, 0, 10, 10, 100, 0) "," ANN(2, 1, 1, 20, 0, 10, 10, 100, 0) "]}";
    const char * dt_i = "[" DET(1, 1, 0, 0, 10, 8, 0.905) "," DET(1, 1, 50, 50, 10, 10, 0.901) "," DET(1, 1, 20, 0, 10, 6, 0.65) "]";
    const double S = SKIP;
    hand_case("oLRP, every score a threshold", gt_i, dt_i, COCO_OLRP_SCORES,
        (const double[16]) { S, S, S, S, S, S, S, S, S, S, S, S, 0.7, 0.2, 0, 0.5 });
    hand_case("oLRP, the seed's 0.01 grid", gt_i, dt_i, COCO_OLRP_GRID,
        (const double[16]) { S, S, S, S, S, S, S, S, S, S, S, S, 11.0 / 15, 0.3, 1.0 / 3, 0 });

    // J. A class with no TP: LRP-Error gives oLRP 1, FN 1, loc and FP undefined; the grid
    // takes s = 0 (the first of equal minima), where its FP component is 1/1.
    const char * gt_j = "{\"images\":[" IMG(1) "],\"categories\":[" CAT(1) "],\"annotations\":[" ANN(1, 1, 1, 0, 0, 10, 10, 100, 0) "]}";
    const char * dt_j = "[" DET(1, 1, 50, 50, 10, 10, 0.6) "]";
    hand_case("oLRP of a class without TP (every score)", gt_j, dt_j, COCO_OLRP_SCORES,
        (const double[16]) { 0, 0, 0, 0, -1, -1, 0, 0, 0, 0, -1, -1, 1, U, U, 1 });
    hand_case("oLRP of a class without TP (grid)", gt_j, dt_j, COCO_OLRP_GRID,
        (const double[16]) { 0, 0, 0, 0, -1, -1, 0, 0, 0, 0, -1, -1, 1, U, 1, 1 });

    // K. pycocotools' quirk: matches are recorded by gt id, so a match to the gt with id 0
    // reads as "unmatched": D1 is a FP and G0 is not recalled. FP TP -> AP 51*.5/101.
    hand_case("match to a gt with id 0 (pycocotools quirk)",
        "{\"images\":[" IMG(1) "],\"categories\":[" CAT(1) "],\"annotations\":["
            ANN(0, 1, 1, 0, 0, 10, 10, 100, 0) "," ANN(5, 1, 1, 20, 0, 10, 10, 100, 0) "]}",
        "[" DET(1, 1, 0, 0, 10, 10, 0.9) "," DET(1, 1, 20, 0, 10, 10, 0.8) "]",
        COCO_OLRP_SCORES, (const double[16]) { f, f, f, f, -1, -1, 0, 0.5, 0.5, 0.5, -1, -1, 2.0 / 3, 0, 0.5, 0.5 });

    // L. No detections at all, and an annotation file without annotations.
    hand_case("no detections",
        "{\"images\":[" IMG(1) "],\"categories\":[" CAT(1) "],\"annotations\":[" ANN(1, 1, 1, 0, 0, 10, 10, 100, 0) "]}",
        "[]", COCO_OLRP_SCORES, (const double[16]) { 0, 0, 0, 0, -1, -1, 0, 0, 0, 0, -1, -1, 1, U, U, 1 });
    hand_case("no gts at all",
        "{\"images\":[" IMG(1) "],\"categories\":[" CAT(1) "]}", "[" DET(1, 1, 0, 0, 10, 10, 0.9) "]",
        COCO_OLRP_SCORES, (const double[16]) { -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, U, U, U, U });
}

// ---- thresholds: numpy's linspace values, as Python prints them
static void test_thresholds(void) {
    static const double iou_np[10] = { 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.8999999999999999, 0.95 };
    static const double rec_np[101] = {
        0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1, 0.11, 0.12, 0.13, 0.14, 0.15, 0.16, 0.17,
        0.18, 0.19, 0.2, 0.21, 0.22, 0.23, 0.24, 0.25, 0.26, 0.27, 0.28, 0.29, 0.3, 0.31, 0.32, 0.33, 0.34,
        0.35000000000000003, 0.36, 0.37, 0.38, 0.39, 0.4, 0.41000000000000003, 0.42, 0.43, 0.44, 0.45, 0.46,
        0.47000000000000003, 0.48, 0.49, 0.5, 0.51, 0.52, 0.53, 0.54, 0.55, 0.56, 0.5700000000000001, 0.58, 0.59,
        0.6, 0.61, 0.62, 0.63, 0.64, 0.65, 0.66, 0.67, 0.68, 0.6900000000000001, 0.7000000000000001, 0.71, 0.72,
        0.73, 0.74, 0.75, 0.76, 0.77, 0.78, 0.79, 0.8, 0.81, 0.8200000000000001, 0.8300000000000001, 0.84, 0.85,
        0.86, 0.87, 0.88, 0.89, 0.9, 0.91, 0.92, 0.93, 0.9400000000000001, 0.9500000000000001, 0.96, 0.97, 0.98,
        0.99, 1.0,
    };
    double iou[10], rec[101];
    coco_eval_thresholds(iou, rec);
    int ok = memcmp(iou, iou_np, sizeof(iou)) == 0 && memcmp(rec, rec_np, sizeof(rec)) == 0;
    printf("%s thresholds equal numpy's linspace bit for bit\n", ok ? "OK  " : "FAIL");
    check(ok, "thresholds");
}

// ---- the stable merge sort against insertion sort, with many ties
static void test_sort(void) {
    uint64_t s = 7;
    int ok = 1;
    for (int64_t n = 0; n < 700 && ok; n += 1 + n / 8) {
        struct coco__key * a = (struct coco__key *) malloc((size_t) (n + 1) * sizeof(*a));
        struct coco__key * b = (struct coco__key *) malloc((size_t) (n + 1) * sizeof(*a));
        struct coco__key * t = (struct coco__key *) malloc((size_t) (n + 1) * sizeof(*a));
        for (int64_t i = 0; i < n; i++) {
            a[i].score = (double) coco_gen_int(&s, 1 + n / 3) / 7.0;
            a[i].i = i;
        }
        memcpy(b, a, (size_t) n * sizeof(*a));
        coco__sort_desc(a, n, t);
        coco__sort_desc_naive(b, n);
        ok = memcmp(a, b, (size_t) n * sizeof(*a)) == 0;
        free(a); free(b); free(t);
    }
    printf("%s merge sort == insertion sort (stable, descending)\n", ok ? "OK  " : "FAIL");
    check(ok, "sort");
}

// ---- generated cases: memory files from tools/coco-gen.h
static char * gen(const struct coco_gen_params * p, int dets, size_t * len) {
    char * buf = NULL;
    FILE * f = open_memstream(&buf, len);
    if (dets) coco_gen_write_dets(f, p); else coco_gen_write_gt(f, p);
    fclose(f);
    return buf;
}

static int bits_equal(double a, double b) { return memcmp(&a, &b, sizeof(a)) == 0 || (isnan(a) && isnan(b)); }

static void test_fast_vs_naive(void) {
    struct coco_gen_params cases[4];
    coco_gen_preset(&cases[0], "small");
    cases[1] = (struct coco_gen_params) { 11, 60, 12, 150, 5, 0, 1 };   // crowded: > 100 per image and category
    cases[2] = (struct coco_gen_params) { 12, 80, 2, 5, 30, 0, 0 };
    cases[3] = (struct coco_gen_params) { 13, 7, 20, 60, 3, 0, 1 };
    for (int c = 0; c < 4; c++) {
        for (int mode = 0; mode <= 1; mode++) {
            size_t gl, dl;
            char * g = gen(&cases[c], 0, &gl), * d = gen(&cases[c], 1, &dl);
            struct coco_dataset gt[2]; struct coco_results dt[2]; struct coco_eval_result res[2];
            int rc = evaluate(g, d, (enum coco_olrp_mode) mode, 0, &gt[0], &dt[0], &res[0]);
            rc |= evaluate(g, d, (enum coco_olrp_mode) mode, 1, &gt[1], &dt[1], &res[1]);
            int ok = rc == 0;
            if (ok) {
                const int64_t K = res[0].n_classes;
                size_t np = (size_t) COCO_EVAL_T * COCO_EVAL_R * (size_t) K * COCO_EVAL_A * COCO_EVAL_M;
                size_t nr = (size_t) COCO_EVAL_T * (size_t) K * COCO_EVAL_A * COCO_EVAL_M;
                ok = memcmp(res[0].precision, res[1].precision, np * sizeof(double)) == 0 &&
                     memcmp(res[0].recall, res[1].recall, nr * sizeof(double)) == 0;
                for (int i = 0; i < COCO_STAT_COUNT; i++) ok = ok && bits_equal(res[0].stats[i], res[1].stats[i]);
                for (int64_t k = 0; k < K; k++) {
                    const struct coco_eval_class * x = &res[0].classes[k], * y = &res[1].classes[k];
                    ok = ok && bits_equal(x->olrp, y->olrp) && bits_equal(x->olrp_loc, y->olrp_loc) &&
                         bits_equal(x->olrp_fp, y->olrp_fp) && bits_equal(x->olrp_fn, y->olrp_fn) && bits_equal(x->olrp_thr, y->olrp_thr);
                }
                printf("%s fast == naive, generated case %d (%lld gts, %lld dets, %s)\n", ok ? "OK  " : "FAIL", c,
                       (long long) gt[0].n_anns, (long long) dt[0].n, mode ? "grid" : "scores");
                for (int j = 0; j < 2; j++) { coco_eval_result_free(&res[j]); coco_results_free(&dt[j]); coco_dataset_free(&gt[j]); }
            }
            check(ok, "fast == naive");
            free(g); free(d);
        }
    }
}

// ---- the cross-check against tools/coco_eval_ref.py (tests/data/coco/README.md)
struct ref {
    double stats[COCO_STAT_COUNT], ap_per_iou[COCO_EVAL_T], olrp[4];
    int64_t images, detections, n_class;
    struct { int64_t id, gts, dets; double v[9]; } cls[80];
};

static int read_num_or_null(struct json_reader * r, double * v) {
    if (json_peek(r) == JSON_NULL) { *v = NAN; return json_read_null(r); }
    return json_read_double(r, v);
}

static int load_ref(const char * path, struct ref * ref) {
    static const char * cls_keys[9] = { "AP", "AP50", "AP75", "AR100", "oLRP", "oLRP_loc", "oLRP_FP", "oLRP_FN", "oLRP_threshold" };
    struct json_reader r;
    memset(ref, 0, sizeof(*ref));
    if (json_reader_open(&r, path, 0)) { printf("  %s\n", r.err); return -1; }
    int k, rc = json_begin_object(&r);
    while (rc == 0 && (k = json_next_key(&r)) == 1) {
        int done = 0;
        for (int s = 0; s < COCO_STAT_COUNT; s++) if (json_key_is(&r, coco_stat_names[s])) { rc = json_read_double(&r, &ref->stats[s]); done = 1; }
        static const char * ol[4] = { "oLRP", "oLRP_loc", "oLRP_FP", "oLRP_FN" };
        for (int s = 0; s < 4; s++) if (json_key_is(&r, ol[s])) { rc = read_num_or_null(&r, &ref->olrp[s]); done = 1; }
        if (done) continue;
        if (json_key_is(&r, "images")) rc = json_read_int64(&r, &ref->images);
        else if (json_key_is(&r, "detections")) rc = json_read_int64(&r, &ref->detections);
        else if (json_key_is(&r, "AP_per_iou")) {
            int t = 0, kk;
            rc = json_begin_array(&r);
            while (rc == 0 && (kk = json_next_item(&r)) == 1 && t < COCO_EVAL_T) rc = json_read_double(&r, &ref->ap_per_iou[t++]);
        } else if (json_key_is(&r, "per_class")) {
            int kk;
            rc = json_begin_array(&r);
            while (rc == 0 && (kk = json_next_item(&r)) == 1 && ref->n_class < 80) {
                int k2;
                rc = json_begin_object(&r);
                while (rc == 0 && (k2 = json_next_key(&r)) == 1) {
                    int hit = 0;
                    for (int j = 0; j < 9; j++) if (json_key_is(&r, cls_keys[j])) { rc = read_num_or_null(&r, &ref->cls[ref->n_class].v[j]); hit = 1; }
                    if (hit) continue;
                    if (json_key_is(&r, "category_id")) rc = json_read_int64(&r, &ref->cls[ref->n_class].id);
                    else if (json_key_is(&r, "gts")) rc = json_read_int64(&r, &ref->cls[ref->n_class].gts);
                    else if (json_key_is(&r, "detections")) rc = json_read_int64(&r, &ref->cls[ref->n_class].dets);
                    else rc = json_skip_value(&r);
                }
                ref->n_class++;
            }
        } else rc = json_skip_value(&r);
    }
    if (rc == 0) rc = json_finish(&r);
    if (rc) printf("  %s\n", r.err);
    json_reader_close(&r);
    return rc;
}

static void test_reference(const char * path, enum coco_olrp_mode mode) {
    struct ref ref;
    if (load_ref(path, &ref)) { check(0, path); return; }
    struct coco_gen_params p;
    coco_gen_preset(&p, "small");
    size_t gl, dl;
    char * g = gen(&p, 0, &gl), * d = gen(&p, 1, &dl);
    struct coco_dataset gt; struct coco_results dt; struct coco_eval_result res;
    if (evaluate(g, d, mode, 0, &gt, &dt, &res)) { check(0, path); free(g); free(d); return; }
    // the generated case must be the one the reference saw
    int same_input = res.n_images == ref.images && res.n_dets == ref.detections && res.n_classes == ref.n_class;
    double maxerr = 0;
    for (int s = 0; s < COCO_STAT_COUNT; s++) maxerr = fmax(maxerr, diff(res.stats[s], ref.stats[s]));
    for (int t = 0; t < COCO_EVAL_T; t++) maxerr = fmax(maxerr, diff(res.ap_per_iou[t], ref.ap_per_iou[t]));
    const double ol[4] = { res.olrp, res.olrp_loc, res.olrp_fp, res.olrp_fn };
    for (int s = 0; s < 4; s++) maxerr = fmax(maxerr, diff(ol[s], ref.olrp[s]));
    for (int64_t k = 0; same_input && k < res.n_classes; k++) {
        const struct coco_eval_class * c = &res.classes[k];
        // the reference writes null for -1 and NaN oLRP entries
        const double v[9] = { c->ap, c->ap50, c->ap75, c->ar100, c->olrp < 0 ? NAN : c->olrp, c->olrp_loc < 0 ? NAN : c->olrp_loc,
                              c->olrp_fp < 0 ? NAN : c->olrp_fp, c->olrp_fn < 0 ? NAN : c->olrp_fn, c->olrp_thr };
        same_input = same_input && c->category_id == ref.cls[k].id && c->n_gt == ref.cls[k].gts && c->n_det == ref.cls[k].dets;
        for (int j = 0; j < 9; j++) maxerr = fmax(maxerr, diff(v[j], ref.cls[k].v[j]));
    }
    int ok = same_input && maxerr <= 1e-9;
    printf("%s %s: %lld images, %lld gts, %lld dets; max error %.3g (tolerance 1e-9)\n", ok ? "OK  " : "FAIL", path,
           (long long) res.n_images, (long long) gt.n_anns, (long long) res.n_dets, maxerr);
    if (!same_input) printf("  the generated case differs from the one the reference saw (tools/coco-gen.h changed?)\n");
    check(ok, path);
    coco_eval_result_free(&res); coco_results_free(&dt); coco_dataset_free(&gt);
    free(g); free(d);
}

int main(void) {
    test_thresholds();
    test_sort();
    test_hand_cases();
    test_fast_vs_naive();
    test_reference("tests/data/coco/ref-small.json", COCO_OLRP_SCORES);
    test_reference("tests/data/coco/ref-small-grid.json", COCO_OLRP_GRID);
    printf("%s: %d checks OK, %d FAIL\n", n_fail ? "FAIL" : "OK", n_ok, n_fail);
    return n_fail ? 1 : 0;
}
