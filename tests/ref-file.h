// Shared by the tests that read a reference file written by a tools/gen-ref-*.py script
// (test-model, test-step, and through detector-ref.h test-anchors, test-assign, test-nms):
// the file, its tensors by name, and a float copy of one. A missing file or tensor is one line
// that says how to regenerate it, and exit status 1. Include after alrp.h.
#ifndef TESTS_REF_FILE_H
#define TESTS_REF_FILE_H

#include <stdio.h>
#include <stdlib.h>

static struct alrp_st_file * ref_file;
static const char * ref_path, * ref_tool;

// opens path (written by tools/<tool>); exits on failure
static void ref_open_file(const char * path, const char * tool) {
    char err[512];
    ref_path = path;
    ref_tool = tool;
    ref_file = alrp_st_load(path, err, sizeof(err));
    if (!ref_file) {
        fprintf(stderr, "%s\n(run from the repository root, or regenerate with /usr/bin/python3 tools/%s)\n", err, tool);
        exit(1);
    }
}

static const struct alrp_st_tensor * ref_get(const char * name) {
    const struct alrp_st_tensor * t = alrp_st_get(ref_file, name);
    if (!t) {
        fprintf(stderr, "%s: no tensor %s: regenerate with /usr/bin/python3 tools/%s\n", ref_path, name, ref_tool);
        exit(1);
    }
    return t;
}

// a malloc'd float copy of the tensor (any numeric dtype); *numel if not NULL
static float * ref_f32(const char * name, int64_t * numel) {
    const struct alrp_st_tensor * t = ref_get(name);
    float * a = (float *) malloc(sizeof(float) * (size_t) (t->numel ? t->numel : 1));
    if (!a || alrp_st_to_f32(t, a) != 0) { fprintf(stderr, "%s: cannot read %s\n", ref_path, name); exit(1); }
    if (numel) *numel = t->numel;
    return a;
}
#endif
