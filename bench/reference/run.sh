#!/usr/bin/env bash
# The reference-flow benchmark: Seam against a bare Go proxy, side by side,
# same run, same machine (see bench/README.md); Seam on SQLite by default,
# also on PostgreSQL with one node and with two.
#
#   bench/reference/run.sh                        # both systems, 25 s each, once (~2 min)
#   BENCH_REPEAT=3 bench/reference/run.sh         # three rounds, medians
#   BENCH_DURATION=10s bench/reference/run.sh     # shorter load
#   bench/reference/run.sh -systems proxy         # any refbench flag (-help lists them)
#   BENCH_DURATION=15s bench/reference/run.sh -systems proxy,seam,seam-pg,seam-pg2
#                                                 # all four: SQLite, PostgreSQL with one node
#                                                 # and with two (~5 min)
#   BENCH_BASE=HEAD~1 BENCH_REPEAT=3 bench/reference/run.sh
#                                                 # before and after in one run: seam-base is
#                                                 # built from that git revision, seam from the
#                                                 # work tree (systems proxy,seam-base,seam)
#
# seam-pg and seam-pg2 need PostgreSQL: BENCH_PG (or -pg) is its URL, default
# postgres://postgres@127.0.0.1:5432/test?sslmode=disable; each round gets a
# fresh schema there, dropped after it. BENCH_SYSTEMS sets -systems.
#
# It installs wrk with apt if missing, builds the sink (from the shared
# bench/sink beside the repo), the proxy, seam and the runner into a
# temporary directory, and runs bench/reference/cmd/refbench, which starts
# and stops everything it measures. Exit status: 0 ok, 1 a system lost an
# acknowledged record or sent an invalid one, 2 setup problem.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
shared=${BENCH_SHARED:-$repo/../shared/bench}
cd "$repo"

if [[ ! -f $shared/sink/main.go || ! -f $shared/orders.lua ]]; then
	echo "run.sh: the shared bench (sink/, orders.lua) is not in $shared; set BENCH_SHARED" >&2
	exit 2
fi

if ! command -v wrk >/dev/null; then
	echo "run.sh: installing wrk" >&2
	if [[ $(id -u) -eq 0 ]]; then sudo=(); else sudo=(sudo); fi
	"${sudo[@]}" apt-get update -qq >&2
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >&2
fi

bin=$(mktemp -d "${TMPDIR:-/tmp}/refbench-bin.XXXXXX")
runner=
cleanup() {
	if [[ -n $runner ]] && kill -0 "$runner" 2>/dev/null; then
		kill -TERM "$runner" 2>/dev/null || true
		wait "$runner" 2>/dev/null || true
	fi
	rm -rf "$bin"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "run.sh: building the sink, the proxy, seam and the runner" >&2
go build -C "$shared/sink" -o "$bin/benchsink" .
go build -o "$bin/benchproxy" ./bench/proxy
go build -o "$bin/seam" ./cmd/seam
go build -o "$bin/refbench" ./bench/reference/cmd/refbench

base=()
if [[ -n ${BENCH_BASE:-} ]]; then
	echo "run.sh: building seam-base from $BENCH_BASE" >&2
	wt="$bin/base-src"
	git worktree add --quiet --detach "$wt" "$BENCH_BASE" >&2
	status=0
	go build -C "$wt" -o "$bin/seam-base" ./cmd/seam || status=$?
	git worktree remove --force "$wt" >&2
	if [[ $status -ne 0 ]]; then
		echo "run.sh: building $BENCH_BASE failed" >&2
		exit 2
	fi
	base=(-base-bin "$bin/seam-base")
	: "${BENCH_SYSTEMS:=proxy,seam-base,seam}"
	export BENCH_SYSTEMS
fi

"$bin/refbench" \
	-sink-bin "$bin/benchsink" -proxy-bin "$bin/benchproxy" -seam-bin "$bin/seam" \
	-project bench/reference/project -lua "$shared/orders.lua" "${base[@]}" "$@" &
runner=$!
status=0
wait "$runner" || status=$?
runner=
exit "$status"
