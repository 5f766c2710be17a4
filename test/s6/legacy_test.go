package s6

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLegacyOrder reproduces s6-overlay's legacy trees: /etc/cont-init.d
// scripts run one after another in name order before any service (a
// failing one does not stop the others), /etc/services.d longruns start
// after them, and /etc/cont-finish.d runs after the services stopped.
func TestLegacyOrder(t *testing.T) {
	img := newImage(t).write(map[string]string{
		"etc/cont-init.d/20-second":    "x:#!/bin/sh\necho cont-init-2\n",
		"etc/cont-init.d/10-first":     "x:#!/bin/sh\necho cont-init-1\nexit 3\n",
		"etc/services.d/app/run":       "x:#!/bin/sh\necho service-up\nexec sleep 1000\n",
		"etc/services.d/app/finish":    "x:#!/bin/sh\necho \"finish $1 $2\"\n",
		"etc/cont-finish.d/10-goodbye": "x:#!/bin/sh\necho cont-finish\n",
	})
	c := img.run(nil)
	out := c.waitOutput("service-up", 10*time.Second)
	i1, i2, up := index(t, out, "cont-init-1"), index(t, out, "cont-init-2"), index(t, out, "service-up")
	if !(i1 < i2 && i2 < up) {
		t.Fatalf("order: cont-init-1 at %d, cont-init-2 at %d, service at %d", i1, i2, up)
	}
	if !strings.Contains(out, "cont-init: info: /etc/cont-init.d/10-first exited 3") {
		t.Errorf("no s6-overlay style report of the failed script")
	}
	c.signal(syscall.SIGTERM)
	if code := c.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM with no CMD, want 0 (the exitcode file)", code)
	}
	out = c.output()
	fin, cf := index(t, out, "finish 256 15"), index(t, out, "cont-finish")
	if fin > cf {
		t.Fatalf("cont-finish ran before the service's finish script: %d > %d", cf, fin)
	}
}

// TestFixAttrs reproduces s6-overlay's (deprecated) fix-attrs.d: each line
// "path recurse account fmode dmode" chowns and chmods, before cont-init.d.
func TestFixAttrs(t *testing.T) {
	img := newImage(t).write(map[string]string{
		"etc/fix-attrs.d/01-data": "# path recurse account fmode dmode\n/data true abc 0600 0750\n",
		"data/sub/file":           "x\n",
		"etc/cont-init.d/10-look": "x:#!/bin/sh\nstat -c '%u %a' /data /data/sub /data/sub/file > /tmp/attrs\n",
	})
	c := img.run(nil, "true")
	if code := c.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if got := img.read("tmp/attrs"); got != "911 750\n911 750\n911 600\n" {
		t.Fatalf("attributes seen by cont-init.d: %q, want abc's uid with 750/600", got)
	}
	if !strings.Contains(c.output(), "fix-attrs is deprecated") {
		t.Error("no deprecation warning, as s6-overlay prints")
	}
}

// TestLiveChange: like s6-svscanctl -a after adding a service directory,
// a reread (here s6-svscanctl -a, the same as supervisorctl update or
// SIGHUP) starts a new service and restarts a changed one with its new run
// script.
func TestLiveChange(t *testing.T) {
	img := newImage(t).write(map[string]string{
		"etc/services.d/app/run": "x:#!/bin/sh\necho v1 > /tmp/app\nexec sleep 1000\n",
	})
	c := img.run(nil)
	c.waitFile("tmp/app", 10*time.Second)
	img.write(map[string]string{
		"etc/services.d/app/run": "x:#!/bin/sh\necho v2 > /tmp/app\nexec sleep 1000\n",
		"etc/services.d/new/run": "x:#!/bin/sh\necho new > /tmp/new\nexec sleep 1000\n",
	})
	if out, code := c.exec("s6-svscanctl", "-a", "/run/service"); code != 0 {
		t.Fatalf("s6-svscanctl -a: %d %s", code, out)
	}
	c.waitFile("tmp/new", 10*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for img.read("tmp/app") != "v2\n" {
		if time.Now().After(deadline) {
			t.Fatalf("app still runs %q after the reread", img.read("tmp/app"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.signal(syscall.SIGTERM)
	c.wait(10 * time.Second)
}
