#!/bin/sh
# Runs the HAProxy benchmarks of the template plugin and prints their figures.
# Needs: Debian packages haproxy (2.6) and wrk, Go; loopback traffic only.
# The HAProxy instances, web servers and wrk it starts all end with the run.
#   bench/haproxy/run.sh            all of them (about 2.5 minutes)
#   bench/haproxy/run.sh Render     one group (a go test -bench regexp)
set -eu
cd "$(dirname "$0")/../.."
for tool in haproxy wrk; do
	command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install $tool" >&2; exit 1; }
done
pattern=${1:-.}
# Render runs many iterations; the others do one (each is a whole scenario).
if [ "$pattern" = . ] || [ "$pattern" = Render ]; then
	go test -run '^$' -bench 'Render' ./plugins/template
fi
if [ "$pattern" != Render ]; then
	p=$pattern
	[ "$p" = . ] && p='Burst|JoinToServed|ChurnUnderLoad'
	go test -run '^$' -bench "$p" -benchtime 1x -timeout 20m ./plugins/template |
		grep -E '^(Benchmark|ok|FAIL|PASS)|requests in|Socket errors|Non-2xx'
fi
