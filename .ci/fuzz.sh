#!/usr/bin/env bash
# Runs every fuzz target of the module (each Fuzz function, found with
# go test -list) for SEGMENTKIT_FUZZTIME each (default 30s), one after the
# other. A failure stops the run; the fuzzer keeps the failing input under
# the package's testdata/fuzz/<target>/, where plain go test replays it
# from then on: commit it as a regression case once fixed.
#
#	.ci/fuzz.sh                          # every target, 30 s each
#	SEGMENTKIT_FUZZTIME=10m .ci/fuzz.sh  # the long run
#	.ci/fuzz.sh ./storage                # the targets of some packages
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${SEGMENTKIT_FUZZTIME:-30s}"
packages=("$@")
if ((${#packages[@]} == 0)); then
	packages=(./...)
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
n=0
while read -r pkg; do
	while read -r target; do
		[[ $target == Fuzz* ]] || continue
		echo "fuzz $pkg $target for $fuzztime"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >"$log" 2>&1 || {
			tail -40 "$log"
			echo "FAIL: $pkg $target (the failing input is under its package's testdata/fuzz/$target/)"
			exit 1
		}
		tail -1 "$log"
		n=$((n + 1))
	done < <(go test -list '^Fuzz' "$pkg" 2>/dev/null)
done < <(go list "${packages[@]}")
echo "ok: $n fuzz targets, $fuzztime each"
