#!/bin/sh
# tools/coco-gen: --help, normal runs (deterministic bytes, files that tools/coco-eval reads, the
# preset applied before the other options wherever it appears) and bad arguments: each must be
# exactly one line on stderr naming the argument, exit status 2, and no file written.
cd "$(dirname "$0")/.." || exit 1
. tests/cli-common.sh
cli_init test-coco-gen-cli coco-gen
EVAL=${BUILD:-build}/tools/coco-eval

# ---- --help: usage on stdout, nothing on stderr, exit 0
for h in --help -h; do
    "$BIN" $h > "$T/out" 2> "$T/err"; rc=$?
    if [ $rc -eq 0 ] && grep -q "^usage: tools/coco-gen" "$T/out" && grep -q -- "--images N" "$T/out" && [ ! -s "$T/err" ]; then
        ok "$h"; else fail "$h (rc $rc)"; fi
done
"$BIN" > "$T/out" 2> "$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "^usage:" "$T/err" && [ ! -s "$T/out" ] && ok "no arguments: usage on stderr, exit 2" || fail "no arguments (rc $rc)"

# ---- good runs
"$BIN" --images 6 --categories 3 --seed 5 "$T/g1.json" "$T/d1.json"; rc1=$?
"$BIN" --seed 5 --categories 3 --images 6 "$T/g2.json" "$T/d2.json"; rc2=$?
if [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && cmp -s "$T/g1.json" "$T/g2.json" && cmp -s "$T/d1.json" "$T/d2.json"; then
    ok "same options, same bytes"; else fail "determinism (rc $rc1 $rc2)"; fi
if [ -x "$EVAL" ]; then
    out=$("$EVAL" "$T/g1.json" "$T/d1.json" --json); rc=$?
    [ $rc -eq 0 ] && echo "$out" | grep -q '"images":6' && ok "coco-eval reads the files" || fail "coco-eval on the files (rc $rc)"
fi
"$BIN" --images 4 --preset val2017 "$T/g3.json"; rc1=$?
"$BIN" --preset val2017 --images 4 "$T/g4.json"; rc2=$?
if [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && cmp -s "$T/g3.json" "$T/g4.json" && [ "$(wc -c < "$T/g3.json")" -lt 100000 ]; then
    ok "--preset before or after --images"; else fail "--preset and --images order (rc $rc1 $rc2)"; fi

# ---- bad arguments: exit 2, one line on stderr containing every given pattern, no file
expect_error() {  # name, patterns (|-separated), args...
    name=$1; pats=$2; shift 2
    rm -f "$T/x.json" "$T/y.json"
    "$BIN" "$@" > "$T/out" 2> "$T/err"; rc=$?
    lines=$(wc -l < "$T/err")
    good=1
    [ $rc -eq 2 ] || good=0
    [ "$lines" -eq 1 ] || good=0
    [ -s "$T/out" ] && good=0
    [ -e "$T/x.json" ] && good=0
    old_ifs=$IFS; IFS='|'
    for p in $pats; do grep -qF -- "$p" "$T/err" || good=0; done
    IFS=$old_ifs
    if [ $good -eq 1 ]; then ok "$name: $(cat "$T/err")"; else fail "$name (rc $rc, $lines lines): $(cat "$T/err")"; fi
}

expect_error "unknown preset" "unknown preset 'foo'|small, val2017 or train2017" --preset foo "$T/x.json"
expect_error "--images not a number" "--images: 'abc' is not a positive integer" --images abc "$T/x.json"
expect_error "--images zero" "--images: '0'|out of range" --images 0 "$T/x.json"
expect_error "--images with a suffix" "--images: '12k'" --images 12k "$T/x.json"
expect_error "--categories too many" "--categories: '81'|1 to 80" --categories 81 "$T/x.json"
expect_error "--gts-per-image negative" "--gts-per-image: '-3'" --gts-per-image -3 "$T/x.json"
expect_error "--seed negative" "--seed: '-1'" --seed -1 "$T/x.json"
expect_error "--seed too large" "--seed: '18446744073709551616'|too large" --seed 18446744073709551616 "$T/x.json"
expect_error "missing value" "--dets-per-image needs a value" "$T/x.json" --dets-per-image
expect_error "unknown option" "unknown option '--bogus'" --bogus "$T/x.json"
expect_error "too many arguments" "too many arguments: '$T/z.json'" "$T/x.json" "$T/y.json" "$T/z.json"
expect_error "no output file" "no output file" --polygons
"$BIN" "$T/nodir/x.json" > /dev/null 2> "$T/err"; rc=$?
[ $rc -eq 1 ] && [ "$(wc -l < "$T/err")" -eq 1 ] && grep -qF "$T/nodir/x.json" "$T/err" && ok "unwritable path: $(cat "$T/err")" || fail "unwritable path (rc $rc)"

cli_done
