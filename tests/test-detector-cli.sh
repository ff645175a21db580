#!/bin/sh
# ./detector end to end on small shapes sets made by tools/shapes-gen (folders in COCO's layout,
# so this is also the "small COCO-layout folder" case):
#   - learning: a 24-image split whose val split is its train split (a memorisation check of the
#     whole pipeline: loader, targets, the aLRP step, checkpoints, post-processing, evaluation):
#     one update scores AP50 < 0.02, 210 updates reach AP50 >= 0.3 (60 updates and >= 0.05
#     under SANITIZE=1); eval (the latest run by default) and infer on the result;
#   - a run killed with SIGKILL and resumed gives the same loss curve, bit for bit, as the
#     uninterrupted run;
#   - bad input: each one line naming the file or value, a non-zero exit, nothing lost.
cd "$(dirname "$0")/.." || exit 1
. tests/cli-common.sh
cli_init test-detector-cli shapes-gen
SG=$BIN
DET=${BUILD:-build}/detector/detector
[ -x "$DET" ] || { echo "FAIL $DET not built"; exit 1; }
export ALRP_RUNS="$T/runs"
case "${BUILD:-build}" in *san*) SAN=1;; *) SAN=0;; esac
if [ $SAN -eq 1 ]; then EPOCHS=20; BAR=0.05; else EPOCHS=70; BAR=0.3; fi
S="$T/shapes"
"$SG" "$S" --train 24 --val 8 --size 128 --radius 20 64 --objects 3 --clutter 1 > "$T/gen.log" 2>&1 && ok "shapes-gen: $(cat "$T/gen.log")" || { fail "shapes-gen"; cat "$T/gen.log"; cli_done; exit 1; }
M="$T/memo"   # the same images, val = train
mkdir -p "$M/annotations"
ln -s "$S/train2017" "$M/train2017"; ln -s "$S/train2017" "$M/val2017"
cp "$S/annotations/instances_train2017.json" "$M/annotations/"; cp "$S/annotations/instances_train2017.json" "$M/annotations/instances_val2017.json"
KEYS="base_width=16 fpn_channels=64 head_channels=64 size=128 test_size=128 test_max_size=213 batch=8 rank_group=8 warmup_iters=20 eval_every=0 ckpt_every=0 optimizer=sgd weight_decay=0.0001 lr=0.01"
LEARN="aug_photometric=false aug_crop=false aug_flip=false lr_steps=60"
ap50() { awk '/Average Precision.*IoU=0.50 .*area=   all.*maxDets=100/ { print $NF; exit }' "$1"; }

# ---- untrained: one update, then eval scores ~0
"$DET" train "$M" --out "$T/r0" --stop-after 1 --threads 2 $KEYS epochs=1 > "$T/r0.log" 2>&1; rc=$?
"$DET" eval "$M" --weights "$T/r0/last.safetensors" --threads 2 > "$T/e0.log" 2>&1; rc2=$?
a0=$(ap50 "$T/e0.log")
if [ $rc -eq 0 ] && [ $rc2 -eq 0 ] && [ -n "$a0" ] && awk "BEGIN { exit !($a0 < 0.02) }"; then ok "untrained model: AP50 $a0 < 0.02"
else fail "untrained model (rc $rc $rc2, AP50 '$a0')"; tail -5 "$T/r0.log" "$T/e0.log"; fi

# ---- trained: 3 updates per epoch
"$DET" train "$M" --threads 2 $KEYS $LEARN epochs=$EPOCHS > "$T/r1.log" 2>&1; rc=$?   # the default run folder: runs/memo-shapes
ln -s "$ALRP_RUNS/memo-shapes" "$T/r1"
a1=$(ap50 "$T/r1.log")
if [ $rc -eq 0 ] && [ -n "$a1" ] && awk "BEGIN { exit !($a1 >= $BAR) }"; then ok "trained $EPOCHS epochs ($(($(grep -c '' "$T/r1/steps.csv") - 1)) updates): AP50 $a1 >= $BAR"
else fail "training (rc $rc, AP50 '$a1')"; tail -20 "$T/r1.log"; fi
for f in last.safetensors best.safetensors results.csv steps.csv loss.png metrics.png pr.png lrp.png train_batch.png val_predictions.png results_val.json train.log; do
    [ -s "$T/r1/$f" ] || fail "run folder: $f missing"
done
ok "run folder: $(ls "$T/r1/" | tr '\n' ' ')"
"$DET" eval "$M" --threads 2 --results "$T/val.json" > "$T/e1.log" 2>&1; rc=$?   # no --weights: the latest run on this dataset
a2=$(ap50 "$T/e1.log")
[ $rc -eq 0 ] && [ "$a2" = "$a1" ] && [ -s "$T/val.json" ] && ok "eval (the latest run's best): AP50 $a2, results file written" || { fail "eval (rc $rc, '$a2' vs '$a1')"; tail -5 "$T/e1.log"; }
IMG=$(ls "$S/train2017" | head -1)
"$DET" infer "$S/train2017/$IMG" --out "$T/inf" > "$T/i.out" 2> "$T/i.err"; rc=$?
n=$(grep -c -E '^[a-z]+ [0-9]\.[0-9]{4} -?[0-9]+\.[0-9]{2} -?[0-9]+\.[0-9]{2} -?[0-9]+\.[0-9]{2} -?[0-9]+\.[0-9]{2}$' "$T/i.out")
[ $rc -eq 0 ] && [ "$n" -ge 1 ] && [ -s "$T/inf/${IMG%.*}.png" ] && ok "infer: $n detections printed, annotated copy written" || { fail "infer (rc $rc, $n lines)"; cat "$T/i.err"; }

# ---- SIGKILL and --resume: the same loss curve as the uninterrupted run (AdamW: two state
# tensors per parameter and the step count come back from the checkpoint)
RK="$KEYS optimizer=adamw lr=0.001 weight_decay=0.05 epochs=12 ckpt_every=10"
"$DET" train "$S" --out "$T/ru" --threads 2 $RK > "$T/ru.log" 2>&1
"$DET" train "$S" --out "$T/rk" --threads 2 $RK > "$T/rk.log" 2>&1 &
pid=$!
i=0
while [ $i -lt 600 ]; do
    [ -f "$T/rk/steps.csv" ] && [ "$(grep -c '' "$T/rk/steps.csv")" -ge 15 ] && break
    sleep 0.1; i=$((i + 1))
done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
killed_at=$(($(grep -c '' "$T/rk/steps.csv") - 1))
"$DET" train --resume "$T/rk" --threads 2 > "$T/rr.log" 2>&1; rc=$?
cut -d, -f1-10 "$T/ru/steps.csv" > "$T/a.csv"; cut -d, -f1-10 "$T/rk/steps.csv" > "$T/b.csv"
if [ $rc -eq 0 ] && [ "$killed_at" -lt "$(($(grep -c '' "$T/a.csv") - 1))" ] && cmp -s "$T/a.csv" "$T/b.csv"; then
    ok "killed (SIGKILL) at update $killed_at and resumed: the loss curve equals the uninterrupted run's, bit for bit"
else fail "resume after SIGKILL (rc $rc, killed at $killed_at)"; diff "$T/a.csv" "$T/b.csv" | head -5; tail -3 "$T/rr.log"; fi

# ---- bad input: one line naming the problem, non-zero exit
one_line() {   # what, expected exit (any non-zero if empty), pattern, command...
    what=$1; pat=$2; shift 2
    "$@" > "$T/bo" 2> "$T/be"; rc=$?
    if [ $rc -ne 0 ] && [ "$(grep -c '' "$T/be")" -eq 1 ] && grep -q -- "$pat" "$T/be"; then ok "$what: $(cat "$T/be")"
    else fail "$what (rc $rc)"; head -3 "$T/be"; fi
}
one_line "missing dataset" "COCO's layout" "$DET" train "$T/nothing-here" --out "$T/x1"
mkdir -p "$T/emptydata"
one_line "train coco without COCO" "cocodataset.org" "$DET" train coco --data "$T/emptydata" --out "$T/x2"
one_line "unknown config key" "valid keys" "$DET" train "$S" --out "$T/x3" lrr=0.1
one_line "value of the wrong type" "batch" "$DET" train "$S" --out "$T/x4" batch=abc
one_line "infer: no such image" "$T/nope.jpg" "$DET" infer "$T/nope.jpg" --weights "$T/r1/best.safetensors" --out "$T/x5"
O="$T/other"; mkdir -p "$O/annotations" "$O/train2017" "$O/val2017"
${BUILD:-build}/tools/coco-gen --images 4 --categories 3 "$O/annotations/instances_train2017.json" > /dev/null 2>&1
cp "$O/annotations/instances_train2017.json" "$O/annotations/instances_val2017.json"
one_line "a checkpoint of another dataset" "another dataset" "$DET" train "$O" --resume "$T/rk"
one_line "resume with another config" "another config" "$DET" train --resume "$T/rk" batch=4
one_line "weights that are not a model" "$T/gen.log" "$DET" eval "$S" --weights "$T/gen.log"
# a checkpoint with a NaN weight (the first 4 data bytes, after the 8-byte length and the header)
cp "$T/r1/best.safetensors" "$T/nan.safetensors"
hl=$(od -An -t u4 -N4 "$T/nan.safetensors" | tr -d ' ')
printf '\000\000\300\177' | dd of="$T/nan.safetensors" bs=1 seek=$((8 + hl)) conv=notrunc 2>/dev/null
one_line "eval: a NaN weight" "use an earlier checkpoint" "$DET" eval "$M" --weights "$T/nan.safetensors"
ALRP_RUNS="$T/no-runs" one_line "infer with no run yet" "./detector train shapes" "$DET" infer "$S/train2017/$IMG"

# a corrupt image and a missing one in the training set: warnings, training goes on
C="$T/corrupt"
cp -r "$S" "$C"
f1=$(ls "$C/train2017" | head -1); f2=$(ls "$C/train2017" | sed -n 2p)
head -c 300 "$S/train2017/$f1" > "$C/train2017/$f1"
rm "$C/train2017/$f2"
"$DET" train "$C" --out "$T/rc" --threads 2 $KEYS epochs=1 > "$T/rc.log" 2> "$T/rc.err"; rc=$?
if [ $rc -eq 0 ] && grep -q "warning: .*$f1" "$T/rc.err" && grep -q "warning: .*$f2" "$T/rc.err"; then ok "a corrupt and a missing training image: skipped with warnings, training finished"
else fail "corrupt images (rc $rc)"; tail -5 "$T/rc.err"; fi

# a checkpoint write that fails (ulimit -f): the previous checkpoint stays intact and the message says so
"$DET" train "$S" --out "$T/rf" --threads 2 $KEYS epochs=10 ckpt_every=10 --stop-after 5 > "$T/uf0.log" 2>&1
cp "$T/rf/last.safetensors" "$T/before.safetensors"
sz=$(($(wc -c < "$T/before.safetensors") / 2048))
( ulimit -f $sz; exec "$DET" train --resume "$T/rf" --threads 2 > "$T/uf.log" 2> "$T/uf.err" ); rc=$?
if [ $rc -ne 0 ] && grep -q "intact" "$T/uf.err" && cmp -s "$T/rf/last.safetensors" "$T/before.safetensors" && ! ls "$T/rf" | grep -q tmp; then
    ok "checkpoint write fails (ulimit -f): $(head -1 "$T/uf.err")"
else fail "failed checkpoint write (rc $rc)"; head -3 "$T/uf.err"; ls "$T/rf"; fi
cli_done
