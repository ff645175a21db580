// Self-balance weight of aLRP (docs/ranking-losses.md 2.5, [A]): starts at 50, counts only
// iterations with a positive, recomputes (mean cls + mean loc) / mean loc every `period` counted
// iterations from the values of that period only; the period helper (one epoch).
#include "alrp.h"
#include <math.h>
#include <stdio.h>

static int n_checks, n_fail;
static void check(const char * what, int ok) {
    n_checks++;
    if (!ok) n_fail++;
    printf("%-4s %s\n", ok ? "OK" : "FAIL", what);
}
static int close_to(double a, double b) { return fabs(a - b) <= 1e-6 * fabs(b) + 1e-7; }

int main(void) {
    struct alrp_sb sb;
    check("init(3) returns 0, weight 50", alrp_sb_init(&sb, 3) == 0 && alrp_sb_weight(&sb) == 50.0f);
    // iteration with no positive: not counted
    check("no positive: not counted", !alrp_sb_update(&sb, 0.9f, 0.0f, 0) && sb.count == 0);
    check("1st counted iteration", !alrp_sb_update(&sb, 0.8f, 0.20f, 12));
    check("2nd counted iteration", !alrp_sb_update(&sb, 0.6f, 0.30f, 7));
    check("weight still 50 before the period ends", alrp_sb_weight(&sb) == 50.0f);
    check("3rd counted iteration updates", alrp_sb_update(&sb, 0.7f, 0.25f, 3));
    double mc = (0.8 + 0.6 + 0.7) / 3.0, ml = (0.20 + 0.30 + 0.25) / 3.0;
    check("weight = (mean cls + mean loc) / mean loc", close_to(alrp_sb_weight(&sb), (mc + ml) / ml));
    check("sums restart after the update", sb.count == 0 && sb.sum_cls == 0.0 && sb.sum_loc == 0.0 && sb.n_updates == 1);
    // the next period uses only its own values
    alrp_sb_update(&sb, 0.5f, 0.5f, 1);
    alrp_sb_update(&sb, 0.5f, 0.0f, 0);   // skipped
    alrp_sb_update(&sb, 0.3f, 0.1f, 1);
    check("2nd period", alrp_sb_update(&sb, 0.1f, 0.3f, 1) && close_to(alrp_sb_weight(&sb), (0.9 / 3 + 0.9 / 3) / (0.9 / 3)));
    // zero localisation loss over a period: the weight is kept
    float w = alrp_sb_weight(&sb);
    alrp_sb_update(&sb, 0.5f, 0.0f, 1); alrp_sb_update(&sb, 0.5f, 0.0f, 1);
    check("mean loc 0: weight kept, no NaN", !alrp_sb_update(&sb, 0.5f, 0.0f, 1) && alrp_sb_weight(&sb) == w && sb.count == 0);
    // period 1 updates every counted iteration; w >= 1
    alrp_sb_init(&sb, 1);
    check("period 1: updates each iteration", alrp_sb_update(&sb, 0.0f, 0.4f, 5) && alrp_sb_weight(&sb) == 1.0f);
    // the period helper: one epoch in iterations
    check("period(117266, 32) = 3665 (COCO, [A])", alrp_sb_period(117266, 32) == 3665);
    check("period(117266, 16) = 7330 (the 800 configs)", alrp_sb_period(117266, 16) == 7330);
    check("period(64, 8) = 8", alrp_sb_period(64, 8) == 8);
    printf("(the next lines on stderr are expected error messages)\n");
    check("bad arguments", alrp_sb_period(0, 8) == -1 && alrp_sb_period(10, 0) == -1 &&
                           alrp_sb_init(&sb, 0) == -1 && sb.period == 1 && sb.weight == 50.0f);
    printf("%d checks, %d failed\n", n_checks, n_fail);
    return n_fail ? 1 : 0;
}
