// run-common.h - what the detector's commands share: where the repository, data/ and runs/ are,
// which folder a DATASET argument names and what it holds, configs by name, the most recent run,
// the class list of a dataset, and a small log that goes to the terminal and a run's train.log.
#ifndef DET_RUN_COMMON_H
#define DET_RUN_COMMON_H

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "coco.h"

#define RUN_PATH 1024

struct run_env {
    char root[RUN_PATH];    // the repository (the folder holding alrp.h and models/)
    char data[RUN_PATH];    // root/data, or --data DIR
    char runs[RUN_PATH];    // root/runs, or $ALRP_RUNS
};

// Finds the repository from the program's own path (build/detector/detector or detector/detector)
// or, failing that, from the working folder upwards. data_dir overrides root/data.
int run_env_init(struct run_env * env, const char * data_dir, char * err, size_t err_size);

struct run_dataset {
    char name[128];         // "shapes", "coco" or the folder's base name
    char dir[RUN_PATH];
    char train_json[RUN_PATH], train_images[RUN_PATH];
    char val_json[RUN_PATH], val_images[RUN_PATH];
    char test_json[RUN_PATH], test_images[RUN_PATH];   // COCO test-dev (image info only)
    int is_shapes, is_coco;
};

// DATASET is "shapes" (generated under data/shapes on first use), "coco" (data/coco) or a path
// to a folder in COCO's layout. need_train: the train split must be there. The message for a
// missing set says how to lay it out, where the data and backbone weights come from, or to use
// shapes. log gets a line when shapes is generated.
int run_dataset_resolve(const struct run_env * env, const char * arg, int need_train, struct run_dataset * ds,
                        FILE * log, char * err, size_t err_size);

// a config by name (models/NAME) or path -> path; -1 with the list of models/ when not found
int run_config_path(const struct run_env * env, const char * name, char * out, size_t out_size, char * err, size_t err_size);

// best.safetensors of the most recent run (by the file's time) of that dataset name, or of any
// when dataset is NULL. -1 with a message saying how to train one when there is none.
int run_latest_weights(const struct run_env * env, const char * dataset, char * out, size_t out_size,
                       char * err, size_t err_size);

// a new run folder under runs/: runs/<dataset>-<config>, then -2, -3, ... (or out_dir as given)
int run_new_dir(const struct run_env * env, const char * out_dir, const char * dataset, const char * config,
                char * out, size_t out_size, char * err, size_t err_size);

// mkdir -p
int run_mkdirs(const char * path, char * err, size_t err_size);
int run_file_exists(const char * path);
// path joined: a/b
void run_join(char * out, size_t size, const char * a, const char * b);

// The log: every line to stdout and, once a file is set, to it as well.
struct run_log { FILE * file; };
void run_log_printf(struct run_log * log, const char * fmt, ...) __attribute__((format(printf, 2, 3)));

#endif // DET_RUN_COMMON_H
