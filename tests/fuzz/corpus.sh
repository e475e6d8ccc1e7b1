#!/bin/sh
# corpus.sh: replays every fuzz target's seed corpus (tests/fuzz/corpus/NAME/)
# through the target binary; a crash or sanitizer report fails the test.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
fail=0
ran=0
for dir in "$top_srcdir"/tests/fuzz/corpus/*/; do
	name=$(basename "$dir")
	bin="$top_builddir/tests/fuzz/$name"
	if [ ! -x "$bin" ]; then
		echo "corpus.sh: no binary for $name ($bin)"
		fail=1
		continue
	fi
	n=$(find "$dir" -type f | wc -l)
	if [ "$n" -eq 0 ]; then
		echo "corpus.sh: empty corpus for $name"
		fail=1
		continue
	fi
	# shellcheck disable=SC2046
	if ! find "$dir" -type f -print0 | xargs -0 "$bin" >/dev/null 2>"$top_builddir/tests/fuzz/$name.corpus.log"; then
		echo "corpus.sh: $name failed on its corpus:"
		tail -n 30 "$top_builddir/tests/fuzz/$name.corpus.log"
		fail=1
		continue
	fi
	echo "corpus.sh: $name: $n seeds ok"
	ran=$((ran + 1))
done
[ "$ran" -gt 0 ] || { echo "corpus.sh: no corpus ran"; exit 1; }
exit $fail
