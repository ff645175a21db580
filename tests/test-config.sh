#!/bin/sh
# Config macros: ALRP_MALLOC without ALRP_FREE (or the reverse) is a compile error with a clear
# message, both or neither preprocess cleanly (preprocessor only); the private declarations of
# ALRP_INTERNAL agree with their definitions (a syntax-only compile of both, well under a second).
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
if out=$("$CC" -std=c11 -fsyntax-only -x c -DALRP_IMPLEMENTATION -DALRP_INTERNAL alrp.h 2>&1); then
    echo "OK   ALRP_INTERNAL declarations agree with the definitions"
else echo "FAIL ALRP_INTERNAL declarations:"; echo "$out"; fails=$((fails + 1)); fi
echo "$fails failed"
[ $fails -eq 0 ]
