#!/usr/bin/env bash
# Installs, from Debian's packages, what the tests (or the demo) use, when
# something is missing. Idempotent; needs root for apt-get.
#   .ci/deps.sh test   everything the tests use
#   .ci/deps.sh demo   what `make demo` needs on the host (debootstrap, docker-compose)
set -euo pipefail
what=${1:-test}
case "$what" in
test)
	packages=(
		haproxy            # the balancer the template plugin drives (2.6 in bookworm)
		rsyslog            # the log collector the forwarder ships to
		rsyslog-gnutls     # its TLS driver (RFC 5425 tests)
		serf               # the stock CLI that talks to the embedded agent's RPC
		s6 tini supervisor # peers in the PID-1 benchmarks; s6 also for test/s6 (s6-envdir) and bench/s6
		execline           # execlineb: s6-rc up files with blocks (test/s6, s6/execline)
		debootstrap        # the local base image when no registry is reachable
		iproute2           # network namespaces, veth, bridges
		util-linux mount   # unshare, nsenter, setpriv (PID namespaces, other users), mount
		bsdutils           # script (a terminal that is not corral's)
		debian-archive-keyring # debootstrap's keys for the local base image
		procps psmisc      # ps, pkill
		gcc libc6-dev      # the orphan-forking test helper
		curl wrk hyperfine # end-to-end checks and load
		docker-compose     # compose.yaml in test/e2e (Swarm is the engine's own)
	)
	;;
demo) packages=(debootstrap curl docker-compose) ;;
*)
	echo "usage: $0 test|demo" >&2
	exit 2
	;;
esac

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "missing Debian packages: ${missing[*]} (run as root, or apt-get install them)" >&2
	exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
for try in 1 2 3; do
	if apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; then
		# The packaged daemons are not wanted: the tests start their own.
		pkill -x rsyslogd 2>/dev/null || true
		pkill -x haproxy 2>/dev/null || true
		exit 0
	fi
	echo "apt-get failed (try $try of 3)" >&2
	sleep 5
done
exit 1
