#!/usr/bin/env bash
# shape.sh: the size limits the project keeps in its production code (every
# .c and .h outside tests/, fuzz/ and bench/): no function longer than 80
# lines, no file longer than 800. A function is counted from the line that
# starts its definition at column 0 to its closing brace at column 0, as the
# code is laid out.
set -u
srcdir=${srcdir:-.}
cd "$srcdir" || exit 99
files=$(find . -name '*.[ch]' -not -path './tests/*' -not -path './fuzz/*' \
    -not -path './bench/*' -not -path './_build/*' -not -name 'config.h' | sort)
[ -n "$files" ] || { echo "no sources found"; exit 99; }
fail=0
for f in $files; do
    n=$(wc -l <"$f")
    if [ "$n" -gt 800 ]; then echo "not ok - $f: $n lines (at most 800)"; fail=1; fi
    awk -v file="$f" '
        /^[A-Za-z_].*\(/ && !/;$/ { head = $0; head_line = FNR; next }
        /^\{/ { if (head != "") { start = head_line; name = head; inside = 1 } next }
        /^\}/ {
            if (inside && FNR - start + 1 > 80) {
                printf "not ok - %s:%d: %d lines (at most 80): %s\n", file, start, FNR - start + 1, name
                bad = 1
            }
            inside = 0; head = ""; next
        }
        END { exit bad }' "$f" || fail=1
done
[ $fail -eq 0 ] && echo "ok - every production function within 80 lines, every file within 800"
exit $fail
