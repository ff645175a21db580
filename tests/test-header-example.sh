#!/bin/sh
# The usage example at the top of alrp.h, compiled verbatim (between its "example begin/end"
# markers, the comment prefix removed) and run: it must print "f = 16.0, df/dx = 12.0".
set -eu
BUILD=${BUILD:-build}
out="$BUILD/test-header-example"
mkdir -p "$out"
sed -n '/^\/\/ ---- example begin$/,/^\/\/ ---- example end$/p' alrp.h | sed '1d;$d' | sed 's|^//     ||; s|^//$||' > "$out/example.c"
[ -s "$out/example.c" ] || { echo "no example between the markers in alrp.h"; exit 1; }
${CC:-cc} -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -I. "$out/example.c" -o "$out/example" -lm -lpthread
got=$("$out/example")
echo "$got"
[ "$got" = "f = 16.0, df/dx = 12.0" ] || { echo "expected: f = 16.0, df/dx = 12.0"; exit 1; }
# the same example as C++17 (the header compiles as C++ too)
if command -v ${CXX:-c++} >/dev/null 2>&1; then
    ${CXX:-c++} -std=c++17 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -I. -x c++ "$out/example.c" -o "$out/example-cxx" -lm -lpthread
    got=$("$out/example-cxx")
    [ "$got" = "f = 16.0, df/dx = 12.0" ] || { echo "C++ build printed: $got"; exit 1; }
    echo "C++17 build: same output"
fi
