#!/usr/bin/env bash
# base-image.sh: make the local Docker base image corral/debian:bookworm-slim
# that Dockerfile.ha and Dockerfile.webapp build FROM.
#
#   .ci/base-image.sh [--force] [--no-pull]
#
# 1. If the image already exists, do nothing (--force rebuilds it).
# 2. If `docker pull debian:bookworm-slim` works, tag the pulled image with
#    the local name. The Dockerfiles then install the packages they need with
#    apt-get (build with --network host if the default bridge cannot reach
#    Debian's mirror).
# 3. Otherwise (no registry reachable) build it from Debian's packages:
#    debootstrap --variant=minbase bookworm from the mirror apt uses on this
#    machine, with the packages both images need already installed (so
#    `docker build` needs no network at all), trimmed of apt lists, docs,
#    man pages and locales, updated from bookworm-updates and
#    bookworm-security, then `docker import`.
#
# Environment:
#   CORRAL_BASE_IMAGE     image name (default corral/debian:bookworm-slim)
#   CORRAL_BASE_PACKAGES  packages installed at debootstrap time
#                         (default: haproxy rsyslog ca-certificates serf;
#                         serf is Debian's Serf CLI, so `serf members` works
#                         in both images against corral's embedded agent;
#                         set it empty for a bare minbase)
#   CORRAL_DEBIAN_MIRROR  Debian mirror (default: the one apt uses here, from
#                         /etc/apt/sources.list and /etc/apt/sources.list.d;
#                         with neither, the debootstrap path stops and says so)
#   CORRAL_DEBIAN_SECURITY_MIRROR  the security archive for the image's apt
#                         sources (default: apt's bookworm-security entry here;
#                         with neither, the image has no security entry)
#   CORRAL_PULL_TIMEOUT   seconds allowed for docker pull (default 60)
#   CORRAL_BASE_UPGRADE   1 (default): apply bookworm-updates and -security
#                         after debootstrap; 0: the point release as it is
#
# Needs: root, docker, debootstrap and debian-archive-keyring (Debian packages).
set -euo pipefail

IMAGE=${CORRAL_BASE_IMAGE:-corral/debian:bookworm-slim}
UPSTREAM=debian:bookworm-slim
SUITE=bookworm
PACKAGES=${CORRAL_BASE_PACKAGES-haproxy rsyslog ca-certificates serf}
PULL_TIMEOUT=${CORRAL_PULL_TIMEOUT:-60}

force=0
pull=1
for arg in "$@"; do
	case $arg in
	--force) force=1 ;;
	--no-pull) pull=0 ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "base-image: unknown argument $arg (try --help)" >&2
		exit 2
		;;
	esac
done

log() { echo "base-image: $*" >&2; }

if [ "$force" = 0 ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
	log "$IMAGE exists, nothing to do (--force rebuilds it)"
	exit 0
fi

# With --force, the image being replaced (removed at the end if unused).
old=$(docker image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)
start=$(date +%s.%N)
elapsed() { awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'; }

if [ "$pull" = 1 ] && timeout "$PULL_TIMEOUT" docker pull "$UPSTREAM" >/dev/null 2>&1; then
	docker tag "$UPSTREAM" "$IMAGE"
	log "pulled $UPSTREAM and tagged it $IMAGE in $(elapsed)s"
	exit 0
fi
[ "$pull" = 1 ] && log "docker pull $UPSTREAM failed; building $IMAGE with debootstrap"

# mirror prints the archive apt uses here for suite $1: the URIs of a deb822
# stanza whose Suites contain it, or the URL of a one-line "deb" entry for it.
mirror() {
	local f suite=$1
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk -v suite="$suite" '
			function flush() {
				if (uri != "" && deb && found) { print uri; uri = ""; exit }
				uri = ""; deb = 0; found = 0
			}
			/^[ \t]*$/ { flush(); next }
			/^[ \t]*#/ { next }
			tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
			tolower($1) == "uris:" { uri = $2 }
			tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == suite) found = 1 }
			END { flush() }
		' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk -v suite="$suite" '
			$1 == "deb" {
				i = 2
				if ($i ~ /^\[/) while ($i !~ /\]$/) i++
				if ($i ~ /^\[/ || $i ~ /\]$/) i++
				if ($(i + 1) == suite) { print $i; exit }
			}
		' "$f"
	done
}

# The mirror comes from the environment or from apt's configuration, never
# from a host name written here. A host on another Debian release has no
# $SUITE entry, but its mirror carries $SUITE all the same.
MIRROR=${CORRAL_DEBIAN_MIRROR:-}
if [ -z "$MIRROR" ]; then
	for s in $SUITE trixie forky sid unstable testing stable bullseye; do
		MIRROR=$(mirror "$s" | head -n 1)
		[ -z "$MIRROR" ] || break
	done
fi
if [ -z "$MIRROR" ]; then
	log "no Debian mirror to debootstrap from: apt's configuration here (/etc/apt/sources.list,"
	log "/etc/apt/sources.list.d/) has no Debian entry, and CORRAL_DEBIAN_MIRROR is not set."
	log "Set CORRAL_DEBIAN_MIRROR to a Debian mirror's URL (the directory holding dists/ and pool/),"
	log "or make 'docker pull $UPSTREAM' work."
	exit 1
fi
MIRROR=${MIRROR%/}
SECURITY_MIRROR=${CORRAL_DEBIAN_SECURITY_MIRROR:-$(mirror "$SUITE-security" | head -n 1)}
SECURITY_MIRROR=${SECURITY_MIRROR%/}

for pair in "debootstrap:Debian's debootstrap package" "docker:a Docker engine" "tar:Debian's tar package"; do
	command -v "${pair%%:*}" >/dev/null || {
		log "${pair%%:*} not found: install ${pair#*:}"
		exit 1
	}
done
[ -r /usr/share/keyrings/debian-archive-keyring.gpg ] || {
	log "no Debian archive keyring (Debian package: debian-archive-keyring)"
	exit 1
}
[ "$(id -u)" = 0 ] || {
	log "debootstrap needs root"
	exit 1
}

work=$(mktemp -d "${TMPDIR:-/var/tmp}/corral-base.XXXXXX")
root=$work/rootfs
cleanup() {
	# debootstrap mounts proc and sys in the target; a failed run may leave them.
	local m
	for m in $(awk -v d="$root" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r); do
		umount -l "$m" 2>/dev/null || true
	done
	rm -rf --one-file-system "$work"
}
trap cleanup EXIT

include=$(echo "$PACKAGES" | tr -s ' \t\n' ',' | sed 's/^,//; s/,$//')
log "debootstrap --variant=minbase $SUITE from $MIRROR${include:+ with $include}"
debootstrap --variant=minbase ${include:+--include="$include"} \
	"$SUITE" "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1 || {
	tail -n 30 "$work/debootstrap.log" >&2
	[ -f "$root/debootstrap/debootstrap.log" ] && tail -n 30 "$root/debootstrap/debootstrap.log" >&2
	log "debootstrap failed"
	exit 1
}
log "debootstrap done in $(elapsed)s"

# Point apt in the image at the same mirror, with updates and security.
rm -f "$root/etc/apt/sources.list"
mkdir -p "$root/etc/apt/sources.list.d"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
if [ -n "$SECURITY_MIRROR" ]; then
	cat >>"$root/etc/apt/sources.list.d/debian.sources" <<EOF

Types: deb
URIs: $SECURITY_MIRROR
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
else
	log "no $SUITE-security entry in apt's configuration and CORRAL_DEBIAN_SECURITY_MIRROR is not set: the image's apt has no security archive"
fi

# Bring in bookworm-updates and bookworm-security, as a pulled image has
# them (CORRAL_BASE_UPGRADE=0 skips this).
if [ "${CORRAL_BASE_UPGRADE:-1}" = 1 ]; then
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
	if ! chroot "$root" sh -c 'export DEBIAN_FRONTEND=noninteractive; apt-get -q update && apt-get -q -y -o Dpkg::Options::=--force-confold upgrade' >"$work/upgrade.log" 2>&1; then
		tail -n 30 "$work/upgrade.log" >&2
		log "apt-get upgrade in the new root failed"
		exit 1
	fi
	rm -f "$root/usr/sbin/policy-rc.d"
	log "updates and security fixes applied ($(grep -c '^Unpacking' "$work/upgrade.log" || true) packages) at $(elapsed)s"
fi

# Keep later apt-get installs slim, as the official slim images do.
mkdir -p "$root/etc/dpkg/dpkg.cfg.d" "$root/etc/apt/apt.conf.d"
cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
EOF
cat >"$root/etc/apt/apt.conf.d/docker-slim" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
EOF

# Trim what a container never reads.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin \
	"$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/archives/partial/* \
	"$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old \
	"$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/lintian \
	"$root"/usr/share/linda "$root"/var/log/*.log "$root"/var/log/apt/* \
	"$root"/tmp/* "$root"/var/tmp/* "$root"/debootstrap
find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
# Docker provides these at run time.
: >"$root/etc/resolv.conf"
: >"$root/etc/hostname"
: >"$root/etc/machine-id"

log "importing $(du -sh --apparent-size "$root" | cut -f1) as $IMAGE"
tar --numeric-owner -C "$root" -c . |
	docker import \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'CMD ["bash"]' \
		--message "debootstrap --variant=minbase $SUITE from $MIRROR${include:+ with $include}" \
		- "$IMAGE" >/dev/null
docker run --rm "$IMAGE" true
if [ -n "$old" ] && [ "$old" != "$(docker image inspect -f '{{.Id}}' "$IMAGE")" ]; then
	# Fails, harmlessly, while images built on the old base still exist.
	docker rmi "$old" >/dev/null 2>&1 || true
fi
log "built $IMAGE in $(elapsed)s ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{ printf "%.1f MB", $1 / 1e6 }'))"
