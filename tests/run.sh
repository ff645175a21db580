#!/bin/sh
# Runs every test binary in $BUILD/tests and every tests/test-*.sh; prints one line per test and
# ends with "N passed, N failed". Exit status is non-zero when anything failed.
BUILD=${BUILD:-build}
mkdir -p "$BUILD/test-logs"
pass=0; fail=0; failed=""
for t in "$BUILD"/tests/test-* tests/test-*.sh; do
    [ -e "$t" ] || continue
    case "$t" in *.d|*.log) continue;; esac
    name=$(basename "$t")
    log="$BUILD/test-logs/$name.log"
    start=$(date +%s)
    if [ "${t%.sh}" != "$t" ]; then BUILD="$BUILD" timeout 900 sh "$t" > "$log" 2>&1; else timeout 900 "$t" > "$log" 2>&1; fi
    rc=$?
    secs=$(( $(date +%s) - start ))
    if [ $rc -eq 0 ]; then
        pass=$((pass + 1)); echo "PASS $name (${secs}s)"
    else
        fail=$((fail + 1)); failed="$failed $name"; echo "FAIL $name (exit $rc, ${secs}s); last lines of $log:"
        tail -n 15 "$log" | sed 's/^/    /'
    fi
done
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
