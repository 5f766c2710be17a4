#!/usr/bin/env bash
# demo.sh: the demo cluster, a load balancer (ha) and web apps (web1, web2...)
# in containers on their own Docker network, all with corral at PID 1.
#
#   .ci/demo.sh up [N]        start ha and N web apps (default 3), wait until
#                             the balancer serves them all, print the URL
#   .ci/demo.sh add [NAME]    start one more web app (default: next webN)
#   .ci/demo.sh remove [NAME] docker stop + rm a web app (default: the last)
#   .ci/demo.sh status        containers, services in ha, a few answers
#   .ci/demo.sh down          remove the containers and the network
#
# The images come from `make images`. The gossip key (32 random bytes,
# base64) and the stats password are generated once into dist/ (mode 600,
# never committed) and given to every container.
#
# Environment: HA_IMAGE, WEBAPP_IMAGE (corral/ha:latest, corral/webapp:latest),
# DEMO_NETWORK (corral-demo), DEMO_PORT (8080) and DEMO_STATS_PORT (1936):
# the host ports on 127.0.0.1 (a random free port when taken),
# DEMO_TIMEOUT (seconds to wait for the balancer, default 60).
set -euo pipefail

cd "$(dirname "$0")/.."
HA_IMAGE=${HA_IMAGE:-corral/ha:latest}
WEBAPP_IMAGE=${WEBAPP_IMAGE:-corral/webapp:latest}
NETWORK=${DEMO_NETWORK:-corral-demo}
PORT=${DEMO_PORT:-8080}
STATS_PORT=${DEMO_STATS_PORT:-1936}
TIMEOUT=${DEMO_TIMEOUT:-60}
DIST=$PWD/dist
KEY=$DIST/gossip.key
STATS_PASSWORD_FILE=$DIST/stats.password
LABEL=corral.demo=$NETWORK

log() { echo "demo: $*" >&2; }
die() {
	log "$*"
	exit 1
}
now() { date +%s.%N; }
since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.2f", e - s }'; }

# secrets makes the gossip key and the stats password once.
secrets() {
	mkdir -p "$DIST"
	(
		umask 077
		[ -s "$KEY" ] || { head -c 32 /dev/urandom | base64 >"$KEY" && log "new gossip key in $KEY"; }
		[ -s "$STATS_PASSWORD_FILE" ] || head -c 12 /dev/urandom | base64 | tr '+/' '-_' >"$STATS_PASSWORD_FILE"
	)
	chmod 600 "$KEY" "$STATS_PASSWORD_FILE"
}

network() {
	docker network inspect "$NETWORK" >/dev/null 2>&1 ||
		docker network create --label "$LABEL" "$NETWORK" >/dev/null
}

running() { [ "$(docker inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" = true ]; }

# host_port prints $1 if nothing listens on it, else 0 (Docker picks one).
host_port() {
	if ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; then echo 0; else echo "$1"; fi
}

# url prints the balancer's URL on the host for container port $1.
url() {
	local hp
	hp=$(docker port ha "$1/tcp" 2>/dev/null | grep -m1 '^127\.0\.0\.1:') || die "ha does not publish port $1 (is it running?)"
	echo "http://$hp"
}

start_ha() {
	if running ha; then return; fi
	docker rm -f ha >/dev/null 2>&1 || true
	docker run -d --name ha --hostname ha --network "$NETWORK" --label "$LABEL" \
		-p "127.0.0.1:$(host_port "$PORT"):80" -p "127.0.0.1:$(host_port "$STATS_PORT"):1936" \
		-v "$KEY:/run/secrets/gossip.key:ro" \
		-e STATS_PASSWORD="$(cat "$STATS_PASSWORD_FILE")" \
		"$HA_IMAGE" >/dev/null
	log "started ha"
}

start_web() {
	local name=$1
	if running "$name"; then return; fi
	docker rm -f "$name" >/dev/null 2>&1 || true
	docker run -d --name "$name" --hostname "$name" --network "$NETWORK" --label "$LABEL" \
		-v "$KEY:/run/secrets/gossip.key:ro" \
		-e NODE_NAME="$name" \
		"$WEBAPP_IMAGE" >/dev/null
	log "started $name"
}

# webs lists the demo's web app containers, by number.
webs() {
	docker ps -a --filter "label=$LABEL" --format '{{.Names}}' | grep -E '^web[0-9]+$' | sort -V || true
}

next_web() {
	local i=1
	while docker inspect "web$i" >/dev/null 2>&1; do i=$((i + 1)); done
	echo "web$i"
}

# served prints the node names that answer through the balancer in $2 requests.
served() {
	local u=$1 n=$2 i
	for ((i = 0; i < n; i++)); do
		curl -s --max-time 2 "$u/" | sed -n 's/^node=\([^ ]*\) .*/\1/p'
	done | sort -u
}

# wait_served waits until every name in $@ is served by the balancer.
wait_served() {
	local u start missing name got
	u=$(url 80)
	start=$(now)
	while :; do
		got=$(served "$u" $(($# * 3)))
		missing=
		for name in "$@"; do
			grep -qx "$name" <<<"$got" || missing="$missing $name"
		done
		[ -z "$missing" ] && break
		if awk -v t="$(since "$start")" -v m="$TIMEOUT" 'BEGIN { exit !(t > m) }'; then
			docker logs --tail 30 ha >&2 || true
			die "after ${TIMEOUT}s the balancer still does not serve:$missing"
		fi
		sleep 0.2
	done
	log "the balancer serves $* ($(since "$start")s)"
}

show() {
	local u
	u=$(url 80)
	echo
	echo "Balancer:   $u/"
	echo "Stats page: $(url 1936)/  (user admin, password in dist/stats.password)"
	echo
	for _ in 1 2 3 4 5 6; do
		echo "  \$ curl -s $u/   ->  $(curl -s --max-time 2 "$u/")"
	done
	echo
	echo "More: make demo-add | make demo-remove [NAME=web2] | make demo-status | make demo-down"
	echo "      docker exec ha supervisorctl status; docker logs ha"
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
	network
	start_ha
	names=()
	for ((i = 1; i <= n; i++)); do
		start_web "web$i"
		names+=("web$i")
	done
	wait_served "${names[@]}"
	show
	;;
add)
	name=${1:-$(next_web)}
	secrets
	network
	start_web "$name"
	wait_served "$name"
	;;
remove)
	name=${1:-$(webs | tail -n 1)}
	[ -n "$name" ] || die "no web app to remove"
	start=$(now)
	docker stop "$name" >/dev/null
	log "stopped $name in $(since "$start")s"
	docker rm "$name" >/dev/null
	;;
status)
	docker ps -a --filter "label=$LABEL" --format 'table {{.Names}}\t{{.Status}}\t{{.Ports}}'
	if running ha; then
		echo
		docker exec ha supervisorctl status || true
		u=$(url 80)
		echo
		for _ in 1 2 3 4; do curl -s --max-time 2 "$u/" || echo "(no answer)"; done
	fi
	;;
down)
	ids=$(docker ps -aq --filter "label=$LABEL")
	[ -z "$ids" ] || docker rm -f $ids >/dev/null
	docker network rm "$NETWORK" >/dev/null 2>&1 || true
	log "removed the demo containers and the $NETWORK network"
	;;
*)
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
	;;
esac
