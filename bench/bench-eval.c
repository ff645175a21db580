// bench-eval: the COCO evaluator and the annotation reader on generated files (in /tmp, deleted
// afterwards; nothing big is committed).
//
//   1. A COCO-val-sized case (tools/coco-gen --preset val2017: 5,000 images, ~35,000 gts,
//      ~500,000 detections): time of each stage (read GT, read results, group, match,
//      accumulate), best of 3, with the naive pycocotools-shaped accumulation side by side, and
//      the ratio to pycocotools' 28 s (measured once on this machine on a case of 5,000 images,
//      22,000 gts and 430,000 detections; the goal is >= 20x, i.e. <= 1.4 s).
//   2. A train2017-shaped annotation file (~460 MB, polygons and all): the reader's time and
//      peak memory (getrusage ru_maxrss), measured in a fresh process (this program re-run with
//      --read FILE), against the goal of <= 5 s and <= 1 GB.
//
//     build/bench/bench-eval            # both
//     build/bench/bench-eval --no-train # skip the 460 MB file
#include "../detector/json.c"
#include "../detector/coco.c"
#include "../detector/coco-results.c"
#include "../detector/coco-eval.c"
#include "../tools/coco-gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

static int write_gen(const char * path, const struct coco_gen_params * p, int dets) {
    FILE * f = fopen(path, "wb");
    if (!f) { fprintf(stderr, "bench-eval: cannot create %s\n", path); return -1; }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    int rc = dets ? coco_gen_write_dets(f, p) : coco_gen_write_gt(f, p);
    if (fclose(f) != 0) rc = -1;
    if (rc) fprintf(stderr, "bench-eval: writing %s failed (disk full?)\n", path);
    return rc;
}

static double file_mb(const char * path) {
    struct stat st;
    return stat(path, &st) == 0 ? (double) st.st_size / 1e6 : 0.0;
}

// The child: read one annotation file, report time and peak memory.
static int read_child(const char * path) {
    double t0 = now();
    struct json_reader r;
    if (json_reader_open(&r, path, 0) != 0 || json_skip_value(&r) != 0 || json_finish(&r) != 0) {
        fprintf(stderr, "%s\n", r.err);
        json_reader_close(&r);
        return 1;
    }
    json_reader_close(&r);
    double t_skip = now() - t0;
    struct coco_dataset ds;
    char err[1024];
    t0 = now();
    if (coco_dataset_load(&ds, path, err, sizeof(err)) != 0) { fprintf(stderr, "%s\n", err); return 1; }
    double t_load = now() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double mb = file_mb(path);
    printf("  validate + skip everything (json_skip_value):    %6.3f s  %7.1f MB/s\n", t_skip, mb / t_skip);
    printf("  coco_dataset_load (%lld images, %lld annotations): %6.3f s  %7.1f MB/s\n",
           (long long) ds.n_images, (long long) ds.n_anns, t_load, mb / t_load);
    printf("  peak memory (ru_maxrss): %.1f MB for a %.1f MB file   [goal: <= 5 s, <= 1 GB]\n",
           (double) ru.ru_maxrss / 1024.0, mb);
    coco_dataset_free(&ds);
    return 0;
}

static void bench_eval(const char * dir) {
    char gt_path[512], dt_path[512];
    snprintf(gt_path, sizeof(gt_path), "%s/instances_val.json", dir);
    snprintf(dt_path, sizeof(dt_path), "%s/results_val.json", dir);
    struct coco_gen_params p;
    coco_gen_preset(&p, "val2017");
    double t0 = now();
    if (write_gen(gt_path, &p, 0) || write_gen(dt_path, &p, 1)) return;
    printf("== evaluator: generated %s (%.1f MB) and %s (%.1f MB) in %.2f s\n", gt_path, file_mb(gt_path), dt_path,
           file_mb(dt_path), now() - t0);

    enum { REPS = 3 };
    double best[2][6];   // [naive][read gt, read dets, group, match, accumulate, total]
    for (int m = 0; m < 2; m++) for (int s = 0; s < 6; s++) best[m][s] = 1e30;
    struct coco_eval_result keep;
    memset(&keep, 0, sizeof(keep));
    int64_t n_gt = 0, n_dt = 0, n_img = 0;
    char err[1024];
    for (int rep = 0; rep < REPS; rep++) {
        for (int naive = 0; naive <= 1; naive++) {
            double ts = now();
            struct coco_dataset gt;
            if (coco_dataset_load(&gt, gt_path, err, sizeof(err))) { printf("%s\n", err); return; }
            double t1 = now();
            struct coco_results dt;
            if (coco_results_load(&dt, dt_path, &gt, err, sizeof(err))) { printf("%s\n", err); coco_dataset_free(&gt); return; }
            double t2 = now();
            struct coco_eval_params prm = { COCO_OLRP_SCORES, naive };
            struct coco_eval_result res;
            if (coco_eval(&res, &gt, &dt, &prm, err, sizeof(err))) { printf("%s\n", err); return; }
            double t3 = now();
            double st[6] = { t1 - ts, t2 - t1, res.time_group, res.time_match, res.time_accumulate, t3 - ts };
            for (int s = 0; s < 6; s++) if (st[s] < best[naive][s]) best[naive][s] = st[s];
            n_gt = gt.n_anns; n_dt = dt.n; n_img = gt.n_images;
            if (rep == 0 && !naive) keep = res;
            else {
                if (rep == 0 && naive) {   // the two paths agree
                    double d = 0;
                    for (int s = 0; s < COCO_STAT_COUNT; s++) d = fmax(d, fabs(res.stats[s] - keep.stats[s]));
                    printf("   fast vs naive: max difference of the 12 numbers %.3g\n", d);
                }
                coco_eval_result_free(&res);
            }
            coco_results_free(&dt);
            coco_dataset_free(&gt);
        }
    }
    printf("   %lld images, %lld gts, %lld detections; AP %.4f AP50 %.4f AR100 %.4f oLRP %.4f\n", (long long) n_img,
           (long long) n_gt, (long long) n_dt, keep.stats[COCO_STAT_AP], keep.stats[COCO_STAT_AP50],
           keep.stats[COCO_STAT_AR100], keep.olrp);
    static const char * names[6] = { "read GT (coco_dataset_load)", "read results (coco_results_load)", "group by (category, image)",
                                     "match (4 areas x 10 IoUs)", "accumulate + oLRP + summary", "total" };
    printf("   %-36s %10s %10s %8s   (best of %d)\n", "stage", "fast", "naive", "ratio", REPS);
    for (int s = 0; s < 6; s++)
        printf("   %-36s %8.3f s %8.3f s %7.2fx\n", names[s], best[0][s], best[1][s], best[1][s] / best[0][s]);
    printf("   vs pycocotools (28 s for 5,000 images, 22k gts, 430k dets on this machine): %.1fx faster [goal >= 20x]\n",
           28.0 / best[0][5]);
    coco_eval_result_free(&keep);
    remove(gt_path);
    remove(dt_path);
}

static void bench_reader(const char * dir, const char * self) {
    char path[512];
    snprintf(path, sizeof(path), "%s/instances_train.json", dir);
    struct coco_gen_params p;
    coco_gen_preset(&p, "train2017");
    double t0 = now();
    if (write_gen(path, &p, 0)) { remove(path); return; }
    printf("== reader: generated a train2017-shaped file, %s (%.1f MB) in %.2f s\n", path, file_mb(path), now() - t0);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        execl(self, self, "--read", path, (char *) NULL);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        printf("   the reader child failed (status %d)\n", status);
    remove(path);
}

int main(int argc, char ** argv) {
    if (argc == 3 && strcmp(argv[1], "--read") == 0) return read_child(argv[2]);
    int train = !(argc > 1 && strcmp(argv[1], "--no-train") == 0);
    char dir[] = "/tmp/bench-eval-XXXXXX";
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    bench_eval(dir);
    if (train) bench_reader(dir, "/proc/self/exe");
    rmdir(dir);
    return 0;
}
