package s6

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corralhq/corral/control"
)

// TestSourceDefinitions reproduces s6-rc's source format: up files that
// are a path, an echo with execline quotes, a comment only (success at
// once), an execline script with blocks (run by Debian's execlineb);
// user and user2 in /etc/s6-overlay/user-bundles.d; dependencies on a
// bundle and on base; a longrun with notification-fd, down-signal and
// finish; a producer-for/consumer-for pipe; timeout-up killing a oneshot.
func TestSourceDefinitions(t *testing.T) {
	src := "etc/s6-overlay/s6-rc.d/"
	ub := "etc/s6-overlay/user-bundles.d/"
	img := newImage(t).write(map[string]string{
		src + "by-path/type":                       "oneshot\n",
		src + "by-path/up":                         "/etc/s6-overlay/scripts/by-path\n",
		"etc/s6-overlay/scripts/by-path":           "x:#!/bin/sh\necho by-path-ran >> /tmp/log\n",
		src + "quoted/type":                        "oneshot",
		src + "quoted/up":                          `echo "[quoted] two  spaces"`,
		src + "nothing/type":                       "oneshot\n",
		src + "nothing/up":                         "# nothing to do\n",
		src + "blocks/type":                        "oneshot\n",
		src + "blocks/up":                          "if { mkdir -p /tmp/made } if { chmod 0700 /tmp/made } sh -c \"echo blocks-ran >> /tmp/log\"\n",
		src + "slow/type":                          "oneshot\n",
		src + "slow/up":                            "sleep 1000\n",
		src + "slow/timeout-up":                    "200\n",
		src + "grp/type":                           "bundle\n",
		src + "grp/contents.d/by-path":             "",
		src + "grp/contents.d/quoted":              "",
		src + "daemon/type":                        "longrun\n",
		src + "daemon/run":                         "#!/bin/sh\ntrap 'echo got-USR1 >> /tmp/log; exit 0' USR1\nsleep 0.2\necho > /dev/fd/5\nwhile :; do sleep 0.05; done\n",
		src + "daemon/notification-fd":             "5\n",
		src + "daemon/down-signal":                 "SIGUSR1\n",
		src + "daemon/finish":                      "#!/bin/sh\necho \"daemon-finish $1 $2 $3\" >> /tmp/log\n",
		src + "daemon/dependencies.d/grp":          "",
		src + "daemon/dependencies.d/base":         "",
		src + "daemon/dependencies.d/nothing":      "",
		src + "after-daemon/type":                  "oneshot\n",
		src + "after-daemon/up":                    sh("after-daemon"),
		src + "after-daemon/dependencies.d/daemon": "",
		src + "producer/type":                      "longrun\n",
		src + "producer/run":                       "#!/bin/sh\necho line-through-the-pipe\nexec sleep 1000\n",
		src + "producer/producer-for":              "consumer\n",
		src + "consumer/type":                      "longrun\n",
		src + "consumer/run":                       "#!/bin/sh\nexec sh -c 'while read l; do echo \"consumed: $l\" >> /tmp/pipe; done'\n",
		src + "consumer/consumer-for":              "producer\n",
		ub + "user/type":                           "bundle\n",
		ub + "user/contents.d/daemon":              "",
		ub + "user/contents.d/blocks":              "",
		ub + "user/contents.d/slow":                "",
		ub + "user/contents.d/producer":            "",
		ub + "user/contents.d/consumer":            "",
		ub + "user2/type":                          "bundle\n",
		ub + "user2/contents.d/after-daemon":       "",
	})
	c := img.run(nil)
	c.waitState("after-daemon", control.Exited, 20*time.Second)
	if got := c.waitFile("tmp/pipe", 10*time.Second); got != "consumed: line-through-the-pipe\n" {
		t.Errorf("the consumer read %q", got)
	}
	st := c.status()
	if st["daemon"].State != control.Running || !st["daemon"].Ready {
		t.Errorf("daemon: %s ready=%v, want RUNNING and ready (notification-fd 5)", st["daemon"].State, st["daemon"].Ready)
	}
	c.waitState("slow", control.Fatal, 10*time.Second) // killed at timeout-up
	if fi, err := os.Stat(filepath.Join(img.root, "tmp/made")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("the execline blocks did not run: %v %v", fi, err)
	}
	if !strings.Contains(c.output(), "[quoted] two  spaces\n") {
		t.Errorf("the quoted echo: %q", c.output())
	}
	c.signal(syscall.SIGTERM)
	if code := c.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	log := img.read("tmp/log")
	for _, want := range []string{"by-path-ran", "blocks-ran", "after-daemon", "got-USR1", "daemon-finish 0 0 daemon"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q (down-signal USR1, finish args): %q", want, log)
		}
	}
	if strings.Index(log, "by-path-ran") > strings.Index(log, "after-daemon") {
		t.Errorf("after-daemon ran before a member of the bundle daemon depends on: %q", log)
	}
}

// TestProblemsReported: what corral cannot run is reported with its path,
// and the rest runs: a directory in /etc/services.d that is not a service,
// an unknown file in a service directory, an up file with execline blocks
// when execlineb is not installed, a dependency on an undefined name. (A
// service left out counts as failed: what depends on it, directly or
// through a bundle, does not start.)
func TestProblemsReported(t *testing.T) {
	src := "etc/s6-overlay/s6-rc.d/"
	img := newImage(t).write(map[string]string{
		"etc/services.d/notaservice/config": "x\n",
		"etc/services.d/app/run":            "x:#!/bin/sh\nexec sleep 1000\n",
		"etc/services.d/app/README":         "notes\n",
		src + "blocks/type":                 "oneshot\n",
		src + "blocks/up":                   "if { true } echo hi\n",
		src + "typo/type":                   "oneshot\n",
		src + "typo/up":                     "true\n",
		src + "typo/dependencies.d/blokcs":  "",
	})
	// Hide the host's execlineb in the image (an overlay whiteout).
	os.MkdirAll(filepath.Join(img.root, "usr/bin"), 0o755)
	if err := syscall.Mknod(filepath.Join(img.root, "usr/bin/execlineb"), syscall.S_IFCHR, 0); err != nil {
		t.Fatal(err)
	}
	c := img.run(nil)
	c.waitState("app", control.Running, 10*time.Second)
	out := c.output()
	for _, want := range []string{
		"/etc/services.d/notaservice: not a service directory",
		"/etc/services.d/app/README",
		"/etc/s6-overlay/s6-rc.d/blocks/up: needs execlineb",
		`/etc/s6-overlay/s6-rc.d/typo/dependencies.d/blokcs: dependency \"blokcs\" is not defined (did you mean \"blocks\"?)`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("not reported: %q\noutput:\n%s", want, out)
		}
	}
	c.signal(syscall.SIGTERM)
	c.wait(10 * time.Second)
}
