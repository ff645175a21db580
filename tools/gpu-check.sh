#!/bin/sh
# tools/gpu-check.sh: the CUDA backend's checks for a machine with a GPU, in one go (a few
# minutes): builds the normal variant with nvcc, runs the op table (every op, forward and
# backward, CUDA against the CPU), the two-step training test (CPU against CUDA, plain and with
# CUDA graphs) and bench-cuda (aLRP loss at n = 7e6, P = 500; R50 aLRP step at batch 8, 512 x 512),
# and, if torch with CUDA is importable, torchvision's RetinaNet R50 training step at the same
# size next to it. Writes everything to ${OUT:-gpu-check-out}/ and prints a summary; exits
# non-zero when a test fails.
#     sh tools/gpu-check.sh            (from the repository root)
set -u
OUT=${OUT:-gpu-check-out}
mkdir -p "$OUT"
nvidia-smi -L > "$OUT/gpu.txt" 2>&1 || true
command -v nvcc >/dev/null || { echo "gpu-check: nvcc not found: nothing to check"; exit 1; }
J=$(nproc 2>/dev/null || echo 4)
echo "== build (make -j$J)"
make -j"$J" build/alrp-cuda.o build/tests/test-backend-ops build/tests/test-cuda-step build/bench/bench-cuda > "$OUT/build.log" 2>&1 \
    || { tail -30 "$OUT/build.log"; echo "gpu-check: build FAILED"; exit 1; }
grep -i "warning" "$OUT/build.log" && echo "gpu-check: the build has warnings (see $OUT/build.log)"
rc=0
echo '== test-backend-ops -b "CUDA 0" (every op, CUDA against the CPU)'
timeout 600 build/tests/test-backend-ops -b "CUDA 0" > "$OUT/test-backend-ops.log" 2>&1 || rc=1
grep -E "skipped|backends:|cases of|failed:|FAIL" "$OUT/test-backend-ops.log" | head -40
echo "== test-backend-ops --tf32 (the GEMMs and convs with TF32: NMSE <= 1e-5)"
timeout 300 build/tests/test-backend-ops -b "CUDA 0" --tf32 -o MATMUL,CONV2D,CONV2D_AFFINE > "$OUT/test-backend-ops-tf32.log" 2>&1 || rc=1
grep -E "cases of|failed:" "$OUT/test-backend-ops-tf32.log" | head -20
echo "== test-cuda-step (shapes model, two steps, CPU against CUDA)"
timeout 300 build/tests/test-cuda-step > "$OUT/test-cuda-step.log" 2>&1 || rc=1
tail -8 "$OUT/test-cuda-step.log"
echo "== bench-cuda"
timeout 600 build/bench/bench-cuda --steps 5 > "$OUT/bench-cuda.log" 2>&1 || rc=1
cat "$OUT/bench-cuda.log"
echo "== PyTorch torchvision RetinaNet R50 training step, batch 8, 512x512"
timeout 300 python3 - > "$OUT/torch.log" 2>&1 <<'PY' || echo "(no torch with CUDA, or it failed: $OUT/torch.log)"
import time, torch, torchvision
assert torch.cuda.is_available(), "no CUDA in torch"
dev = torch.device("cuda")
m = torchvision.models.detection.retinanet_resnet50_fpn(weights=None, weights_backbone=None, num_classes=91,
                                                        min_size=512, max_size=512).to(dev).train()
opt = torch.optim.SGD(m.parameters(), lr=1e-4, momentum=0.9, weight_decay=1e-4)
g = torch.Generator().manual_seed(0)
imgs = [torch.rand(3, 512, 512, generator=g).to(dev) for _ in range(8)]
tg = []
for _ in range(8):
    xy = torch.rand(5, 2, generator=g) * 400
    wh = 16 + torch.rand(5, 2, generator=g) * 96
    tg.append({"boxes": torch.cat([xy, xy + wh], 1).to(dev), "labels": torch.randint(1, 91, (5,), generator=g).to(dev)})
for tf32 in (False, True):
    torch.backends.cuda.matmul.allow_tf32 = tf32; torch.backends.cudnn.allow_tf32 = tf32
    ts = []
    for k in range(7):
        torch.cuda.synchronize(); t0 = time.time()
        loss = sum(m(imgs, tg).values()); opt.zero_grad(); loss.backward(); opt.step()
        torch.cuda.synchronize()
        if k >= 2: ts.append(time.time() - t0)
    ts.sort()
    print("torchvision RetinaNet R50 (focal loss) training step, batch 8, 512x512%s: %.2f images/s" % (", TF32" if tf32 else "", 8 / ts[len(ts) // 2]))
PY
cat "$OUT/torch.log" | tail -3
echo "== summary: $( [ $rc -eq 0 ] && echo 'CUDA tests passed' || echo 'CUDA tests FAILED' ) (logs in $OUT/)"
exit $rc
