package s6

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/corralhq/corral/control"
)

// TestHelperPaths: the commands images call are where they call them,
// links to corral made at boot when missing: /command/*,
// /usr/bin/with-contenv (and s6-*, except where a real one exists: the
// test host has Debian's s6 in /usr/bin), /package/admin/s6-overlay/command/*,
// /run/s6/basedir/bin/halt.
func TestHelperPaths(t *testing.T) {
	img := newImage(t).write(map[string]string{"etc/services.d/app/run": "x:#!/bin/sh\nexec sleep 1000\n"})
	c := img.run(nil)
	c.waitState("app", control.Running, 10*time.Second)
	for _, p := range []string{
		"/command/with-contenv", "/command/printcontenv", "/command/with-retries", "/command/s6-setuidgid",
		"/command/s6-envuidgid", "/command/s6-applyuidgid", "/command/s6-notifyoncheck", "/command/s6-envdir",
		"/command/cd", "/command/fdmove", "/command/s6-svc", "/command/s6-svstat", "/command/s6-svwait",
		"/command/s6-svok", "/command/s6-svscanctl", "/command/s6-rc",
		"/usr/bin/with-contenv", "/usr/bin/printcontenv", "/usr/bin/with-retries",
		"/package/admin/s6-overlay/command/with-contenv", "/package/admin/s6-overlay/command/printcontenv",
		"/run/s6/basedir/bin/halt",
	} {
		if out, code := c.exec("readlink", p); code != 0 || strings.TrimSpace(out) != "/init" {
			t.Errorf("%s -> %q (exit %d), want a link to /init", p, strings.TrimSpace(out), code)
		}
	}
}

// TestPrivilegeAndChainCommands: s6-setuidgid, s6-envuidgid,
// s6-applyuidgid, s6-envdir, execline's cd and fdmove, with-retries, with
// their s6 semantics.
func TestPrivilegeAndChainCommands(t *testing.T) {
	img := newImage(t).write(map[string]string{
		"etc/services.d/app/run": "x:#!/bin/sh\nexec sleep 1000\n",
		"tmp/ed/GREETING":        "hello\nsecond line\n",
		"tmp/ed/.hidden":         "no\n",
	})
	c := img.run(nil)
	c.waitState("app", control.Running, 10*time.Second)
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"s6-setuidgid", "abc", "id", "-u"}, "911\n"},
		{[]string{"s6-setuidgid", "abc", "id", "-G"}, "911 1911\n"},
		{[]string{"s6-setuidgid", "912:913", "id", "-g"}, "913\n"},
		{[]string{"s6-envuidgid", "abc", "sh", "-c", "echo $UID $GID $GIDLIST"}, "911 911 911,1911\n"},
		{[]string{"s6-envuidgid", "abc", "s6-applyuidgid", "-Uz", "sh", "-c", "id -u; echo ${UID-unset}"}, "911\nunset\n"},
		{[]string{"s6-envdir", "/tmp/ed", "sh", "-c", "echo $GREETING; echo ${hidden-none}"}, "hello\nnone\n"},
		{[]string{"s6-envdir", "-f", "/tmp/ed", "printenv", "GREETING"}, "hello\nsecond line\n"},
		{[]string{"cd", "/tmp", "pwd"}, "/tmp\n"},
		{[]string{"fdmove", "-c", "3", "1", "sh", "-c", "echo via-fd-3 >&3"}, "via-fd-3\n"},
		{[]string{"with-retries", "-n", "3", "-t", "5000", "sh", "-c", "n=$(cat /tmp/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /tmp/n; [ $n -ge 2 ]"}, ""},
	} {
		out, code := c.exec(tc.argv...)
		if code != 0 || out != tc.want {
			t.Errorf("%q: exit %d, output %q; want 0 and %q", tc.argv, code, out, tc.want)
		}
	}
	if n := img.read("tmp/n"); n != "2\n" {
		t.Errorf("with-retries ran the command %q times, want 2 (the first success)", n)
	}
	if _, code := c.exec("s6-setuidgid", "nosuchuser", "true"); code != 1 {
		t.Errorf("s6-setuidgid with an unknown user: exit %d, want 1", code)
	}
	if _, code := c.exec("with-retries", "-n", "2", "-t", "5000", "false"); code != 1 {
		t.Errorf("with-retries of a command that always fails: exit %d, want 1", code)
	}
}

// sigService is a service that records the signals it gets.
const sigService = `#!/bin/sh
for s in HUP USR1 USR2; do trap "echo $s >> /tmp/sig" $s; done
trap 'echo TERM >> /tmp/sig; exit 0' TERM
echo started >> /tmp/sig
while :; do sleep 0.05; done
`

// TestSupervisionCommands: s6-svc (-h -1 -2 -d -u -t -k -r -o), s6-svstat,
// s6-svwait, s6-svok, s6-rc change, s6-notifyoncheck with ./data/check,
// and s6-svscanctl -t, on /run/service/<name>, with s6's meanings.
func TestSupervisionCommands(t *testing.T) {
	src := "etc/s6-overlay/s6-rc.d/"
	img := newImage(t).write(map[string]string{
		"etc/services.d/sig/run":             "x:" + sigService,
		"etc/services.d/chk/run":             "x:#!/bin/sh\nexec s6-notifyoncheck -w 20 -n 0 sleep 1000\n",
		"etc/services.d/chk/notification-fd": "3\n",
		"etc/services.d/chk/data/check":      "x:#!/bin/sh\ntest -e /tmp/go\n",
		src + "lr/type":                      "longrun\n",
		src + "lr/run":                       "#!/bin/sh\nexec sleep 1000\n",
		src + "lr/dependencies.d/onesh":      "",
		src + "user/contents.d/lr":           "",
		src + "onesh/type":                   "oneshot\n",
		src + "onesh/up":                     sh("up-onesh"),
		src + "onesh/down":                   sh("down-onesh"),
		src + "user/contents.d/onesh":        "",
		"etc/cont-finish.d/10-bye":           "x:#!/bin/sh\necho bye >> /tmp/log\n",
	})
	c := img.run(nil)
	c.waitState("sig", control.Running, 10*time.Second)
	run := func(argv ...string) string {
		t.Helper()
		out, code := c.exec(argv...)
		if code != 0 {
			t.Fatalf("%q: exit %d: %s", argv, code, out)
		}
		return out
	}
	waitSig := func(word string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(img.read("tmp/sig"), word+"\n") {
			if time.Now().After(deadline) {
				t.Fatalf("the service did not get %s: %q", word, img.read("tmp/sig"))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	run("s6-svc", "-h", "/run/service/sig")
	waitSig("HUP")
	run("s6-svc", "-1", "/var/run/service/sig")
	waitSig("USR1")
	run("s6-svc", "-2", "/run/s6/legacy-services/sig")
	waitSig("USR2")

	if _, code := c.exec("s6-svok", "/run/service/sig"); code != 0 {
		t.Errorf("s6-svok on a supervised service: exit %d", code)
	}
	if _, code := c.exec("s6-svok", "/run/service/nope"); code != 1 {
		t.Errorf("s6-svok on an unknown service: exit %d, want 1", code)
	}

	run("s6-svc", "-wd", "-d", "/run/service/sig")
	if st := run("s6-svstat", "/run/service/sig"); !regexp.MustCompile(`^down \(exitcode 0\) \d+ seconds, normally up, ready \d+ seconds\n$`).MatchString(st) {
		t.Errorf("s6-svstat after -d: %q", st)
	}
	if got := run("s6-svstat", "-o", "up,wantedup,normallyup,pid,exitcode", "/run/service/sig"); got != "false false true -1 0\n" {
		t.Errorf("s6-svstat -o: %q", got)
	}
	run("s6-svc", "-wu", "-u", "/run/service/sig")
	before := run("s6-svstat", "-p", "/run/service/sig")
	run("s6-svc", "-wr", "-t", "/run/service/sig") // the service exits 0 on TERM; wanted up, it comes back
	if after := run("s6-svstat", "-p", "/run/service/sig"); after == before {
		t.Errorf("s6-svc -t: still pid %s", after)
	}
	before = run("s6-svstat", "-p", "/run/service/sig")
	run("s6-svc", "-wr", "-k", "/run/service/sig")
	if after := run("s6-svstat", "-p", "/run/service/sig"); after == before {
		t.Errorf("s6-svc -k: still pid %s", after)
	}
	if out, code := c.exec("s6-svc", "-o", "/run/service/sig"); code != 0 || !strings.Contains(out, "-o (once) is run as -u") {
		t.Errorf("s6-svc -o: exit %d, %q: want a warning that corral restarts it", code, out)
	}

	// s6-notifyoncheck: up, not ready, until ./data/check succeeds.
	c.waitState("chk", control.Starting, 10*time.Second)
	if st := run("s6-svstat", "/run/service/chk"); strings.Contains(st, "ready") || !strings.HasPrefix(st, "up (pid ") {
		t.Errorf("s6-svstat before the check passes: %q, want up and not ready", st)
	}
	if err := os.WriteFile(filepath.Join(img.root, "tmp/go"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	run("s6-svwait", "-U", "-t", "10000", "/run/service/chk")
	if st := c.status()["chk"]; st.State != control.Running || !st.Ready {
		t.Errorf("chk after s6-svwait -U: %s ready=%v", st.State, st.Ready)
	}

	// s6-rc change: down and up with dependencies; a oneshot already up
	// is not run again.
	c.waitState("lr", control.Running, 10*time.Second)
	run("s6-rc", "-d", "change", "lr")
	if st := c.status()["lr"]; st.State != control.Stopped {
		t.Errorf("s6-rc -d change lr: %s", st.State)
	}
	run("s6-rc", "-u", "change", "lr")
	if st := c.status()["lr"]; st.State != control.Running {
		t.Errorf("s6-rc -u change lr: %s", st.State)
	}
	run("s6-rc", "-u", "change", "onesh")
	if log := img.read("tmp/log"); log != "up-onesh\n" {
		t.Errorf("s6-rc -u change of a oneshot that is up ran it again: log %q", log)
	}

	// s6-svscanctl -t stops the container in order (cont-finish.d runs).
	run("s6-svscanctl", "-t", "/run/service")
	if code := c.wait(20 * time.Second); code != 0 {
		t.Fatalf("exit code %d after s6-svscanctl -t", code)
	}
	if log := img.read("tmp/log"); !strings.HasSuffix(log, "down-onesh\nbye\n") {
		t.Errorf("shutdown: log %q, want onesh's down then cont-finish", log)
	}
}
