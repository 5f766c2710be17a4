package s6

import (
	"fmt"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/corralhq/corral/control"
)

// TestTOMLNextToS6 shows what corral adds to an s6-overlay image: corral's
// own TOML service files and plugins (here the serf agent) next to the s6
// tree in /etc/services.d, and `supervisorctl status` listing everything,
// the s6 services included.
func TestTOMLNextToS6(t *testing.T) {
	port := freePort(t)
	img := newImage(t).write(map[string]string{
		"etc/services.d/app/run":                        "x:#!/bin/sh\nexec sleep 1000\n",
		"etc/services.d/extra.toml":                     "command = [\"sleep\", \"1000\"]\n",
		"etc/services.d/serf.toml":                      fmt.Sprintf("plugin = \"serf\"\n[serf]\nbind = \"127.0.0.1:%d\"\nrpc_addr = \"off\"\nsnapshot = \"\"\njoin = []\n", port),
		"etc/s6-overlay/s6-rc.d/init-x/type":            "oneshot\n",
		"etc/s6-overlay/s6-rc.d/init-x/up":              "true\n",
		"etc/s6-overlay/s6-rc.d/user/contents.d/init-x": "",
	})
	c := img.run(nil)
	for _, n := range []string{"app", "extra", "serf"} {
		c.waitState(n, control.Running, 20*time.Second)
	}
	out, code := c.exec("supervisorctl", "status")
	for _, re := range []string{
		`(?m)^app\s+RUNNING\s+pid \d+`, `(?m)^extra\s+RUNNING\s+pid \d+`, `(?m)^serf\s+RUNNING`,
		`(?m)^init-x\s+EXITED`, `(?m)^legacy-cont-init\s+EXITED`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("supervisorctl status (exit %d) does not match %s:\n%s", code, re, out)
		}
	}
	if strings.Contains(c.output(), "bad service file") {
		t.Errorf("errors: %s", c.output())
	}
	c.signal(syscall.SIGTERM)
	if code := c.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}
