#!/bin/sh
# Runs the conv and loss benchmarks of two commits back to back, alternating, and prints the
# time of every row of each and the ratio (after / before: < 1 is faster). Each commit is built
# with its own Makefile in a temporary worktree; rows are matched by name, and each figure is
# the best over the rounds (the machine is shared: best-of is the stable figure).
#     bench/compare-commits.sh BEFORE AFTER [rounds]      e.g. bench/compare-commits.sh HEAD~1 HEAD 2
set -eu
before=${1:?usage: compare-commits.sh BEFORE AFTER [rounds]}
after=${2:?usage: compare-commits.sh BEFORE AFTER [rounds]}
rounds=${3:-2}
root=$(git rev-parse --show-toplevel)
tmp=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$tmp/before" >/dev/null 2>&1 || true; git -C "$root" worktree remove --force "$tmp/after" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
for side in before after; do
    eval rev=\$$side
    git -C "$root" worktree add --detach -q "$tmp/$side" "$rev"
    echo "building $side ($(git -C "$root" rev-parse --short "$rev"))"
    make -C "$tmp/$side" -s build/bench/bench-conv build/bench/bench-loss >/dev/null
done
# PyTorch is hidden from bench-conv (a module named torch that fails to import shadows it):
# this compares our two commits, not us with PyTorch
mkdir -p "$tmp/notorch"
echo 'raise ImportError("hidden by compare-commits.sh")' > "$tmp/notorch/torch.py"
export PYTHONPATH="$tmp/notorch"
r=1
while [ "$r" -le "$rounds" ]; do
    for b in bench-conv bench-loss; do
        for side in before after; do
            echo "round $r: $side $b"
            args=""; [ "$b" = bench-conv ] && args="2"
            "$tmp/$side/build/bench/$b" $args > "$tmp/$side.$b.$r.txt"
        done
    done
    r=$((r + 1))
done
python3 - "$tmp" "$rounds" <<'EOF'
import re, sys
tmp, rounds = sys.argv[1], int(sys.argv[2])
def rows(side, bench):
    best = {}
    for r in range(1, rounds + 1):
        section = ""
        for line in open(f"{tmp}/{side}.{bench}.{r}.txt"):
            if bench == "bench-conv":
                # "  <layer, 24 columns> <op, 10 columns> <t> ms ...": the layer is blank on
                # the rows after its first
                m = re.match(r"  (.{24}) (.{10}) *([0-9.]+) ms", line)
                if not m: continue
                if m.group(1).strip(): section = m.group(1).strip()
                keys, vals = [f"{section} {m.group(2).strip()}"], [float(m.group(3))]
            else:
                if line.startswith("P = "): section = line.split(",")[0] + "," + line.split(",")[1]; continue
                m = re.match(r"\s+(\S+)\s+fwd\+bwd: 1 thread\s+([0-9.]+) ms\s+2 threads\s+([0-9.]+) ms", line)
                if not m: continue
                keys = [f"{section} {m.group(1)} 1 thread", f"{section} {m.group(1)} 2 threads"]
                vals = [float(m.group(2)), float(m.group(3))]
            for k, v in zip(keys, vals): best[k] = min(best.get(k, 1e30), v)
    return best
for bench in ("bench-conv", "bench-loss"):
    b, a = rows("before", bench), rows("after", bench)
    print(f"\n{bench} (best of {rounds} rounds each)        before ms    after ms   after/before")
    ratios = []
    for k in b:
        if k in a:
            ratios.append(a[k] / b[k])
            print(f"  {k:<58} {b[k]:10.2f} {a[k]:10.2f}   {a[k] / b[k]:6.3f}")
    if ratios:
        g = 1.0
        for x in ratios: g *= x
        print(f"  geometric mean of the ratios: {g ** (1.0 / len(ratios)):.3f}")
EOF
