// Package e2e holds corral's end-to-end tests: the corral/ha and
// corral/webapp images built by `make images`, run as real containers on
// Docker networks of their own, with real HTTP through HAProxy; and the
// repository's compose.yaml, run with docker-compose (TestCompose) and with
// docker stack deploy on a single-node swarm (TestSwarm).
//
// The tests need root (or the docker group), the docker CLI and a running
// Docker engine, docker-compose (Debian package
// docker-compose), a daemon that can enter swarm mode (TestSwarm runs
// `docker swarm init` and leaves it again; an engine already in a swarm is
// used as it is), and what `make images` needs: debootstrap and Debian's
// mirror when no registry can be reached. E2E_SKIP_BUILD=1 reuses images
// already built.
package e2e
