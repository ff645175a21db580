#!/bin/sh
# tools/coco-eval: normal runs (table, --json keys, --per-class, --olrp-grid) and bad input: a
# missing file, malformed or truncated JSON, unknown image or category ids, non-finite numbers,
# negative sizes, bad options. Each failure must be exactly one line on stderr naming the file
# (and the entry), exit status 2, never a crash. Runs the build variant's binary
# ($BUILD/tools/coco-eval, BUILD from tests/run.sh), so make SANITIZE=1 test sanitizes it too.
cd "$(dirname "$0")/.." || exit 1
. tests/cli-common.sh
cli_init test-coco-eval-cli coco-eval

cat > "$T/gt.json" <<'JSON'
{"images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 100},
            {"id": 2, "file_name": "b.jpg", "width": 100, "height": 100}],
 "annotations": [{"id": 1, "image_id": 1, "category_id": 3, "bbox": [10, 10, 20, 20], "area": 400, "iscrowd": 0},
                 {"id": 2, "image_id": 2, "category_id": 3, "bbox": [50, 50, 10, 10], "area": 100, "iscrowd": 0}],
 "categories": [{"id": 3, "name": "thing"}, {"id": 7, "name": "other"}]}
JSON
cat > "$T/dt.json" <<'JSON'
[{"image_id": 1, "category_id": 3, "bbox": [10, 10, 20, 20], "score": 0.9},
 {"image_id": 2, "category_id": 3, "bbox": [50, 50, 10, 10], "score": 0.8},
 {"image_id": 2, "category_id": 7, "bbox": [0, 0, 5, 5], "score": 0.1}]
JSON

# ---- good runs
out=$("$BIN" "$T/gt.json" "$T/dt.json"); rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q "Average Precision  (AP) @\[ IoU=0.50:0.95 | area=   all | maxDets=100 \] = 1.000" \
   && echo "$out" | grep -q "oLRP  0.000"; then ok "table output"; else fail "table output (rc $rc)"; echo "$out"; fi

out=$("$BIN" "$T/gt.json" "$T/dt.json" --json); rc=$?
missing=""
for k in AP AP50 AP75 APs APm APl AR1 AR10 AR100 ARs ARm ARl AP_per_iou oLRP oLRP_loc oLRP_FP oLRP_FN images detections; do
    echo "$out" | grep -q "\"$k\":" || missing="$missing $k"
done
if [ $rc -eq 0 ] && [ -z "$missing" ] && echo "$out" | grep -q '"APm":-1' && echo "$out" | grep -q '"images":2' \
   && echo "$out" | grep -q '"detections":3' && ! echo "$out" | grep -q per_class; then ok "--json keys"; else fail "--json keys (rc $rc, missing:$missing)"; echo "$out"; fi

out=$("$BIN" --per-class --json "$T/gt.json" "$T/dt.json"); rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q '"per_class":' && echo "$out" | grep -q '"name":"other"'; then ok "--per-class --json"; else fail "--per-class --json"; fi
out=$("$BIN" "$T/gt.json" "$T/dt.json" --per-class --olrp-grid); rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q "thresholds 0:.01:1" && echo "$out" | grep -q "^ other"; then ok "--per-class --olrp-grid table"; else fail "--per-class --olrp-grid"; fi
"$BIN" --help > /dev/null; rc=$?
[ $rc -eq 0 ] && ok "--help" || fail "--help (rc $rc)"

# ---- bad input: exit 2, one line on stderr containing every given pattern
expect_error() {  # name, patterns (|-separated), args...
    name=$1; pats=$2; shift 2
    "$BIN" "$@" > "$T/out" 2> "$T/err"; rc=$?
    lines=$(wc -l < "$T/err")
    good=1
    [ $rc -eq 2 ] || good=0
    [ "$lines" -eq 1 ] || good=0
    [ -s "$T/out" ] && good=0
    old_ifs=$IFS; IFS='|'
    for p in $pats; do grep -qF -- "$p" "$T/err" || good=0; done
    IFS=$old_ifs
    if [ $good -eq 1 ]; then ok "$name: $(cat "$T/err")"; else fail "$name (rc $rc, $lines lines): $(cat "$T/err")"; fi
}

expect_error "missing GT file" "$T/nope.json|cannot open" "$T/nope.json" "$T/dt.json"
expect_error "missing results file" "$T/nope2.json|cannot open" "$T/gt.json" "$T/nope2.json"
printf '{"images": [{"id": 1}], "categories": [}' > "$T/bad.json"
expect_error "malformed GT" "$T/bad.json:1:|expected" "$T/bad.json" "$T/dt.json"
head -c 100 "$T/dt.json" > "$T/trunc.json"
expect_error "truncated results" "$T/trunc.json:2:|detection[1]: unterminated string" "$T/gt.json" "$T/trunc.json"
head -c 150 "$T/gt.json" > "$T/trunc-gt.json"
expect_error "truncated GT" "$T/trunc-gt.json:" "$T/trunc-gt.json" "$T/dt.json"
: > "$T/empty.json"
expect_error "empty results file" "$T/empty.json:1:" "$T/gt.json" "$T/empty.json"
printf '[{"image_id": 1, "category_id": 3, "bbox": [1, 2, 3, 4], "score": 0.5},\n {"image_id": 99, "category_id": 3, "bbox": [1, 2, 3, 4], "score": 0.5}]' > "$T/d1.json"
expect_error "unknown image id" "$T/d1.json:2:|detection[1].image_id|image_id 99 is not an image of $T/gt.json" "$T/gt.json" "$T/d1.json"
printf '[{"image_id": 1, "category_id": 4, "bbox": [1, 2, 3, 4], "score": 0.5}]' > "$T/d2.json"
expect_error "unknown category id" "detection[0].category_id|category_id 4 is not a category" "$T/gt.json" "$T/d2.json"
printf '[{"image_id": 1, "category_id": 3, "bbox": [1, 2, 3, 4], "score": NaN}]' > "$T/d3.json"
expect_error "NaN score" "$T/d3.json:1:|detection[0].score" "$T/gt.json" "$T/d3.json"
printf '[{"image_id": 1, "category_id": 3, "bbox": [1, 2, 1e999, 4], "score": 0.5}]' > "$T/d4.json"
expect_error "infinite box" "detection[0].bbox|not a finite number" "$T/gt.json" "$T/d4.json"
printf '[{"image_id": 1, "category_id": 3, "bbox": [1, 2, -3, 4], "score": 0.5}]' > "$T/d5.json"
expect_error "negative width" "detection[0].bbox|negative box size" "$T/gt.json" "$T/d5.json"
printf '[{"image_id": 1, "category_id": 3, "bbox": [1, 2, 3, 4]}]' > "$T/d6.json"
expect_error "missing score" "detection[0]|no \"score\"" "$T/gt.json" "$T/d6.json"
printf '{"images": [{"id": 1}], "categories": [{"id": 1}], "annotations": [{"id": 1, "image_id": 2, "category_id": 1, "bbox": [0, 0, 1, 1]}]}' > "$T/g2.json"
expect_error "GT annotation with an unknown image" "$T/g2.json|annotations[0]|image_id 2" "$T/g2.json" "$T/dt.json"
printf '{"images": [{"id": 1}], "categories": [{"id": 3}], "annotations": [{"id": 1, "image_id": 1, "category_id": 3, "bbox": [0, 0, 1, -1]}]}' > "$T/g3.json"
expect_error "GT negative height" "$T/g3.json|annotations[0].bbox|negative" "$T/g3.json" "$T/dt.json"
printf '\377\376[' > "$T/bin.json"
expect_error "binary garbage" "$T/bin.json:1:" "$T/gt.json" "$T/bin.json"
expect_error "unknown option" "unknown option '--bogus'" "$T/gt.json" "$T/dt.json" --bogus
expect_error "too many arguments" "too many arguments" "$T/gt.json" "$T/dt.json" "$T/dt.json"
"$BIN" > /dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "no arguments: usage, exit 2" || fail "no arguments (rc $rc)"
"$BIN" "$T" "$T/dt.json" > /dev/null 2> "$T/err"; rc=$?
[ $rc -eq 2 ] && [ "$(wc -l < "$T/err")" -eq 1 ] && ok "a directory as GT: $(cat "$T/err")" || fail "directory as GT (rc $rc)"

cli_done
