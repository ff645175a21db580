#!/bin/sh
# Config macros checked by the preprocessor: ALRP_MALLOC without ALRP_FREE (or the reverse) is a
# compile error with a clear message; both or neither preprocess cleanly. Preprocessing only (-E).
cd "$(dirname "$0")/.." || exit 1
CC=${CC:-cc}
fails=0
pp() { "$CC" -std=c11 -E -x c -DALRP_IMPLEMENTATION "$@" alrp.h -o /dev/null 2>&1; }
msg='define both ALRP_MALLOC and ALRP_FREE, or neither'
for d in -DALRP_MALLOC=malloc -DALRP_FREE=free; do
    if out=$(pp "$d"); then echo "FAIL $d alone preprocessed"; fails=$((fails + 1))
    elif echo "$out" | grep -qF "$msg"; then echo "OK   $d alone: #error \"$msg\""
    else echo "FAIL $d alone: another error:"; echo "$out"; fails=$((fails + 1)); fi
done
for d in "" "-DALRP_MALLOC=malloc -DALRP_FREE=free"; do
    # shellcheck disable=SC2086
    if out=$(pp $d); then echo "OK   [${d:-neither}] preprocesses"; else echo "FAIL [${d:-neither}]:"; echo "$out"; fails=$((fails + 1)); fi
done
echo "$fails failed"
[ $fails -eq 0 ]
