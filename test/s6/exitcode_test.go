package s6

import (
	"strings"
	"testing"
	"time"

	"github.com/corralhq/corral/control"
)

// TestExitCodeFile reproduces s6-overlay's documented pattern for images
// without a CMD: a finish script writes the code to
// /run/s6-linux-init-container-results/exitcode and calls
// /run/s6/basedir/bin/halt; the container exits with that code, after an
// orderly shutdown.
func TestExitCodeFile(t *testing.T) {
	img := newImage(t).write(map[string]string{
		"etc/services.d/app/run":    "x:#!/bin/sh\nexit 3\n",
		"etc/services.d/app/finish": "x:#!/bin/sh\necho \"$1\" > /run/s6-linux-init-container-results/exitcode\nexec /run/s6/basedir/bin/halt\n",
		"etc/cont-finish.d/10-bye":  "x:#!/bin/sh\necho cont-finish-ran\n",
	})
	c := img.run(nil)
	if code := c.wait(20 * time.Second); code != 3 {
		t.Fatalf("exit code %d, want 3 from the exitcode file", code)
	}
	if !strings.Contains(c.output(), "cont-finish-ran") {
		t.Error("halt skipped cont-finish.d")
	}
}

// TestFinish125 reproduces s6's finish exit code 125: the service stays
// down instead of being restarted; and the older idiom, a finish script
// running s6-svc -d on its own directory; and the down file.
func TestFinish125(t *testing.T) {
	img := newImage(t).write(map[string]string{
		"etc/services.d/once/run":        "x:#!/bin/sh\necho ran >> /tmp/runs\nexit 0\n",
		"etc/services.d/once/finish":     "x:#!/bin/sh\nexit 125\n",
		"etc/services.d/selfstop/run":    "x:#!/bin/sh\nexit 1\n",
		"etc/services.d/selfstop/finish": "x:#!/bin/sh\nexec s6-svc -d .\n",
		"etc/services.d/idle/run":        "x:#!/bin/sh\nexec sleep 1000\n",
		"etc/services.d/idle/down":       "",
	})
	c := img.run(nil)
	st := c.waitState("once", control.Exited, 10*time.Second)
	if runs := strings.Count(img.read("tmp/runs"), "ran"); runs != 1 || st.Restarts != 0 {
		t.Errorf("ran %d times, %d restarts: finish exiting 125 keeps it down", runs, st.Restarts)
	}
	// A finish script that stops its own service (s6-svc -d .) does not
	// wait for itself: the service ends up down.
	c.waitState("selfstop", control.Stopped, 10*time.Second)
	if st := c.status()["idle"]; st.State != control.Stopped {
		t.Errorf("idle has a down file: %s, want STOPPED (s6's down file)", st.State)
	}
	out, code := c.exec("s6-svc", "-wu", "-u", "/run/service/idle")
	if code != 0 {
		t.Fatalf("s6-svc -u of a down service: %d %s", code, out)
	}
	c.exec("/run/s6/basedir/bin/halt")
	if code := c.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

// TestStage2Fails reproduces S6_BEHAVIOUR_IF_STAGE2_FAILS: with 2, a
// failing cont-init script stops the container with exit code 1 before
// the services and the CMD; with 1 the container goes on with a warning;
// a failing S6_STAGE2_HOOK stops it with the hook's code.
func TestStage2Fails(t *testing.T) {
	files := map[string]string{
		"etc/cont-init.d/10-fail":  "x:#!/bin/sh\nexit 4\n",
		"etc/services.d/app/run":   "x:#!/bin/sh\necho app-started\nexec sleep 1000\n",
		"hook":                     "x:#!/bin/sh\nexit 6\n",
		"etc/cont-finish.d/10-bye": "x:#!/bin/sh\necho cont-finish-ran\n",
	}
	t.Run("b=2 cont-init", func(t *testing.T) {
		c := newImage(t).write(files).run([]string{"S6_BEHAVIOUR_IF_STAGE2_FAILS=2"}, "sh", "-c", "echo cmd-ran")
		if code := c.wait(20 * time.Second); code != 1 {
			t.Fatalf("exit code %d, want 1", code)
		}
		out := c.output()
		if strings.Contains(out, "app-started") || strings.Contains(out, "cmd-ran") {
			t.Errorf("the services or the CMD ran after stage 2 failed:\n%s", out)
		}
		if !strings.Contains(out, "cont-init: warning: some scripts exited nonzero") {
			t.Error("no cont-init warning")
		}
	})
	t.Run("b=1 cont-init", func(t *testing.T) {
		c := newImage(t).write(files).run([]string{"S6_BEHAVIOUR_IF_STAGE2_FAILS=1"}, "sh", "-c", "echo cmd-ran")
		if code := c.wait(20 * time.Second); code != 0 {
			t.Fatalf("exit code %d, want the CMD's 0", code)
		}
		if out := c.output(); !strings.Contains(out, "cmd-ran") || !strings.Contains(out, "cont-init: warning: some scripts exited nonzero") {
			t.Errorf("want the CMD to run after a warning:\n%s", out)
		}
	})
	t.Run("b=2 hook", func(t *testing.T) {
		c := newImage(t).write(files).run([]string{"S6_BEHAVIOUR_IF_STAGE2_FAILS=2", "S6_STAGE2_HOOK=/hook"})
		if code := c.wait(20 * time.Second); code != 6 {
			t.Fatalf("exit code %d, want the hook's 6", code)
		}
		if strings.Contains(c.output(), "app-started") {
			t.Error("services started after the hook failed")
		}
	})
}
