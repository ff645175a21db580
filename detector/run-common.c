// run-common.c - paths, datasets, configs and runs of the detector's commands (run-common.h)
#include "run-common.h"

#include "data-shapes.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void run_join(char * out, size_t size, const char * a, const char * b) {
    const size_t n = strlen(a);
    if (snprintf(out, size, "%s%s%s", a, n && a[n - 1] == '/' ? "" : "/", b) >= (int) size) out[size - 1] = '\0';   // cut
}

int run_file_exists(const char * path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static int run__is_dir(const char * path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int run_mkdirs(const char * path, char * err, size_t err_size) {
    char tmp[RUN_PATH];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char * p = tmp + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            const char c = *p;
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
                snprintf(err, err_size, "%s: cannot create the folder (%s)", tmp, strerror(errno));
                return -1;
            }
            *p = c;
            if (!c) break;
        }
    }
    return 0;
}

// the repository: a folder holding alrp.h and models/
static int run__is_root(const char * dir) {
    char a[RUN_PATH], b[RUN_PATH];
    run_join(a, sizeof a, dir, "alrp.h");
    run_join(b, sizeof b, dir, "models");
    return run_file_exists(a) && run__is_dir(b);
}

// dir and its parents, up to 3 levels: the first that is the repository
static int run__find_root(const char * start, char * out, size_t size) {
    char d[RUN_PATH];
    snprintf(d, sizeof d, "%s", start);
    for (int up = 0; up < 4; up++) {
        if (run__is_root(d)) { snprintf(out, size, "%s", d); return 0; }
        char * s = strrchr(d, '/');
        if (!s || s == d) break;
        *s = '\0';
    }
    return -1;
}

int run_env_init(struct run_env * env, const char * data_dir, char * err, size_t err_size) {
    memset(env, 0, sizeof(*env));
    char exe[RUN_PATH], cwd[RUN_PATH];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    int found = -1;
    if (n > 0) {
        exe[n] = '\0';
        char * s = strrchr(exe, '/');
        if (s) *s = '\0';
        found = run__find_root(exe, env->root, sizeof env->root);
    }
    if (found != 0 && getcwd(cwd, sizeof cwd)) found = run__find_root(cwd, env->root, sizeof env->root);
    if (found != 0) {
        snprintf(err, err_size, "cannot find the repository (a folder with alrp.h and models/) above the program or the working folder");
        return -1;
    }
    if (data_dir) snprintf(env->data, sizeof env->data, "%s", data_dir);
    else run_join(env->data, sizeof env->data, env->root, "data");
    const char * runs = getenv("ALRP_RUNS");   // tests keep their runs apart
    if (runs && *runs) snprintf(env->runs, sizeof env->runs, "%s", runs);
    else run_join(env->runs, sizeof env->runs, env->root, "runs");
    return 0;
}

static void run__split(struct run_dataset * ds) {
    char a[RUN_PATH];
    run_join(a, sizeof a, ds->dir, "annotations");
    run_join(ds->train_json, sizeof ds->train_json, a, "instances_train2017.json");
    run_join(ds->val_json, sizeof ds->val_json, a, "instances_val2017.json");
    run_join(ds->test_json, sizeof ds->test_json, a, "image_info_test-dev2017.json");
    run_join(ds->train_images, sizeof ds->train_images, ds->dir, "train2017");
    run_join(ds->val_images, sizeof ds->val_images, ds->dir, "val2017");
    run_join(ds->test_images, sizeof ds->test_images, ds->dir, "test2017");
}

int run_dataset_resolve(const struct run_env * env, const char * arg, int need_train, struct run_dataset * ds,
                        FILE * log, char * err, size_t err_size) {
    memset(ds, 0, sizeof(*ds));
    if (strcmp(arg, "shapes") == 0) {
        ds->is_shapes = 1;
        snprintf(ds->name, sizeof ds->name, "shapes");
        run_join(ds->dir, sizeof ds->dir, env->data, "shapes");
        run__split(ds);
        if (run_mkdirs(env->data, err, err_size)) return -1;
        struct shapes_params sp;
        shapes_params_default(&sp);
        return shapes_ensure(ds->dir, &sp, log, err, err_size);
    }
    if (strcmp(arg, "coco") == 0) {
        ds->is_coco = 1;
        snprintf(ds->name, sizeof ds->name, "coco");
        run_join(ds->dir, sizeof ds->dir, env->data, "coco");
    } else {
        if (snprintf(ds->dir, sizeof ds->dir, "%s", arg) >= (int) sizeof ds->dir) {
            snprintf(err, err_size, "%.200s...: the dataset path is too long", arg);
            return -1;
        }
        size_t n = strlen(ds->dir);
        while (n > 1 && ds->dir[n - 1] == '/') ds->dir[--n] = '\0';
        const char * b = strrchr(ds->dir, '/');
        if (snprintf(ds->name, sizeof ds->name, "%s", b ? b + 1 : ds->dir) >= (int) sizeof ds->name) ds->name[sizeof ds->name - 1] = '\0';
    }
    run__split(ds);
    const char * missing = NULL;
    if (!run__is_dir(ds->dir)) missing = ds->dir;
    else if (need_train && !run_file_exists(ds->train_json)) missing = ds->train_json;
    else if (need_train && !run__is_dir(ds->train_images)) missing = ds->train_images;
    else if (!run_file_exists(ds->val_json) && !run_file_exists(ds->test_json)) missing = ds->val_json;
    if (missing) {
        snprintf(err, err_size,
                 "%s: not found. A dataset is a folder in COCO's layout: annotations/instances_train2017.json, train2017/, "
                 "annotations/instances_val2017.json, val2017/ (COCO 2017 from https://cocodataset.org/#download, unzipped into %s/coco; "
                 "ImageNet backbones come from torchvision, see docs/weights.md, and are given with --weights). "
                 "Or train on the built-in set: ./detector train shapes",
                 missing, env->data);
        return -1;
    }
    return 0;
}

int run_config_path(const struct run_env * env, const char * name, char * out, size_t out_size, char * err, size_t err_size) {
    char models[RUN_PATH];
    run_join(models, sizeof models, env->root, "models");
    if (!strchr(name, '/')) {
        run_join(out, out_size, models, name);
        if (run_file_exists(out) && !run__is_dir(out)) return 0;
    }
    if (run_file_exists(name) && !run__is_dir(name)) { snprintf(out, out_size, "%s", name); return 0; }
    char list[600] = "";
    DIR * d = opendir(models);
    struct dirent * e;
    size_t used = 0;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.' || strchr(e->d_name, '.')) continue;
        int w = snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "", e->d_name);
        if (w < 0 || (size_t) w >= sizeof list - used) break;
        used += (size_t) w;
    }
    if (d) closedir(d);
    snprintf(err, err_size, "config '%s' not found (the configs in %s: %s)", name, models, list);
    return -1;
}

int run_latest_weights(const struct run_env * env, const char * dataset, char * out, size_t out_size,
                       char * err, size_t err_size) {
    DIR * d = opendir(env->runs);
    struct dirent * e;
    struct timespec best = { 0, 0 };
    int found = 0;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (dataset) {   // run folders are named <dataset>-<config>[-k]
            const size_t n = strlen(dataset);
            if (strncmp(e->d_name, dataset, n) != 0 || e->d_name[n] != '-') continue;
        }
        char dir[RUN_PATH], f[RUN_PATH];
        run_join(dir, sizeof dir, env->runs, e->d_name);
        run_join(f, sizeof f, dir, "best.safetensors");
        struct stat st;
        if (stat(f, &st) != 0) continue;
        if (!found || st.st_mtim.tv_sec > best.tv_sec || (st.st_mtim.tv_sec == best.tv_sec && st.st_mtim.tv_nsec > best.tv_nsec)) {
            best = st.st_mtim;
            snprintf(out, out_size, "%s", f);
            found = 1;
        }
    }
    if (d) closedir(d);
    if (!found) {
        snprintf(err, err_size, "no trained model in %s%s%s: train one first (./detector train shapes) or give --weights FILE",
                 env->runs, dataset ? " for " : "", dataset ? dataset : "");
        return -1;
    }
    return 0;
}

int run_new_dir(const struct run_env * env, const char * out_dir, const char * dataset, const char * config,
                char * out, size_t out_size, char * err, size_t err_size) {
    if (out_dir) {
        snprintf(out, out_size, "%s", out_dir);
        return run_mkdirs(out, err, err_size);
    }
    if (run_mkdirs(env->runs, err, err_size)) return -1;
    char base[300];
    snprintf(base, sizeof base, "%s-%s", dataset, config);
    for (int k = 1; k < 10000; k++) {
        char name[320];
        if (k == 1) snprintf(name, sizeof name, "%s", base);
        else snprintf(name, sizeof name, "%s-%d", base, k);
        run_join(out, out_size, env->runs, name);
        if (mkdir(out, 0755) == 0) return 0;
        if (errno != EEXIST) { snprintf(err, err_size, "%s: cannot create the run folder (%s)", out, strerror(errno)); return -1; }
    }
    snprintf(err, err_size, "%s: too many runs named %s", env->runs, base);
    return -1;
}

void run_log_printf(struct run_log * log, const char * fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
    if (log && log->file) {
        va_start(ap, fmt);
        vfprintf(log->file, fmt, ap);
        va_end(ap);
        fflush(log->file);
    }
}
