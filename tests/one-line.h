// Shared by test-safetensors and fuzz-safetensors: a message is one line when it holds no
// control character (bytes < 0x20 and DEL, the C1 controls U+0080..U+009F, and U+2028, U+2029:
// line and paragraph separators).
#ifndef TESTS_ONE_LINE_H
#define TESTS_ONE_LINE_H
static int one_line(const char * s) {
    for (const unsigned char * c = (const unsigned char *) s; *c; c++) {
        if (*c < 0x20 || *c == 0x7f) return 0;
        if (c[0] == 0xC2 && c[1] >= 0x80 && c[1] <= 0x9F) return 0;
        if (c[0] == 0xE2 && c[1] == 0x80 && (c[2] == 0xA8 || c[2] == 0xA9)) return 0;
    }
    return 1;
}
#endif
