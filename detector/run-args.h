// run-args.h - the command line of ./detector, parsed once by detector.c and read by the
// commands (run-train.c, run-eval.c, run-infer.c).
#ifndef DET_RUN_ARGS_H
#define DET_RUN_ARGS_H

#include <stdint.h>

#define RUN_MAX_OVERRIDES 64
#define RUN_MAX_IMAGES    1024

struct run_args {
    const char * cmd;               // "train", "eval", "infer"
    const char * dataset;           // train / eval: coco, shapes or a path
    const char * config;            // --config NAME
    const char * weights;           // --weights FILE
    const char * resume;            // --resume RUN_DIR
    const char * out;               // --out DIR
    const char * data_dir;          // --data DIR
    const char * split;             // --split val|test-dev
    const char * results;           // --results FILE.json
    const char * device;            // --device cpu|cuda
    int threads;                    // --threads N (0: every core)
    uint64_t seed;                  // --seed S
    int seed_set;
    int log_every;                  // --log-every N (0: every step on a terminal, every 20 otherwise)
    int64_t stop_after;             // --stop-after N: stop (checkpoint written) after N updates (tests)
    const char * overrides[RUN_MAX_OVERRIDES];   // key=value
    int n_overrides;
    const char * images[RUN_MAX_IMAGES];         // infer
    int n_images;
};

int run_train(const struct run_args * a);
int run_eval(const struct run_args * a);
int run_infer(const struct run_args * a);

#endif // DET_RUN_ARGS_H
