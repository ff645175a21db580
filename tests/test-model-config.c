// detector/config: the models/ files, derived values, overrides and every error case.
//   1. the key table: every default reads back; the keys are unique;
//   2. every file in models/ loads, and the recipes' values (anchors per location, lr, steps);
//   3. derived values: COCO train2017 at batch 32 = 3665 updates per epoch (ceil), 7330 at 16,
//      the lr scaled with batch x accum, the SB period = one epoch, the warmup and steps;
//   4. overrides, config_print read back to the same config;
//   5. errors: one line, naming the file and line (or the override), -1, never an abort.
#include "../detector/config.c"
#include "../detector/model-anchors.c"

#include <dirent.h>
#include <unistd.h>

static int n_checks, n_fail;

static void check(const char * what, int ok) {
    n_checks++;
    if (!ok) { n_fail++; printf("FAIL %s\n", what); }
}

static char err[2048];

static const char * const model_names[] = {
    "alrp500_r50", "alrp500_r50_atss", "alrp500_r101_atss", "alrp500_x101_atss",
    "alrp800_r101_atss", "alrp800_x101_atss", "aploss500_r50", "shapes",
    "b_alrp500_r50", "b_alrp500_r50_atss", "b_alrp500_r101", "b_alrp500_x101", "b_alrp800_r101", "b_alrp800_x101",
    "b_aploss500_r50",
};
#define N_MODELS ((int) (sizeof model_names / sizeof model_names[0]))

static int load_model(const char * name, struct config * c) {
    char path[256];
    snprintf(path, sizeof path, "models/%s", name);
    int rc = config_load(path, c, err, sizeof err);
    if (rc) printf("%s\n", err);
    return rc;
}

static void test_table(void) {
    struct config c;
    config_defaults(&c);
    int ok = 1;
    for (int i = 0; i < config_n_keys(); i++) {
        const struct config_key * k = config_key_at(i);
        struct config t;
        memset(&t, 0, sizeof t);
        if (config__set_value(&t, k, k->def, strlen(k->def), "default", err, sizeof err)) { printf("%s\n", err); ok = 0; }
        for (int j = 0; j < i; j++) if (strcmp(config_key_at(j)->name, k->name) == 0) ok = 0;
        if (!k->help || !k->help[0]) ok = 0;
    }
    check("every default reads back, keys unique, each with help", ok);
    check("defaults pass config_check", config_check(&c, err, sizeof err) == 0);
    check("defaults: the keys the brief fixes", c.delta == 1.0f && c.rank_group == 8 && c.accum == 1 && c.lr == 0.0f &&
          c.warmup_iters == 500 && c.warmup_ratio == 0.001f && c.size == 512 && c.score_thr == 0.05f &&
          c.nms_iou == 0.5f && c.nms_pre == 1000 && c.max_per_img == 100 && c.self_balance);
    char * buf = NULL;
    size_t n = 0;
    FILE * f = open_memstream(&buf, &n);
    config_print_help(f);
    fclose(f);
    int lines = 0;
    for (size_t j = 0; j < n; j++) lines += buf[j] == '\n';
    check("config_print_help: one line per key", lines == config_n_keys() && strstr(buf, "  lr_steps           ints   75, 95 "));
    free(buf);
    check("config_key_at out of range", config_key_at(-1) == NULL && config_key_at(config_n_keys()) == NULL);
    check("config_choice", strcmp(config_choice("loss", CONFIG_LOSS_FOCAL), "focal") == 0 &&
          strcmp(config_choice("backbone", CONFIG_BACKBONE_RESNEXT101_64X4D), "resnext101_64x4d") == 0 &&
          strcmp(config_choice("loss", 3), "?") == 0 && strcmp(config_choice("batch", 0), "?") == 0);
}

static void test_models(void) {
    struct config c;
    struct config_derived d;
    int all = 1;
    for (int i = 0; i < N_MODELS; i++) all &= load_model(model_names[i], &c) == 0;
    check("every models/ file loads", all);
    // the models/ folder holds exactly these configs (and README.md)
    int n_files = 0;
    DIR * dir = opendir("models");
    struct dirent * e;
    while (dir && (e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "README.md") == 0) continue;
        int known = 0;
        for (int i = 0; i < N_MODELS; i++) known |= strcmp(e->d_name, model_names[i]) == 0;
        if (!known) printf("models/%s is not in the test's list\n", e->d_name);
        n_files += known ? 1 : 100;
    }
    if (dir) closedir(dir);
    check("models/ holds exactly the listed configs", n_files == N_MODELS);

    if (load_model("alrp500_r50", &c) == 0 && config_derive(&c, 117266, 80, &d, err, sizeof err) == 0) {
        check("alrp500_r50: MaxIoU, 6 anchors, R50, steps 60 80", c.assigner == CONFIG_ASSIGNER_MAXIOU && d.n_anchors == 6 &&
              c.backbone == CONFIG_BACKBONE_RESNET50 && c.lr_steps.n == 2 && c.lr_steps.v[0] == 60 && c.lr_steps.v[1] == 80);
        check("alrp500_r50: lr 0.008 at 32, 3665 iterations per epoch (ceil of 3664.6)", d.lr == 0.008f && d.lr_scaled &&
              d.iters_per_epoch == 3665 && d.sb_period == 3665 && d.total_iters == 366500);
        check("alrp500_r50: the test settings", c.test_size == 500 && c.test_max_size == 833 && c.size == 512 &&
              c.bn == CONFIG_BN_FROZEN && c.frozen_stages == 1 && c.head_convs == 4 && c.fpn_channels == 256);
        struct anchors_config a, p;
        config_anchors(&c, &a);
        anchors_config_preset(&p, 6);
        check("alrp500_r50: anchors = the preset for 6", memcmp(&a, &p, sizeof a) == 0);
    }
    if (load_model("alrp500_x101_atss", &c) == 0 && config_derive(&c, 117266, 80, &d, err, sizeof err) == 0) {
        struct anchors_config a, p;
        config_anchors(&c, &a);
        anchors_config_preset(&p, 2);
        check("alrp500_x101_atss: X101-64x4d, ATSS, 2 anchors, steps 75 95", c.backbone == CONFIG_BACKBONE_RESNEXT101_64X4D &&
              c.assigner == CONFIG_ASSIGNER_ATSS && d.n_anchors == 2 && memcmp(&a, &p, sizeof a) == 0 &&
              c.lr_steps.v[0] == 75 && c.lr_steps.v[1] == 95);
    }
    if (load_model("alrp800_r101_atss", &c) == 0 && config_derive(&c, 117266, 80, &d, err, sizeof err) == 0) {
        struct anchors_config a, p;
        config_anchors(&c, &a);
        anchors_config_preset(&p, 3);
        check("alrp800_r101_atss: 3 anchors, batch 16 in groups of 4, lr 0.004, steps 60 80", d.n_anchors == 3 &&
              memcmp(&a, &p, sizeof a) == 0 && c.batch == 16 && c.rank_group == 4 && d.lr == 0.004f && c.lr_steps.v[0] == 60);
        check("alrp800_r101_atss: 7330 iterations per epoch and SB period (not [A]'s 3665)",
              d.iters_per_epoch == 7330 && d.sb_period == 7330);
        check("alrp800_r101_atss: test 800 / 1333", c.size == 800 && c.test_size == 800 && c.test_max_size == 1333);
    }
    if (load_model("aploss500_r50", &c) == 0 && config_derive(&c, 117266, 80, &d, err, sizeof err) == 0) {
        check("aploss500_r50: AP Loss, lr 0.002, 6 anchors", c.loss == CONFIG_LOSS_AP && d.lr == 0.002f && d.n_anchors == 6);
    }
    // [A]'s defaults for the [B] keys; [B]'s values in its files
    config_defaults(&c);
    check("defaults: SGD (the recipes')", c.optimizer == CONFIG_OPT_SGD);
    check("defaults: [A]'s input and model (RGB, [A]'s mean / std, pytorch style, no +1, mmdet post)",
          !c.input_bgr && c.pixel_mean.n == 3 && c.pixel_mean.v[0] == 123.675f && c.pixel_std.v[2] == 57.375f &&
          c.resnet_style == CONFIG_RESNET_PYTORCH && !c.stem_bias && !c.p7_relu && !c.anchor_plus_one && c.post_style == CONFIG_POST_MMDET);
    if (load_model("b_alrp500_r50", &c) == 0 && config_derive(&c, 117266, 80, &d, err, sizeof err) == 0) {
        struct anchors_config a;
        config_anchors(&c, &a);
        check("b_alrp500_r50: [B]'s R50 (caffe, conv1 bias), P7 on ReLU(P6), +1 anchors, seed post, BGR mean std 1",
              c.resnet_style == CONFIG_RESNET_CAFFE && c.stem_bias && c.p7_relu && a.plus_one && d.n_anchors == 6 &&
              c.post_style == CONFIG_POST_SEED && c.score_thr == 0.01f && c.input_bgr && c.pixel_mean.v[0] == 102.9801f &&
              c.pixel_std.v[0] == 1.0f && c.warmup_ratio == 0.3333333f && c.lr_steps.v[0] == 60);
    }
    if (load_model("b_alrp500_x101", &c) == 0 && load_model("b_alrp500_r101", &c) == 0) {
        struct config x;
        load_model("b_alrp500_x101", &x);
        check("b_alrp500_x101: torchvision's ResNeXt-101 32x8d, std 58.395..; b_alrp500_r101: caffe, no conv1 bias, 160 epochs",
              x.backbone == CONFIG_BACKBONE_RESNEXT101_32X8D && x.resnet_style == CONFIG_RESNET_PYTORCH && x.pixel_std.v[0] == 58.395f &&
              c.resnet_style == CONFIG_RESNET_CAFFE && !c.stem_bias && c.epochs == 160 && c.lr_steps.n == 3);
    }
    if (load_model("shapes", &c) == 0 && config_derive(&c, 1000, 4, &d, err, sizeof err) == 0) {
        check("shapes: small at base width 24, bn train, nothing frozen, 48 channels, 2 convs, batch 8, 128 x 128, tested at 192",
              c.backbone == CONFIG_BACKBONE_SMALL && c.base_width == 24 && c.bn == CONFIG_BN_TRAIN && c.frozen_stages == -1 &&
              c.fpn_channels == 48 && c.head_channels == 48 && c.head_convs == 2 && c.batch == 8 && c.size == 128 && c.test_size == 192);
        check("shapes: classes and images from the dataset", d.n_classes == 4 && d.iters_per_epoch == 125);
        check("shapes: AdamW, lr 0.001, decoupled weight decay 0.05", c.optimizer == CONFIG_OPT_ADAMW && c.lr == 0.001f && c.weight_decay == 0.05f);
    }
}

static void test_derived(void) {
    struct config c;
    struct config_derived d;
    config_defaults(&c);
    check("derive: 117266 / 32", config_derive(&c, 117266, 80, &d, err, sizeof err) == 0 && d.iters_per_epoch == 3665);
    check("derive: exact division is not rounded up", config_derive(&c, 64, 80, &d, err, sizeof err) == 0 && d.iters_per_epoch == 2);
    check("derive: fewer images than a batch is one iteration", config_derive(&c, 1, 80, &d, err, sizeof err) == 0 && d.iters_per_epoch == 1);
    // lr scales with batch x accum against base_batch
    config_set(&c, "batch=8", err, sizeof err);
    config_derive(&c, 117266, 80, &d, err, sizeof err);
    check("derive: batch 8 gets a quarter of the lr", d.lr == 0.002f && d.lr_scaled && d.iters_per_epoch == 14659 && d.eff_batch == 8);
    config_set(&c, "accum=4", err, sizeof err);
    config_derive(&c, 117266, 80, &d, err, sizeof err);
    check("derive: batch 8 x accum 4 is the reference lr, 3665 updates", d.lr == 0.008f && d.iters_per_epoch == 3665 && d.eff_batch == 32);
    config_set(&c, "lr=0.05", err, sizeof err);
    config_derive(&c, 117266, 80, &d, err, sizeof err);
    check("derive: an explicit lr is not scaled", d.lr == 0.05f && !d.lr_scaled);
    config_set(&c, "lr=", err, sizeof err);
    config_derive(&c, 117266, 80, &d, err, sizeof err);
    check("derive: an empty lr is derived again", d.lr == 0.008f && d.lr_scaled);
    check("derive: no images", config_derive(&c, 0, 80, &d, err, sizeof err) == -1 && strstr(err, "no training images"));
    check("derive: no classes", config_derive(&c, 10, 0, &d, err, sizeof err) == -1 && strstr(err, "no classes"));
    // schedule: warmup from lr x ratio, then x0.1 after epochs 75 and 95
    config_defaults(&c);
    config_derive(&c, 3200, 80, &d, err, sizeof err);     // 100 updates per epoch
    double lr0 = config_lr_at(&c, &d, 0), lr250 = config_lr_at(&c, &d, 250), lr500 = config_lr_at(&c, &d, 500);
    check("lr: warmup starts at lr x 0.001", fabs(lr0 - 0.008 * 0.001) < 1e-11);
    check("lr: halfway through warmup", fabs(lr250 - 0.008 * (1 - 0.5 * 0.999)) < 1e-9);
    check("lr: after warmup", fabs(lr500 - 0.008) < 1e-9);
    check("lr: epoch 74 full, 75 x0.1, 95 x0.01", fabs(config_lr_at(&c, &d, 7499) - 0.008) < 1e-9 &&
          fabs(config_lr_at(&c, &d, 7500) - 0.0008) < 1e-9 && fabs(config_lr_at(&c, &d, 9500) - 0.00008) < 1e-9);
}

static void test_overrides(void) {
    struct config c, r;
    config_defaults(&c);
    const char * sets[] = { "epochs=2", "batch=4", "size=256", "loss=focal", " rank_group = 4 ", "anchor_ratios=0.5,1 ,2",
                            "lr_steps=", "self_balance=false", "published_ap=none yet", "frozen_stages=-1", "lr=1e-3" };
    int ok = 1;
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        if (config_set(&c, sets[i], err, sizeof err)) { printf("%s\n", err); ok = 0; }
    }
    check("overrides apply", ok && c.epochs == 2 && c.batch == 4 && c.size == 256 && c.loss == CONFIG_LOSS_FOCAL &&
          c.rank_group == 4 && c.anchor_ratios.n == 3 && c.anchor_ratios.v[0] == 0.5f && c.anchor_ratios.v[2] == 2.0f &&
          c.lr_steps.n == 0 && !c.self_balance && strcmp(c.published_ap, "none yet") == 0 && c.frozen_stages == -1 &&
          c.lr == 0.001f);
    check("overrides pass the check", config_check(&c, err, sizeof err) == 0);
    // an override after a file: the file's other values stay
    if (load_model("alrp500_r50_atss", &c) == 0) {
        config_set(&c, "batch=16", err, sizeof err);
        struct config_derived d;
        check("override on a file: batch 16 halves the lr", config_check(&c, err, sizeof err) == 0 &&
              config_derive(&c, 117266, 80, &d, err, sizeof err) == 0 && d.lr == 0.004f && c.assigner == CONFIG_ASSIGNER_ATSS);
    }
    // config_print reads back to the same config, for every model and the overridden one
    int round = 1;
    for (int i = 0; i <= N_MODELS; i++) {
        if (i < N_MODELS && load_model(model_names[i], &c)) { round = 0; continue; }
        if (i == N_MODELS) { config_defaults(&c); for (size_t j = 0; j < sizeof sets / sizeof sets[0]; j++) config_set(&c, sets[j], err, sizeof err); }
        char * buf = NULL;
        size_t n = 0;
        FILE * f = open_memstream(&buf, &n);
        struct config_derived d;
        config_derive(&c, 117266, 80, &d, err, sizeof err);
        config_print(f, &c, &d);
        fclose(f);
        if (config_parse(buf, n, "printed", &r, err, sizeof err) || !config_equal(&c, &r)) { printf("round trip: %s\n", err); round = 0; }
        int lines = 0;
        for (size_t j = 0; j < n; j++) lines += buf[j] == '\n';
        if (i == 0) check("config_print: one line per key and two derived lines", lines == config_n_keys() + 2);
        free(buf);
    }
    check("config_print reads back the same config", round);
    config_defaults(&c);
    config_defaults(&r);
    config_set(&r, "octave_base_scale=4.5", err, sizeof err);
    check("config_equal tells configs apart", config_equal(&c, &c) && !config_equal(&c, &r));
}

// err is exactly one line, begins with `where` and contains `what`
static void check_err(const char * name, int rc, const char * where, const char * what) {
    char msg[2600];
    int ok = rc == -1 && strncmp(err, where, strlen(where)) == 0 && strstr(err, what) != NULL && !strchr(err, '\n');
    snprintf(msg, sizeof msg, "error: %s (got %d: %s)", name, rc, err);
    check(msg, ok);
}

static int parse(const char * text) {
    struct config c;
    return config_parse(text, strlen(text), "models/test", &c, err, sizeof err);
}

static void test_errors(void) {
    struct config c;
    config_defaults(&c);
    // files (text in memory, named like one)
    check_err("unknown key with the list", parse("# a\nbatch = 8\n\n\n\nepochs = 1\nlrr = 0.1\n"), "models/test:7: ", "unknown key 'lrr' (valid keys: backbone, base_width, frozen_stages,");
    check_err("the list ends with the last key", parse("lrr = 0.1\n"), "models/test:1: ", ", published_ap, resnet_style, stem_bias, p7_relu, p6_from_p5, anchor_plus_one, post_style, input_bgr, pixel_mean, pixel_std)");
    check_err("wrong type: int", parse("batch = eight\n"), "models/test:1: ", "key 'batch': value 'eight' is not an integer");
    check_err("wrong type: int given a float", parse("batch = 8.5\n"), "models/test:1: ", "'8.5' is not an integer");
    check_err("wrong type: float", parse("\ndelta = 1.0x\n"), "models/test:2: ", "key 'delta': value '1.0x' is not a number");
    check_err("wrong type: float nan", parse("delta = nan\n"), "models/test:1: ", "is not a number");
    check_err("wrong type: bool", parse("self_balance = yes\n"), "models/test:1: ", "value 'yes' is not true or false");
    check_err("wrong type: enum lists the choices", parse("loss = focall\n"), "models/test:1: ", "value 'focall' is not one of alrp|ap|focal");
    check_err("wrong type: list entry", parse("lr_steps = 60, eighty\n"), "models/test:1: ", "key 'lr_steps': value 'eighty' is not an integer");
    check_err("empty list entry", parse("lr_steps = 60,,80\n"), "models/test:1: ", "empty entry");
    check_err("empty ratios", parse("anchor_ratios =\n"), "models/test:1: ", "key 'anchor_ratios': empty value");
    check_err("empty int", parse("batch =\n"), "models/test:1: ", "key 'batch': value '' is not an integer");
    check_err("duplicate key names both lines", parse("batch = 8\n# x\nepochs = 2\nbatch = 16\n"), "models/test:4: ", "duplicate key 'batch' (first set on line 1)");
    check_err("missing '='", parse("batch = 8\nepochs 2\n"), "models/test:2: ", "missing '=' in 'epochs 2'");
    check_err("missing key", parse(" = 8\n"), "models/test:1: ", "missing key before '='");
    check_err("empty file", parse(""), "models/test: ", "empty config");
    check_err("comments only", parse("# nothing\n\n   # more\n"), "models/test: ", "empty config");
    check_err("out of range: batch 0", parse("batch = 0\n"), "models/test:1: ", "key 'batch': value 0 out of range (expected an integer in [1, 65536])");
    check_err("out of range: delta 0", parse("delta = 0\n"), "models/test:1: ", "key 'delta': value 0 out of range (expected a number in (0, 1000])");
    check_err("out of range: beyond int", parse("epochs = 99999999999999\n"), "models/test:1: ", "out of range");
    // found by reading the fuzz harness's round trip: 1e-50 passed as a double > 0 and was
    // stored as the float 0, which then read back out of range (and lr = 0 means "derive it")
    check_err("out of range: a float that underflows to 0", parse("octave_base_scale = 1e-50\n"), "models/test:1: ", "value 1e-50 out of range");
    check_err("out of range: lr that underflows to 0", parse("lr = 1e-46\n"), "models/test:1: ", "key 'lr': value 1e-46 out of range");
    check_err("out of range: a ratio that underflows to 0", parse("anchor_ratios = 1, 1e-60\n"), "models/test:1: ", "value 1e-60 out of range");
    check_err("out of range: a list entry", parse("lr_steps = 0\n"), "models/test:1: ", "key 'lr_steps': value 0 out of range");
    check_err("rank_group does not divide batch, at the later line", parse("rank_group = 3\nbatch = 16\n"), "models/test:2: ", "rank_group 3 does not divide batch 16");
    check_err("rank_group does not divide the default batch", parse("rank_group = 5\n"), "models/test:1: ", "rank_group 5 does not divide batch 32");
    check_err("lr steps not increasing", parse("lr_steps = 80, 60\n"), "models/test:1: ", "lr_steps must be increasing");
    check_err("test_max_size < test_size", parse("test_size = 900\n"), "models/test:1: ", "test_max_size 833 is less than test_size 900");
    check_err("size not a multiple of 32", parse("size = 500\n"), "models/test:1: ", "size 500 is not a multiple of 32");
    check_err("too many anchors", parse("anchor_ratios = 0.5, 1, 2\nscales_per_octave = 8\n"), "models/test:2: ", "more than 16 anchors per location");
    check_err("small backbone frozen", parse("backbone = small\n"), "models/test:1: ", "frozen_stages must be -1");
    check_err("pixel_mean of 2 numbers", parse("pixel_mean = 1, 2\n"), "models/test:1: ", "pixel_mean and pixel_std take 3 numbers each (got 2 and 3)");
    check_err("pixel_std 0", parse("pixel_std = 1, 0, 1\n"), "models/test:1: ", "key 'pixel_std': value 0 out of range");
    check_err("caffe small backbone", parse("backbone = small\nfrozen_stages = -1\nresnet_style = caffe\n"), "models/test:3: ", "resnet_style caffe needs a bottleneck backbone");
    check_err("post_style choices", parse("post_style = detectron\n"), "models/test:1: ", "is not one of mmdet|seed");
    check_err("NUL byte", config_parse("batch = 8\nep\0ochs = 1\n", 22, "models/test", &c, err, sizeof err), "models/test:2: ", "NUL byte");
    check_err("long text", parse("published_ap = 0123456789012345678901234567890123456789012345678901234567890123456789\n"), "models/test:1: ", "longer than 63 bytes");
    check_err("a value quoted to 40 bytes", parse("loss = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"), "models/test:1: ", "aaaa...' is not one of");
    check_err("unprintable bytes quoted", parse("b\x01tch = 1\n"), "models/test:1: ", "unknown key 'b?tch'");
    // trailing comments, CRLF, tabs and a last line without '\n' are fine
    check("comments, CRLF, tabs, no final newline", parse("batch = 16 # sixteen\r\n\trank_group\t=\t4\r\n# end\nepochs=3") == 0);
    // files
    check_err("unreadable file", config_load("models/no-such-config", &c, err, sizeof err), "models/no-such-config: ", "cannot open");
    check_err("a folder", config_load("models", &c, err, sizeof err), "models: ", "cannot read: Is a directory");
    char tmp[] = "/tmp/test-model-config-XXXXXX";
    int fd = mkstemp(tmp);
    if (fd >= 0) {
        const char text[] = "batch = 8\nbatch = 4\n";
        check("write a temp file", write(fd, text, sizeof text - 1) == (ssize_t) (sizeof text - 1));
        close(fd);
        char where[64];
        snprintf(where, sizeof where, "%s:2: ", tmp);
        check_err("a file's duplicate names the file and line", config_load(tmp, &c, err, sizeof err), where, "duplicate key 'batch' (first set on line 1)");
        unlink(tmp);
    }
    // overrides
    config_defaults(&c);
    check_err("override: unknown key", config_set(&c, "lrr=1", err, sizeof err), "override 'lrr=1': ", "unknown key 'lrr' (valid keys: backbone,");
    check_err("override: missing '='", config_set(&c, "epochs", err, sizeof err), "override 'epochs': ", "missing '='");
    check_err("override: empty", config_set(&c, "", err, sizeof err), "override '': ", "expected key=value");
    check_err("override: out of range", config_set(&c, "batch=0", err, sizeof err), "override 'batch=0': ", "out of range");
    check_err("override: wrong type", config_set(&c, "size=big", err, sizeof err), "override 'size=big': ", "key 'size': value 'big' is not an integer");
    check_err("override: a ratio that underflows to 0 (found by fuzz-config)", config_set(&c, "anchor_ratios=5e-71,2", err, sizeof err),
              "override 'anchor_ratios=5e-71,2': ", "value 5e-71 out of range");
    check_err("override: a comment", config_set(&c, "batch=8#x", err, sizeof err), "override 'batch=8#x': ", "'#'");
    check("a failed override leaves the config valid", config_check(&c, err, sizeof err) == 0 && c.batch == 32);
    check("an override may repeat a key", config_set(&c, "batch=8", err, sizeof err) == 0 && config_set(&c, "batch=16", err, sizeof err) == 0 && c.batch == 16);
    config_set(&c, "rank_group=3", err, sizeof err);
    check_err("config_check after overrides", config_check(&c, err, sizeof err), "config: ", "rank_group 3 does not divide batch 16");
    // small and NULL-free error buffers: truncated, never overrun
    char small[8];
    memset(small, 'x', sizeof small);
    check("a small err buffer is truncated", config_set(&c, "lrr=1", small, sizeof small) == -1 && small[7] == '\0');
    check("no err buffer", config_set(&c, "lrr=1", NULL, 0) == -1);
}

int main(void) {
    test_table();
    test_models();
    test_derived();
    test_overrides();
    test_errors();
    printf("test-model-config: %d checks, %d failed\n", n_checks, n_fail);
    return n_fail != 0;
}
