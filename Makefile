# corral: build, images, demo cluster, tests. `make help` lists the targets.
SHELL := /bin/bash

GO ?= go
DIST := dist
BINARIES := $(DIST)/corral $(DIST)/supervisorctl $(DIST)/webapp
# apt inside `docker build` (only needed with a pulled base) reaches Debian's
# mirror through the host's network.
DOCKER_BUILD_FLAGS ?= --network host
HA_IMAGE ?= corral/ha:latest
WEBAPP_IMAGE ?= corral/webapp:latest
export HA_IMAGE WEBAPP_IMAGE

.PHONY: help build base images demo demo-add demo-remove demo-down demo-status test e2e clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  %-12s %s\n", $$1, $$2 }'

build: ## static binaries into dist/ (corral, supervisorctl, webapp)
	@mkdir -p $(DIST)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o $(DIST)/ ./cmd/corral ./cmd/supervisorctl ./cmd/webapp

base: ## the base image corral/debian:bookworm-slim (pulled, or debootstrapped)
	.ci/deps.sh demo
	.ci/base-image.sh

# build_image(dockerfile, tag): docker build, then remove the image the tag
# pointed to before (if nothing else uses it), so rebuilds leave no litter.
define build_image
	@old=$$(docker image inspect -f '{{.Id}}' $(2) 2>/dev/null || true); \
	echo "docker build $(DOCKER_BUILD_FLAGS) -f $(1) -t $(2) ."; \
	docker build $(DOCKER_BUILD_FLAGS) -f $(1) -t $(2) . && \
	new=$$(docker image inspect -f '{{.Id}}' $(2)) && \
	if [ -n "$$old" ] && [ "$$old" != "$$new" ]; then docker rmi $$old >/dev/null 2>&1 || true; fi
endef

images: build base ## both images: corral/ha and corral/webapp
	$(call build_image,Dockerfile.ha,$(HA_IMAGE))
	$(call build_image,Dockerfile.webapp,$(WEBAPP_IMAGE))

demo: images ## docker-compose up: ha + 3 web apps (compose.yaml), wait until all are served
	.ci/demo.sh up

demo-add: ## one more web app (docker-compose --scale)
	.ci/demo.sh add

demo-remove: ## one web app fewer (docker-compose --scale)
	.ci/demo.sh remove

demo-status: ## what runs, and a few answers through the balancer
	.ci/demo.sh status

demo-down: ## docker-compose down: remove the demo's containers and network
	.ci/demo.sh down

test: ## install the tests' Debian packages if missing, then run every test (needs root)
	.ci/deps.sh test
	$(GO) test -count=1 -p 1 -timeout 60m ./...

e2e: ## only the end-to-end tests in containers (builds the images)
	$(GO) test -count=1 -v ./test/e2e/

clean: ## remove the built binaries (keeps dist/gossip.key, images and containers)
	rm -f $(BINARIES)
