#!/bin/sh
# Measures `supervisorctl status` against a corral running N (default 100)
# sleep services, with hyperfine, next to supervisord 4.2's supervisorctl
# over the same number of programs. Run as root from the repository root:
#   bench/control/status.sh [N]
# Needs: go, hyperfine, supervisor (Debian packages: hyperfine, supervisor).
set -eu
N=${1:-100}
for tool in hyperfine supervisord supervisorctl go; do
	command -v "$tool" >/dev/null || { echo "status.sh: $tool is missing (apt-get install hyperfine supervisor golang)" >&2; exit 1; }
done
work=$(mktemp -d /tmp/corral-bench-control.XXXXXX)
cleanup() {
	[ -n "${corral_pid:-}" ] && kill "$corral_pid" 2>/dev/null && wait "$corral_pid" 2>/dev/null || true
	[ -f "$work/supervisord.pid" ] && kill "$(cat "$work/supervisord.pid")" 2>/dev/null || true
	sleep 1
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

go build -o "$work/corral" ./cmd/corral
go build -o "$work/supervisorctl" ./cmd/supervisorctl

mkdir -p "$work/services.d"
cat > "$work/supervisord.conf" <<CONF
[unix_http_server]
file=$work/supervisord.sock
[supervisord]
logfile=$work/supervisord.log
pidfile=$work/supervisord.pid
childlogdir=$work
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[supervisorctl]
serverurl=unix://$work/supervisord.sock
CONF
i=0
while [ "$i" -lt "$N" ]; do
	name=$(printf 'svc%03d' "$i")
	printf 'command = ["sleep", "%d"]\n' $((100000 + i)) > "$work/services.d/$name.toml"
	printf '[program:%s]\ncommand=sleep %d\n' "$name" $((200000 + i)) >> "$work/supervisord.conf"
	i=$((i + 1))
done

"$work/corral" --services-dir "$work/services.d" --socket "$work/corral.sock" --log-dir "$work/log" >"$work/corral.out" 2>&1 &
corral_pid=$!
supervisord -c "$work/supervisord.conf"

# Wait until both report every service RUNNING.
for _ in $(seq 100); do
	a=$("$work/supervisorctl" -s "$work/corral.sock" status 2>/dev/null | grep -c RUNNING || true)
	b=$(supervisorctl -c "$work/supervisord.conf" status 2>/dev/null | grep -c RUNNING || true)
	[ "$a" -ge "$N" ] && [ "$b" -ge "$N" ] && break
	sleep 0.2
done
echo "corral: $a RUNNING, supervisord: $b RUNNING"

hyperfine -N --warmup 20 --runs 300 \
	-n "corral supervisorctl status ($N services)" "$work/supervisorctl -s $work/corral.sock status" \
	-n "supervisord 4.2 supervisorctl status ($N programs)" "supervisorctl -c $work/supervisord.conf status"
