# Sourced by the CLI tests (tests/test-*-cli.sh; not a test itself): from the repository root,
# with BUILD from tests/run.sh so that make SANITIZE=1 test runs the sanitized binaries.
#     . tests/cli-common.sh; cli_init NAME TOOL    (sets BIN=$BUILD/tools/TOOL and a temp dir $T)
#     ok "what"; fail "what"; ...; cli_done
cli_init() {
    BIN=${BUILD:-build}/tools/$2
    [ -x "$BIN" ] || { echo "FAIL $BIN not built (run make)"; exit 1; }
    T=$(mktemp -d "/tmp/$1.XXXXXX") || exit 1
    trap 'rm -rf "$T"' EXIT
    fails=0
}
ok()   { echo "OK   $1"; }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }
cli_done() { echo "$fails failed"; [ "$fails" -eq 0 ]; }
