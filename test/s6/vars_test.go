package s6

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corralhq/corral/control"
)

// TestCmdArg0: S6_CMD_ARG0's words go before the CMD.
func TestCmdArg0(t *testing.T) {
	c := newImage(t).run([]string{"S6_CMD_ARG0=/bin/echo prefix"}, "the-cmd")
	if code := c.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if !strings.Contains(c.output(), "prefix the-cmd\n") {
		t.Fatalf("output %q, want \"prefix the-cmd\"", c.output())
	}
}

// TestKillGraceTimes: a legacy longrun ignoring SIGTERM gets
// S6_SERVICES_GRACETIME plus S6_KILL_GRACETIME, then SIGKILL, and its
// finish learns it was killed (256 9); S6_KILL_FINISH_MAXTIME bounds each
// cont-finish script. (The CMD's stop time is corral's fixed one for now.)
func TestKillGraceTimes(t *testing.T) {
	img := newImage(t).write(map[string]string{
		"etc/services.d/stubborn/run":    "x:#!/bin/sh\ntrap '' TERM\necho up > /tmp/up\nwhile :; do sleep 0.05; done\n",
		"etc/services.d/stubborn/finish": "x:#!/bin/sh\necho \"finish $1 $2\"\n",
		"etc/cont-finish.d/10-slow":      "x:#!/bin/sh\necho slow-finish-started\nexec sleep 1000\n",
	})
	c := img.run([]string{"S6_KILL_GRACETIME=100", "S6_SERVICES_GRACETIME=100", "S6_KILL_FINISH_MAXTIME=200"})
	c.waitFile("tmp/up", 10*time.Second)
	c.waitState("stubborn", control.Running, 10*time.Second)
	c.signal(syscall.SIGTERM)
	if code := c.wait(20 * time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	out := c.output()
	if !strings.Contains(out, "finish 256 9") || !strings.Contains(out, "slow-finish-started") {
		t.Fatalf("want the stubborn service killed (finish 256 9) and the slow cont-finish script cut short:\n%s", out)
	}
}

// TestLogging: S6_LOGGING=0 (the default) writes services' lines as they
// are; 1 prefixes them with [name] and also writes log files; 2 writes the
// files only.
func TestLogging(t *testing.T) {
	files := map[string]string{"etc/services.d/app/run": "x:#!/bin/sh\necho hello-from-app\nexec sleep 1000\n"}
	for _, tc := range []struct {
		logging, console string
		file             bool
	}{
		{"0", "hello-from-app\n", false},
		{"1", "[app] hello-from-app\n", true},
		{"2", "", true},
	} {
		t.Run("S6_LOGGING="+tc.logging, func(t *testing.T) {
			img := newImage(t).write(files)
			c := img.run([]string{"S6_LOGGING=" + tc.logging})
			c.waitState("app", control.Running, 10*time.Second)
			if tc.file {
				if got := c.waitFile("var/log/corral/app/current", 10*time.Second); !strings.Contains(got, "hello-from-app") {
					t.Errorf("log file: %q", got)
				}
			} else {
				deadline := time.Now().Add(10 * time.Second)
				for !strings.Contains(c.stdout.String(), "hello-from-app") && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
			}
			c.signal(syscall.SIGTERM)
			c.wait(10 * time.Second)
			if got := strings.Join(lines(c.stdout.String(), "hello-from-app"), "\n"); got+"\n" != tc.console && !(tc.console == "" && got == "") {
				t.Errorf("console: %q, want %q", got, tc.console)
			}
			if img.read("var/log/corral/app/current") != "" != tc.file {
				t.Errorf("log file present: %v, want %v", !tc.file, tc.file)
			}
		})
	}
}

// TestVerbosityAndUnknownVars: S6_VERBOSITY=0 silences the info lines;
// an S6_* variable corral does not honour is reported.
func TestVerbosityAndUnknownVars(t *testing.T) {
	img := newImage(t).write(map[string]string{"etc/cont-init.d/10-a": "x:#!/bin/sh\necho script-ran\n"})
	c := img.run([]string{"S6_VERBOSITY=0"}, "true")
	c.wait(10 * time.Second)
	if out := c.output(); !strings.Contains(out, "script-ran") || strings.Contains(out, "cont-init: info") {
		t.Errorf("S6_VERBOSITY=0: %q", out)
	}
	c = newImage(t).run([]string{"S6_LOGGING_SCRIPT=n20 s1000000 T"}, "true")
	c.wait(10 * time.Second)
	if !strings.Contains(c.output(), "S6_LOGGING_SCRIPT") {
		t.Errorf("S6_LOGGING_SCRIPT is not reported: %q", c.output())
	}
}

// TestReceiveSignals: with S6_CMD_RECEIVE_SIGNALS the CMD gets the signals
// sent to PID 1 (corral passes USR1, USR2, HUP, QUIT and WINCH on always,
// and SIGTERM stops the CMD first), and the container exits with its code.
func TestReceiveSignals(t *testing.T) {
	img := newImage(t)
	c := img.run([]string{"S6_CMD_RECEIVE_SIGNALS=1"}, "sh", "-c",
		`trap "echo usr1 > /tmp/got" USR1; trap "exit 42" TERM; echo ready > /tmp/ready; while :; do sleep 0.05; done`)
	c.waitFile("tmp/ready", 10*time.Second)
	c.signal(syscall.SIGUSR1)
	c.waitFile("tmp/got", 10*time.Second)
	c.signal(syscall.SIGTERM)
	if code := c.wait(10 * time.Second); code != 42 {
		t.Fatalf("exit code %d, want the CMD's 42", code)
	}
}

// TestWaitMaxTime: with S6_CMD_WAIT_FOR_SERVICES_MAXTIME and
// S6_BEHAVIOUR_IF_STAGE2_FAILS=2, services not up in time stop the
// container with exit code 2 (s6-rc's timeout), without running the CMD.
func TestWaitMaxTime(t *testing.T) {
	src := "etc/s6-overlay/s6-rc.d/"
	img := newImage(t).write(map[string]string{
		src + "slow/type":            "oneshot\n",
		src + "slow/up":              "sleep 1000\n",
		src + "user/contents.d/slow": "",
	})
	c := img.run([]string{"S6_CMD_WAIT_FOR_SERVICES_MAXTIME=300", "S6_BEHAVIOUR_IF_STAGE2_FAILS=2", "S6_SYNC_DISKS=1"}, "sh", "-c", "echo cmd-ran")
	if code := c.wait(20 * time.Second); code != 2 {
		t.Fatalf("exit code %d, want 2", code)
	}
	if strings.Contains(c.output(), "cmd-ran") {
		t.Fatal("the CMD ran")
	}
}
