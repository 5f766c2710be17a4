#!/usr/bin/env bash
# demo.sh: what docker-compose does not do for the demo cluster of
# compose.yaml (a load balancer and web apps, all with corral at PID 1):
# make the secrets, wait until the balancer serves every web app, show it.
#
#   .ci/demo.sh up [N]     docker-compose up with N web apps (default 3),
#                          wait until all are served, print the URL
#   .ci/demo.sh add        one more web app (docker-compose --scale)
#   .ci/demo.sh remove     one web app fewer (docker-compose --scale)
#   .ci/demo.sh status     containers, services in ha, a few answers
#   .ci/demo.sh down       docker-compose down
#   .ci/demo.sh secrets    only make the secrets (for docker stack deploy)
#
# It runs docker-compose in the repository's root, so the project is the
# same as a `docker-compose ...` typed there (COMPOSE_PROJECT_NAME chooses
# another). The gossip key (32 random bytes, base64) and the stats password
# are made once in dist/ (mode 600, never committed); compose.yaml gives them
# to the containers as secrets.
#
# Environment: as compose.yaml reads it (HA_IMAGE, WEBAPP_IMAGE, DEMO_PORT,
# DEMO_STATS_PORT...), and DEMO_TIMEOUT (seconds to wait, default 60).
set -euo pipefail

cd "$(dirname "$0")/.."
HA_IMAGE=${HA_IMAGE:-corral/ha:latest}
WEBAPP_IMAGE=${WEBAPP_IMAGE:-corral/webapp:latest}
TIMEOUT=${DEMO_TIMEOUT:-60}
KEY=${DEMO_KEY_FILE:-dist/gossip.key}
PASSWORD=${DEMO_PASSWORD_FILE:-dist/stats.password}

log() { echo "demo: $*" >&2; }
die() {
	log "$*"
	exit 1
}
now() { date +%s.%N; }
since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.2f", e - s }'; }
compose() { docker-compose "$@" 2> >(grep -v 'deploy sub-keys are not supported' >&2); }

# secrets makes the gossip key and the stats password once.
secrets() {
	mkdir -p "$(dirname "$KEY")" "$(dirname "$PASSWORD")"
	(
		umask 077
		[ -s "$KEY" ] || { head -c 32 /dev/urandom | base64 >"$KEY" && log "new gossip key in $KEY"; }
		[ -s "$PASSWORD" ] || head -c 12 /dev/urandom | base64 | tr '+/' '-_' >"$PASSWORD"
	)
	chmod 600 "$KEY" "$PASSWORD"
}

# url prints the host URL of the balancer's container port $1.
url() {
	local hp
	hp=$(compose port ha "$1" 2>/dev/null) && [ -n "$hp" ] || die "ha does not publish port $1 (is it running?)"
	echo "http://127.0.0.1:${hp##*:}"
}

# webs prints the running web apps' node names (their host names).
webs() {
	local ids
	ids=$(compose ps -q web)
	[ -z "$ids" ] || docker inspect -f '{{if .State.Running}}{{.Config.Hostname}}{{end}}' $ids | sed '/^$/d' | sort
}

count() { webs | grep -c . || true; }

# served prints the node names that answer through the balancer in $2 requests.
served() {
	local u=$1 n=$2 i
	for ((i = 0; i < n; i++)); do
		curl -s --max-time 2 "$u/" | sed -n 's/^node=\([^ ]*\) .*/\1/p'
	done | sort -u
}

# wait_served waits until the balancer serves exactly the running web apps.
wait_served() {
	local u start want got
	u=$(url 80)
	start=$(now)
	while :; do
		want=$(webs)
		got=$(served "$u" $(($(wc -l <<<"$want") * 3 + 3)))
		[ -n "$want" ] && [ "$got" = "$want" ] && break
		if awk -v t="$(since "$start")" -v m="$TIMEOUT" 'BEGIN { exit !(t > m) }'; then
			compose logs --tail 30 ha >&2 || true
			die "after ${TIMEOUT}s the balancer serves [$(echo $got)], want [$(echo $want)]"
		fi
		sleep 0.2
	done
	log "the balancer serves the $(wc -l <<<"$want") web apps ($(since "$start")s)"
}

show() {
	local u
	u=$(url 80)
	echo
	echo "Balancer:   $u/"
	echo "Stats page: $(url 1936)/  (user admin, password in $PASSWORD)"
	echo
	for _ in 1 2 3 4 5 6; do
		echo "  \$ curl -s $u/   ->  $(curl -s --max-time 2 "$u/")"
	done
	echo
	echo "More: make demo-add | make demo-remove | make demo-status | make demo-down"
	echo "      docker-compose up -d --scale web=5; docker-compose exec ha supervisorctl status; docker-compose logs ha"
}

cmd=${1:-up}
shift || true
case $cmd in
up)
	n=${1:-3}
	for img in "$HA_IMAGE" "$WEBAPP_IMAGE"; do
		docker image inspect "$img" >/dev/null 2>&1 || die "no image $img: run make images"
	done
	secrets
	compose up -d --scale web="$n"
	wait_served
	show
	;;
add | remove)
	n=$(count)
	if [ "$cmd" = add ]; then n=$((n + 1)); else n=$((n - 1)); fi
	[ "$n" -ge 1 ] || die "the demo keeps at least one web app (make demo-down removes everything)"
	start=$(now)
	compose up -d --no-recreate --scale web="$n"
	log "docker-compose --scale web=$n took $(since "$start")s"
	wait_served
	;;
status)
	compose ps
	echo
	compose exec -T ha supervisorctl status || true
	u=$(url 80)
	echo
	for _ in 1 2 3 4; do curl -s --max-time 2 "$u/" || echo "(no answer)"; done
	;;
down)
	compose down
	;;
secrets)
	secrets
	;;
*)
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
	;;
esac
