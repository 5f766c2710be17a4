package s6

// Regression tests for defects a review found, each reproduced before it
// was fixed.

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corralhq/corral/control"
)

// s6-notifyoncheck gives up silently after -n tries: the service stays up,
// never ready (s6-spec §6.6), although the poller's exit closes the last
// writer of the notification pipe.
func TestNotifyOnCheckGivesUpServiceStaysUp(t *testing.T) {
	img := newImage(t).write(map[string]string{
		"etc/services.d/chk/run":             "x:#!/bin/sh\nexec s6-notifyoncheck -s 10 -w 50 -n 2 sleep 1000\n",
		"etc/services.d/chk/notification-fd": "3\n",
		"etc/services.d/chk/data/check":      "x:#!/bin/sh\nexit 1\n",
	})
	c := img.run(nil)
	st := c.waitState("chk", control.Starting, 10*time.Second)
	pid := st.PID
	time.Sleep(2 * time.Second)
	now := c.status()["chk"]
	c.signal(syscall.SIGTERM)
	c.wait(20 * time.Second)
	if now.PID != pid || now.Restarts != 0 {
		t.Fatalf("the service was killed after s6-notifyoncheck gave up: pid %d -> %d, %d restarts, %s (%s)",
			pid, now.PID, now.Restarts, now.State, now.Reason)
	}
}

// s6-svc -d then s6-svc -u (each returns at once, as s6-svc does): s6
// ends with the service up ("want up"), and so does corral.
func TestSvcDownThenUp(t *testing.T) {
	img := newImage(t).write(map[string]string{
		"etc/services.d/app/run": "x:#!/bin/sh\ntrap 'sleep 2; exit 0' TERM\nwhile :; do sleep 0.05; done\n",
	})
	c := img.run(nil)
	c.waitState("app", control.Running, 10*time.Second)
	if out, code := c.exec("sh", "-c", "s6-svc -d /run/service/app; sleep 0.2; s6-svc -u /run/service/app"); code != 0 {
		t.Fatalf("s6-svc: %d %s", code, out)
	}
	time.Sleep(3000 * time.Millisecond)
	st := c.status()["app"]
	c.signal(syscall.SIGTERM)
	c.wait(20 * time.Second)
	if st.State != control.Running {
		t.Fatalf("after s6-svc -d; s6-svc -u the service is %s", st.State)
	}
}

// A legacy service's log/run logger drains to the end of file at shutdown,
// as s6's loggers do: the lines the service printed while stopping are
// kept.
func TestLegacyLoggerKeepsLastLines(t *testing.T) {
	img := newImage(t).write(map[string]string{
		"etc/services.d/app/run":     "x:#!/bin/sh\ntrap 'i=0; while [ $i -lt 3000 ]; do echo line$i; i=$((i+1)); done; exit 0' TERM\nwhile :; do sleep 0.05; done\n",
		"etc/services.d/app/log/run": "x:#!/bin/sh\nwhile read l; do echo \"$l\" >> /tmp/log; done\n",
	})
	c := img.run(nil)
	c.waitState("app", control.Running, 10*time.Second)
	c.waitState("app-log", control.Running, 10*time.Second)
	c.signal(syscall.SIGTERM)
	c.wait(20 * time.Second)
	if n := strings.Count(img.read("tmp/log"), "\n"); n != 3000 {
		t.Fatalf("the logger wrote %d of the 3000 lines the service printed while stopping", n)
	}
}

// With S6_BEHAVIOUR_IF_STAGE2_FAILS=2 and the control socket elsewhere
// than its default, the CMD still runs when nothing failed (the engine
// checks the boot services itself before starting it).
func TestStage2GateWithOtherSocket(t *testing.T) {
	img := newImage(t).write(map[string]string{
		"etc/services.d/app/run": "x:#!/bin/sh\nexec sleep 1000\n",
	})
	c := img.run([]string{"S6_BEHAVIOUR_IF_STAGE2_FAILS=2", "CORRAL_SOCKET=/run/other.sock"}, "sh", "-c", "exit 7")
	code := c.wait(30 * time.Second)
	if code != 7 {
		t.Fatalf("exit code %d, want the CMD's 7\n%s", code, c.output())
	}
}

// s6-overlay's PID 1 halts on SIGUSR2 and powers off on SIGUSR1/SIGPWR
// (s6-spec §8.1, without S6_CMD_RECEIVE_SIGNALS); so does corral in s6
// mode.
func TestUSR2Halts(t *testing.T) {
	img := newImage(t).write(map[string]string{
		"etc/services.d/app/run": "x:#!/bin/sh\nexec sleep 1000\n",
	})
	c := img.run(nil)
	c.waitState("app", control.Running, 10*time.Second)
	c.signal(syscall.SIGUSR2)
	if code := c.wait(20 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGUSR2, want 0", code)
	}
}
