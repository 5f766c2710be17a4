package s6

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// sh returns an s6-rc up/down line that appends word to /tmp/log (a
// direct argv: s6-rc execs it without a shell; the quotes are execline's).
func sh(word string) string { return `sh -c "echo ` + word + ` >> /tmp/log"` + "\n" }

// TestBootAndShutdownOrder reproduces s6-overlay's stage 2 and stage 3:
// S6_STAGE2_HOOK, cont-init.d, the user bundle in dependency order (u1
// depends on base, as s6-overlay's README tells user services that need
// cont-init.d to do), then
// (legacy-services) the /etc/services.d longruns and user2, then the CMD;
// at shutdown the reverse: the CMD, user2 (oneshots' down), the
// services.d longruns, user (longruns, then oneshots' down),
// cont-finish.d; and the exit without an idle wait.
func TestBootAndShutdownOrder(t *testing.T) {
	src := "etc/s6-overlay/s6-rc.d/"
	img := newImage(t).write(map[string]string{
		"hook":                         "x:#!/bin/sh\necho hook >> /tmp/log\n",
		"etc/cont-init.d/10-a":         "x:#!/bin/sh\necho cont-init >> /tmp/log\n",
		src + "u1/type":                "oneshot\n",
		src + "u1/up":                  sh("up-u1"),
		src + "u1/down":                sh("down-u1"),
		src + "u1/dependencies.d/base": "",
		src + "ul/type":                "longrun\n",
		src + "ul/run":                 "#!/bin/sh\necho up-ul >> /tmp/log\nexec sleep 1000\n",
		src + "ul/finish":              "#!/bin/sh\necho finish-ul >> /tmp/log\n",
		src + "ul/dependencies.d/u1":   "",
		src + "u2/type":                "oneshot\n",
		src + "u2/up":                  sh("up-u2"),
		src + "u2/down":                sh("down-u2"),
		src + "u2/dependencies.d/legacy-services": "",
		src + "user/contents.d/u1":                "",
		src + "user/contents.d/ul":                "",
		src + "user2/contents.d/u2":               "",
		"etc/services.d/legacy/run":               "x:#!/bin/sh\necho up-legacy >> /tmp/log\nexec sleep 1000\n",
		"etc/services.d/legacy/finish":            "x:#!/bin/sh\necho finish-legacy >> /tmp/log\n",
		"etc/cont-finish.d/10-z":                  "x:#!/bin/sh\necho cont-finish >> /tmp/log\n",
	})
	cmd := `echo cmd >> /tmp/log; trap "echo cmd-term >> /tmp/log; exit 0" TERM; while :; do sleep 0.05; done`
	c := img.run([]string{"S6_STAGE2_HOOK=/hook"}, "sh", "-c", cmd)
	c.waitFile("tmp/log", 10*time.Second)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(img.read("tmp/log"), "cmd\n") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	c.signal(syscall.SIGTERM)
	if code := c.wait(20 * time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0: the CMD exited 0 on SIGTERM", code)
	}
	log := strings.Fields(img.read("tmp/log"))
	pos := map[string]int{}
	for i, w := range log {
		pos[w] = i
	}
	before := func(a, b string) {
		t.Helper()
		pa, oka := pos[a]
		pb, okb := pos[b]
		if !oka || !okb || pa > pb {
			t.Errorf("%s should come before %s; log: %v", a, b, log)
		}
	}
	for _, pair := range [][2]string{
		{"hook", "cont-init"}, {"cont-init", "up-u1"}, {"up-u1", "up-ul"}, {"up-ul", "up-u2"},
		{"up-ul", "up-legacy"}, {"up-u2", "cmd"},
		{"cmd-term", "down-u2"}, {"down-u2", "finish-legacy"}, {"finish-legacy", "finish-ul"},
		{"finish-ul", "down-u1"}, {"down-u1", "cont-finish"},
	} {
		before(pair[0], pair[1])
	}
}
