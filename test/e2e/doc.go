// Package e2e holds corral's end-to-end tests: the corral/ha and
// corral/webapp images built by `make images`, run as real containers on
// Docker networks of their own, with real HTTP through HAProxy.
//
// The tests need root (or the docker group), the docker CLI and a running
// daemon (Debian package docker.io), and what `make images` needs:
// debootstrap and Debian's mirror when no registry can be reached.
// E2E_SKIP_BUILD=1 reuses images already built.
package e2e
