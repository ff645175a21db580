#!/bin/sh
# make demo: installs what is missing (Debian packages, when run as root), builds, trains the
# shapes model on the CPU (data/shapes is generated on first use), evaluates it on the val split
# and runs infer on a val image. The run folder is runs/demo (made afresh); the annotated image
# is runs/demo/infer/<image>.png.
set -e
cd "$(dirname "$0")/.."
need=""
command -v cc >/dev/null 2>&1 || need="$need gcc"
command -v make >/dev/null 2>&1 || need="$need make"
[ -f /usr/include/stb/stb_image.h ] || need="$need libstb-dev"
if [ -n "$need" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "demo: installing$need"
        DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need >/dev/null
    else
        echo "demo: missing$need: install them (sudo apt-get install$need) and run make demo again" >&2
        exit 1
    fi
fi
echo "demo: building"
make -j"$(nproc)" --no-print-directory demo-build > build-demo.log 2>&1 || { tail -20 build-demo.log; exit 1; }
rm -f build-demo.log
for e in build/examples/*; do [ -x "$e" ] && { echo "== $e"; "$e"; }; done
echo "== detector/detector train shapes --out runs/demo"
rm -rf runs/demo
start=$(date +%s)
detector/detector train shapes --out runs/demo --log-every 100
echo "demo: trained in $(($(date +%s) - start)) s"
echo "== detector/detector eval shapes --weights runs/demo/best.safetensors"
detector/detector eval shapes --weights runs/demo/best.safetensors | grep -E "^eval:|Average Precision  \(AP\) @\[ IoU=0.50(:0.95)? +\| area=   all|^ oLRP|^   oLRP"
img=data/shapes/val2017/000000000002.jpg   # a val image with 6 objects (the set is the same everywhere)
echo "== detector/detector infer $img --weights runs/demo/best.safetensors --out runs/demo/infer"
detector/detector infer "$img" --weights runs/demo/best.safetensors --out runs/demo/infer
