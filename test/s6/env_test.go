package s6

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// envOf parses an `env` dump.
func envOf(s string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m
}

// TestContainerEnvironment reproduces s6-overlay's environment rules: the
// container environment is dumped to /run/s6/container_environment (one
// file per variable, 3.2.2.0's format) before anything runs; services,
// cont-init scripts and the CMD get PATH only (/command first), oneshots
// RC_NAME too; with-contenv gives the container environment, read anew
// each time (a cont-init script's write is seen by a later service);
// printcontenv prints one variable.
func TestContainerEnvironment(t *testing.T) {
	img := newImage(t).write(map[string]string{
		"etc/cont-init.d/10-env": "x:#!/bin/sh\nenv > /tmp/cont-init.env\nprintf late > /run/s6/container_environment/LATE\n",
		"etc/services.d/app/run": "x:#!/command/with-contenv sh\nenv > /tmp/app.env\nexec sleep 1000\n",
		"etc/services.d/raw/run": "x:#!/bin/sh\nenv > /tmp/raw.env\nexec sleep 1000\n",
	})
	c := img.run([]string{"FOO=bar baz", "EMPTY="}, "sh", "-c", "env > /tmp/cmd.env; printcontenv FOO > /tmp/printcontenv; sleep 1000")
	app := envOf(c.waitFile("tmp/app.env", 10*time.Second))
	raw := envOf(c.waitFile("tmp/raw.env", 10*time.Second))
	ci := envOf(c.waitFile("tmp/cont-init.env", 10*time.Second))
	cmd := envOf(c.waitFile("tmp/cmd.env", 10*time.Second))
	if b := img.read("run/s6/container_environment/FOO"); b != "bar baz\n" {
		t.Errorf("container_environment/FOO holds %q, want \"bar baz\\n\"", b)
	}
	if app["FOO"] != "bar baz" || app["LATE"] != "late" {
		t.Errorf("with-contenv: FOO=%q LATE=%q, want the container environment with cont-init's write", app["FOO"], app["LATE"])
	}
	if v, ok := app["EMPTY"]; !ok || v != "" {
		t.Errorf("with-contenv: EMPTY set-but-empty expected (3.2.2.0's format), got %q %v", v, ok)
	}
	for name, env := range map[string]map[string]string{"a service": raw, "a cont-init script": ci, "the CMD": cmd} {
		if _, ok := env["FOO"]; ok {
			t.Errorf("%s sees FOO: s6-overlay gives it PATH only", name)
		}
		if !strings.HasPrefix(env["PATH"], "/command:") {
			t.Errorf("%s: PATH %q, want /command first", name, env["PATH"])
		}
	}
	if ci["RC_NAME"] != "legacy-cont-init" {
		t.Errorf("cont-init scripts run in the legacy-cont-init oneshot: RC_NAME=%q", ci["RC_NAME"])
	}
	if got := c.waitFile("tmp/printcontenv", 10*time.Second); got != "bar baz\n" {
		t.Errorf("printcontenv FOO: %q", got)
	}
	c.signal(syscall.SIGTERM)
	c.wait(10 * time.Second)
}

// TestKeepEnv: with S6_KEEP_ENV=1 there is no dump, every process gets the
// whole environment and with-contenv changes nothing.
func TestKeepEnv(t *testing.T) {
	img := newImage(t).write(map[string]string{
		"etc/services.d/raw/run": "x:#!/bin/sh\nenv > /tmp/raw.env\nexec sleep 1000\n",
		"etc/services.d/app/run": "x:#!/command/with-contenv sh\nenv > /tmp/app.env\nexec sleep 1000\n",
	})
	c := img.run([]string{"S6_KEEP_ENV=1", "FOO=bar"})
	raw := envOf(c.waitFile("tmp/raw.env", 10*time.Second))
	app := envOf(c.waitFile("tmp/app.env", 10*time.Second))
	if raw["FOO"] != "bar" || app["FOO"] != "bar" {
		t.Errorf("FOO: service %q, with-contenv %q; want bar for both", raw["FOO"], app["FOO"])
	}
	if _, err := os.Stat(filepath.Join(img.root, "run/s6/container_environment")); !os.IsNotExist(err) {
		t.Errorf("S6_KEEP_ENV=1: no container_environment expected (%v)", err)
	}
	c.signal(syscall.SIGTERM)
	c.wait(10 * time.Second)
}
