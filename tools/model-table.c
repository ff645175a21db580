// model-table: the table of models/README.md, made from the config files themselves.
//
//     tools/model-table [DIR]                    # prints the table of DIR (default models/)
//     tools/model-table --check [DIR]            # exit 1 unless DIR/README.md holds that table
//
// Every file in DIR except README.md and dot files is a config; rows are sorted by name. The
// table sits in the README between the lines "<!-- model-table -->" and "<!-- /model-table -->".
#include "../detector/config.c"

#include <dirent.h>

#define TABLE_MAX_FILES 64

static int by_name(const void * a, const void * b) {
    return strcmp(*(const char * const *) a, *(const char * const *) b);
}

// appends the table of dir to out (size bytes); 0 or -1 (message on stderr)
static int make_table(const char * dir, char * out, size_t size) {
    char * names[TABLE_MAX_FILES];
    int n = 0;
    DIR * d = opendir(dir);
    if (!d) { fprintf(stderr, "model-table: cannot open %s: %s\n", dir, strerror(errno)); return -1; }
    struct dirent * e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "README.md") == 0) continue;
        if (n == TABLE_MAX_FILES) { fprintf(stderr, "model-table: more than %d files in %s\n", TABLE_MAX_FILES, dir); closedir(d); return -1; }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t) n, sizeof names[0], by_name);
    size_t j = 0;
    int rc = 0;
    j += (size_t) snprintf(out + j, size - j,
        "| config | backbone | assigner / anchors | batch (rank group) | lr | lr steps | epochs | size (train / test) | published AP |\n"
        "|---|---|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < n && rc == 0; i++) {
        char path[1024], err[1024], steps[128], ratios[128], lr[32];
        struct config c;
        struct config_derived dv;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (config_load(path, &c, err, sizeof err) || config_derive(&c, 1, 1, &dv, err, sizeof err)) {
            fprintf(stderr, "model-table: %s\n", err);
            rc = -1;
            break;
        }
        config_format_value(&c, config_key_find("lr_steps"), steps, sizeof steps);
        config_format_value(&c, config_key_find("anchor_ratios"), ratios, sizeof ratios);
        snprintf(lr, sizeof lr, "%g", (double) dv.lr);
        int m = snprintf(out + j, size - j, "| `%s` | %s | %s / %d (ratios [%s] x %d scales) | %d (%d) | %s | %s | %d | %d / %d-%d | %s |\n",
                         names[i], config_choice("backbone", c.backbone), config_choice("assigner", c.assigner), dv.n_anchors,
                         ratios, c.scales_per_octave, c.batch, c.rank_group, lr, steps[0] ? steps : "none", c.epochs,
                         c.size, c.test_size, c.test_max_size, c.published_ap[0] ? c.published_ap : "-");
        if (m < 0 || (size_t) m >= size - j) { fprintf(stderr, "model-table: table too long\n"); rc = -1; break; }
        j += (size_t) m;
    }
    for (int i = 0; i < n; i++) free(names[i]);
    return rc;
}

int main(int argc, char ** argv) {
    bool check = argc > 1 && strcmp(argv[1], "--check") == 0;
    const char * dir = argc > 1 + check ? argv[1 + check] : "models";
    static char table[1 << 16], readme[1 << 18];
    if (make_table(dir, table, sizeof table)) return 1;
    if (!check) { fputs(table, stdout); return 0; }
    char path[1024];
    snprintf(path, sizeof path, "%s/README.md", dir);
    FILE * f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "model-table: cannot open %s\n", path); return 1; }
    size_t n = fread(readme, 1, sizeof readme - 1, f);
    fclose(f);
    readme[n] = '\0';
    const char * begin = strstr(readme, "<!-- model-table -->\n");
    const char * end = begin ? strstr(begin, "<!-- /model-table -->") : NULL;
    if (!begin || !end) { fprintf(stderr, "model-table: %s has no <!-- model-table --> ... <!-- /model-table --> block\n", path); return 1; }
    begin += strlen("<!-- model-table -->\n");
    if ((size_t) (end - begin) != strlen(table) || memcmp(begin, table, strlen(table)) != 0) {
        fprintf(stderr, "model-table: the table in %s does not match the files; regenerate it with tools/model-table %s:\n%s", path, dir, table);
        return 1;
    }
    printf("model-table: %s matches the %s files\n", path, dir);
    return 0;
}
