#!/bin/sh
# tools/convert-weights on the test checkpoints (tests/data/pth): both formats of a file give the
# same bytes, the counts of each kind, and bad input: one line on stderr, exit 1 (2 for usage),
# no output file.
cd "$(dirname "$0")/.." || exit 1
. tests/cli-common.sh
cli_init test-convert-weights-cli convert-weights
D=tests/data/pth

mkdir -p "$T/zip" "$T/legacy"
"$BIN" $D/tv_r50.pth "$T/zip/tv.safetensors" --from torchvision > "$T/out1"; rc1=$?
cp $D/tv_r50_legacy.pth "$T/legacy/tv_r50.pth"
"$BIN" "$T/legacy/tv_r50.pth" "$T/legacy/tv.safetensors" --from torchvision > "$T/out2"; rc2=$?
if [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && grep -q "265 tensors written to .*, 53 num_batches_tracked dropped, 2 unused: fc.weight, fc.bias" "$T/out1" &&
   cmp -s "$T/zip/tv.safetensors" "$T/legacy/tv.safetensors"; then
    ok "torchvision ResNet-50: zip and legacy give the same file, fc.* unused"; else fail "torchvision (rc $rc1 $rc2)"; fi
for f in a_retinanet.pth a_retinanet_legacy.pth; do
    "$BIN" $D/$f "$T/a.safetensors" --from mmdet > "$T/out" 2>&1; rc=$?
    [ $rc -eq 0 ] && grep -q "mmdet names: 301 tensors written .* 53 num_batches_tracked dropped, 0 unused" "$T/out" && ok "[A] $f" || fail "[A] $f (rc $rc): $(cat "$T/out")"
done
for f in b_seed.pth b_seed_legacy.pth; do
    "$BIN" $D/$f "$T/b.safetensors" --from auto > "$T/out" 2>&1; rc=$?
    [ $rc -eq 0 ] && grep -q "'module.' removed), seed names: 302 tensors written .* 0 unused" "$T/out" && ok "[B] $f (auto)" || fail "[B] $f (rc $rc): $(cat "$T/out")"
done
"$BIN" "$T/b.safetensors" "$T/b2.safetensors" --from ours > "$T/out" 2>&1; rc=$?
[ $rc -eq 0 ] && grep -q "safetensors, ours names: 302 tensors" "$T/out" && ok "our own safetensors file, --from ours" || fail "ours (rc $rc)"

# bad input: exit 1, one line, no output
bad() {  # what, expected text, args...
    what=$1; want=$2; shift 2
    "$BIN" "$@" > "$T/out" 2> "$T/err"; rc=$?
    if [ $rc -eq 1 ] && [ "$(wc -l < "$T/err")" -eq 1 ] && grep -q -- "$want" "$T/err" && [ ! -e "$T/bad.safetensors" ] && [ ! -e "$T/bad.safetensors.tmp" ]; then
        ok "$what"; else fail "$what (rc $rc): $(cat "$T/err")"; fi
}
bad "DCN refused" "deformable-convolution (DCN)" $D/bad_dcn.pth "$T/bad.safetensors" --from mmdet
bad "Faster R-CNN refused" "Faster R-CNN" $D/bad_faster_rcnn.pth "$T/bad.safetensors" --from auto
bad "numpy where a tensor should be" "'b' is an opaque object made by 'numpy" $D/bad_numpy.pth "$T/bad.safetensors" --from auto
bad "short storage" "shorter than its tensor" $D/bad_short_storage.pth "$T/bad.safetensors" --from auto
bad "wrong --from: nothing maps" "no tensor maps to our names with --from seed" $D/a_retinanet.pth "$T/bad.safetensors" --from seed
bad "missing file" "cannot open" "$T/nope.pth" "$T/bad.safetensors" --from auto
head -c 500 $D/tv_r50.pth > "$T/cut.pth"
bad "truncated zip" "truncated" "$T/cut.pth" "$T/bad.safetensors" --from torchvision
# usage: exit 2
"$BIN" $D/tv_r50.pth "$T/bad.safetensors" --from caffe 2> "$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "expected torchvision, mmdet, seed, ours or auto" "$T/err" && ok "--from caffe: usage" || fail "--from caffe (rc $rc)"
"$BIN" $D/tv_r50.pth 2> "$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "^usage:" "$T/err" && ok "missing arguments: usage" || fail "missing arguments (rc $rc)"
cli_done
