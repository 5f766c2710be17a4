package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// badTemplate edits the balancer's template live: first a template that
// does not parse, then one whose output haproxy -c rejects, each applied
// with `supervisorctl signal HUP haproxy-config` (the plugin's reload: read
// the template again, render, check, reload). Both times the old config
// stays, HAProxy keeps serving and the error shows in supervisorctl status;
// the good template then clears it.
func badTemplate(t *testing.T, lb *balancer, front string) {
	good, err := os.ReadFile(lb.tmpl)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.WriteFile(lb.tmpl, good, 0o644) })
	cfg := lb.config()
	hup := func() string {
		out, _ := lb.ctl("signal", "HUP", "haproxy-config")
		return out
	}
	errorOf := func() string {
		s, _ := lb.status()["haproxy-config"].Detail["error"].(string)
		return s
	}
	for _, tc := range []struct {
		name, text, want string
	}{
		{"does not parse", string(good) + "\n{{ range .Members }\n", "unexpected \"}\""},
		{"fails the check", strings.Replace(string(good), "\nbackend web\n", "\nbackend web\n    no-such-keyword on\n", 1), "no-such-keyword"},
	} {
		failures := lb.detailInt("haproxy-config", "check_failures_total")
		if err := os.WriteFile(lb.tmpl, []byte(tc.text), 0o644); err != nil {
			t.Fatal(err)
		}
		out := hup()
		waitFor(t, 10*time.Second, "the error in the status ("+tc.name+")", func() bool {
			return strings.Contains(errorOf(), tc.want)
		})
		status, _ := lb.ctl("status", "haproxy-config")
		t.Logf("template that %s: signal HUP said %q; status: %s", tc.name, strings.TrimSpace(out), strings.TrimSpace(status))
		if !strings.Contains(status, "error: ") || !strings.Contains(status, tc.want) {
			t.Errorf("template that %s: status lacks the error (want %q):\n%s\ndetail error: %s", tc.name, tc.want, status, errorOf())
		}
		if !hasStatusLine(status, "haproxy-config", "RUNNING") {
			t.Errorf("template that %s: haproxy-config not RUNNING:\n%s", tc.name, status)
		}
		if tc.want == "no-such-keyword" {
			if got := lb.detailInt("haproxy-config", "check_failures_total"); got <= failures {
				t.Errorf("check_failures_total %d -> %d", failures, got)
			}
		}
		if got := lb.config(); got != cfg {
			t.Errorf("template that %s: haproxy.cfg changed:\n%s", tc.name, got)
		}
		if _, err := os.Stat(lb.cfg + ".staged"); err == nil {
			t.Errorf("staged file left behind")
		}
		if _, err := get(front); err != nil {
			t.Errorf("template that %s: HAProxy stopped serving: %v", tc.name, err)
		}
	}
	if err := os.WriteFile(lb.tmpl, good, 0o644); err != nil {
		t.Fatal(err)
	}
	hup()
	waitFor(t, 10*time.Second, "the error to clear with the good template", func() bool { return errorOf() == "" })
	if got := lb.config(); got != cfg {
		t.Errorf("good template again: haproxy.cfg differs:\n%s", got)
	}
}

// badServiceFile edits haproxy-config.toml live with an unknown key: corral
// keeps the running definition and `supervisorctl status` shows the error;
// restoring the file clears it. Neither haproxy-config nor haproxy, which
// runs after it, is restarted.
func badServiceFile(t *testing.T, lb *balancer) {
	before := lb.status()
	defer func() {
		// Whatever happened, let the next steps find HAProxy serving.
		lb.waitRunning(20*time.Second, "haproxy", "haproxy-config")
		after := lb.status()
		for _, name := range []string{"haproxy-config", "haproxy"} {
			if !after[name].Started.Equal(before[name].Started) {
				t.Errorf("%s was restarted by a bad and then restored haproxy-config.toml (started %s, before %s)",
					name, after[name].Started.Format("15:04:05.000"), before[name].Started.Format("15:04:05.000"))
			}
		}
	}()
	path := filepath.Join(lb.dir, "services.d", "haproxy-config.toml")
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.WriteFile(path, good, 0o644) })
	if err := os.WriteFile(path, append(append([]byte(nil), good...), []byte("no_such_setting = 1\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the service file error in the status", func() bool {
		return lb.status()["haproxy-config"].ConfigError != ""
	})
	out, _ := lb.ctl("status")
	t.Logf("bad service file: supervisorctl status:\n%s", out)
	if !strings.Contains(out, "no_such_setting") || !strings.Contains(out, "ERROR") {
		t.Errorf("status does not show the bad key:\n%s", out)
	}
	if !hasStatusLine(out, "haproxy-config", "RUNNING") {
		t.Errorf("haproxy-config not RUNNING:\n%s", out)
	}
	if err := os.WriteFile(path, good, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the service file error to clear", func() bool {
		return lb.status()["haproxy-config"].ConfigError == ""
	})
	if s := lb.status()["haproxy-config"]; s.State != "RUNNING" {
		t.Errorf("haproxy-config after the fix: %+v", s)
	}
}
