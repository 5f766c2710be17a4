package s6

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/corralhq/corral/services"
)

// writeTree lays files out under root; a path ending in "/" is a directory,
// content "x:..." is an executable file.
func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(root, p)
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(content, "x:") {
			content, mode = content[2:], 0o755
		}
		if err := os.WriteFile(full, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
}

// linuxserver is the init chain of linuxserver's alpine 3.22 base (spec
// §9.2), reduced to what decides the order, with an app (§9.5).
var linuxserver = map[string]string{
	"etc/s6-overlay/s6-rc.d/init-migrations/type":                            "oneshot\n",
	"etc/s6-overlay/s6-rc.d/init-migrations/up":                              "/etc/s6-overlay/s6-rc.d/init-migrations/run\n",
	"etc/s6-overlay/s6-rc.d/init-migrations/run":                             "x:#!/usr/bin/with-contenv bash\necho '[migrations] started'\n",
	"etc/s6-overlay/s6-rc.d/init-adduser/type":                               "oneshot\n",
	"etc/s6-overlay/s6-rc.d/init-adduser/up":                                 "/etc/s6-overlay/s6-rc.d/init-adduser/run\n",
	"etc/s6-overlay/s6-rc.d/init-adduser/run":                                "x:#!/usr/bin/with-contenv bash\nusermod -o -u \"$PUID\" abc\n",
	"etc/s6-overlay/s6-rc.d/init-adduser/branding":                           "linuxserver.io\n",
	"etc/s6-overlay/s6-rc.d/init-adduser/dependencies.d/init-migrations":     "",
	"etc/s6-overlay/s6-rc.d/init-envfile/type":                               "oneshot\n",
	"etc/s6-overlay/s6-rc.d/init-envfile/up":                                 "/etc/s6-overlay/s6-rc.d/init-envfile/run\n",
	"etc/s6-overlay/s6-rc.d/init-envfile/run":                                "x:#!/usr/bin/with-contenv bash\n",
	"etc/s6-overlay/s6-rc.d/init-device-perms/type":                          "oneshot",
	"etc/s6-overlay/s6-rc.d/init-device-perms/up":                            "/etc/s6-overlay/s6-rc.d/init-device-perms/run\n",
	"etc/s6-overlay/s6-rc.d/init-device-perms/run":                           "x:#!/usr/bin/with-contenv bash\n",
	"etc/s6-overlay/s6-rc.d/init-device-perms/dependencies.d/init-adduser":   "",
	"etc/s6-overlay/s6-rc.d/init-os-end/type":                                "oneshot\n",
	"etc/s6-overlay/s6-rc.d/init-os-end/up":                                  "# This file doesn't do anything, it's just the end of the downstream image init process\n",
	"etc/s6-overlay/s6-rc.d/init-os-end/dependencies.d/init-adduser":         "",
	"etc/s6-overlay/s6-rc.d/init-os-end/dependencies.d/init-device-perms":    "",
	"etc/s6-overlay/s6-rc.d/init-os-end/dependencies.d/init-envfile":         "",
	"etc/s6-overlay/s6-rc.d/init-config/type":                                "oneshot\n",
	"etc/s6-overlay/s6-rc.d/init-config/up":                                  "# This file doesn't do anything\n",
	"etc/s6-overlay/s6-rc.d/init-config/dependencies.d/init-os-end":          "",
	"etc/s6-overlay/s6-rc.d/init-services/type":                              "oneshot\n",
	"etc/s6-overlay/s6-rc.d/init-services/up":                                "# This file doesn't do anything\n",
	"etc/s6-overlay/s6-rc.d/init-services/dependencies.d/init-config":        "",
	"etc/s6-overlay/s6-rc.d/svc-app/type":                                    "longrun\n",
	"etc/s6-overlay/s6-rc.d/svc-app/notification-fd":                         "3\n",
	"etc/s6-overlay/s6-rc.d/svc-app/run":                                     "x:#!/usr/bin/with-contenv bash\nexec s6-notifyoncheck -d -n 300 -w 1000 -c \"nc -z localhost 8080\" s6-setuidgid abc app\n",
	"etc/s6-overlay/s6-rc.d/svc-app/dependencies.d/init-services":            "",
	"etc/s6-overlay/s6-rc.d/ci-service-check/type":                           "oneshot\n",
	"etc/s6-overlay/s6-rc.d/ci-service-check/up":                             `echo "[ls.io-init] done."`,
	"etc/s6-overlay/s6-rc.d/ci-service-check/dependencies.d/legacy-services": "",
	"etc/s6-overlay/s6-rc.d/user/contents.d/init-migrations":                 "",
	"etc/s6-overlay/s6-rc.d/user/contents.d/init-adduser":                    "",
	"etc/s6-overlay/s6-rc.d/user/contents.d/init-envfile":                    "",
	"etc/s6-overlay/s6-rc.d/user/contents.d/init-device-perms":               "",
	"etc/s6-overlay/s6-rc.d/user/contents.d/init-os-end":                     "",
	"etc/s6-overlay/s6-rc.d/user/contents.d/init-config":                     "",
	"etc/s6-overlay/s6-rc.d/user/contents.d/init-services":                   "",
	"etc/s6-overlay/s6-rc.d/user/contents.d/svc-app":                         "",
	"etc/s6-overlay/s6-rc.d/user2/contents.d/ci-service-check":               "",
}

func translate(t *testing.T, root string, cfg Config) (map[string]*Unit, []*Problem) {
	t.Helper()
	l := Layout{Root: root}
	tree := Read(l, func(n string) bool { return n == "cd" || n == "fdmove" })
	units, probs := Translate(tree, Options{Config: cfg, Exe: "/init", Layout: l, Execlineb: ""})
	m := map[string]*Unit{}
	for _, u := range units {
		m[u.Service.Name] = u
	}
	return m, probs
}

func fatals(probs []*Problem) []string {
	var out []string
	for _, p := range probs {
		if p.Fatal {
			out = append(out, p.Error())
		}
	}
	return out
}

// TestLinuxserverGraph: s6-overlay's order for linuxserver's tree: the
// user bundle in dependency order, no type file needed for user/user2,
// legacy-services after the whole of user and base, ci-service-check
// (user2) after legacy-services.
func TestLinuxserverGraph(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, linuxserver)
	units, probs := translate(t, root, ReadConfig(noEnv, noEnv))
	if f := fatals(probs); len(f) > 0 {
		t.Fatalf("unexpected errors: %q", f)
	}
	after := func(n string) []string {
		u := units[n]
		if u == nil {
			t.Fatalf("no unit %s; have %v", n, keys(units))
		}
		return u.Service.After
	}
	for name, want := range map[string][]string{
		FixAttrs:           nil,
		LegacyContInit:     {FixAttrs},
		"init-migrations":  nil,
		"init-adduser":     {"init-migrations"},
		"init-os-end":      {"init-adduser", "init-device-perms", "init-envfile"},
		"init-services":    {"init-config"},
		"svc-app":          {"init-services"},
		LegacyServices:     {FixAttrs, "init-adduser", "init-config", "init-device-perms", "init-envfile", "init-migrations", "init-os-end", "init-services", LegacyContInit, "svc-app"},
		"ci-service-check": {LegacyServices},
	} {
		if got := after(name); !reflect.DeepEqual(got, want) {
			t.Errorf("%s comes after %q, want %q", name, got, want)
		}
	}
	app := units["svc-app"].Service
	if app.Type != services.Longrun || app.Ready == nil || app.Ready.NotifyFD != 3 || app.Ready.Timeout != 0 {
		t.Errorf("svc-app: %s, ready %+v; want a longrun with notification-fd 3 and no readiness timeout", app.Type, app.Ready)
	}
	if want := filepath.Join(root, "run/s6-rc/servicedirs/svc-app"); app.WorkingDir != want || !reflect.DeepEqual(app.Command, []string{"./run", "svc-app"}) {
		t.Errorf("svc-app runs %q in %s, want ./run svc-app in %s", app.Command, app.WorkingDir, want)
	}
	if app.MaxRestarts != 0 || app.Restart != services.RestartAlways {
		t.Errorf("svc-app restart %s max %d: s6 restarts a longrun forever", app.Restart, app.MaxRestarts)
	}
	if got := units["init-adduser"].Service.Command; !reflect.DeepEqual(got, []string{"/etc/s6-overlay/s6-rc.d/init-adduser/run"}) {
		t.Errorf("init-adduser runs %q", got)
	}
	if got := units["ci-service-check"].Service.Command; !reflect.DeepEqual(got, []string{"echo", "[ls.io-init] done."}) {
		t.Errorf("ci-service-check runs %q", got)
	}
	if got := units["init-os-end"].Service.Command; got != nil {
		t.Errorf("a comment-only up file runs %q, want nothing (the engine counts it done at once)", got)
	}
	if env := units["init-adduser"].Service.Env; env["RC_NAME"] != "init-adduser" || !units["init-adduser"].Service.ClearEnv {
		t.Errorf("a oneshot gets PATH and RC_NAME only: env %v, ClearEnv %v", env, units["init-adduser"].Service.ClearEnv)
	}
	for n, u := range units {
		if !u.Service.Autostart {
			t.Errorf("%s is not started at boot", n)
		}
		if u.Service.Log.Prefix || u.Service.Log.Files {
			t.Errorf("%s: S6_LOGGING=0 means no prefix and no files, got %+v", n, u.Service.Log)
		}
	}
	// The branding file is linuxserver's own: reported, not fatal.
	var warned bool
	for _, p := range probs {
		if strings.HasSuffix(p.Path, "init-adduser/branding") && !p.Fatal {
			warned = true
		}
	}
	if !warned {
		t.Errorf("the unknown file init-adduser/branding was not reported: %v", probs)
	}
	for _, p := range probs {
		if strings.HasSuffix(p.Path, "/run") {
			t.Errorf("a run file the up script runs is reported: %v", p)
		}
	}
}

func noEnv(string) (string, bool) { return "", false }

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestLegacyTrees: /etc/services.d longruns after base and user, their
// log/ loggers fed by a pipe, a down file, cont-finish after everything.
func TestLegacyTrees(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"etc/cont-init.d/10-a":               "x:#!/bin/sh\n",
		"etc/cont-finish.d/10-z":             "x:#!/bin/sh\n",
		"etc/services.d/app/run":             "x:#!/bin/sh\nexec app\n",
		"etc/services.d/app/finish":          "x:#!/bin/sh\n",
		"etc/services.d/app/notification-fd": "4",
		"etc/services.d/app/log/run":         "x:#!/bin/sh\nexec s6-log /var/log/app\n",
		"etc/services.d/idle/run":            "x:#!/bin/sh\n",
		"etc/services.d/idle/down":           "",
		"etc/services.d/web.toml":            "command = \"sleep 1\"\n",
		"etc/services.d/notes.txt":           "hello\n",
	})
	units, probs := translate(t, root, ReadConfig(noEnv, noEnv))
	if f := fatals(probs); len(f) > 0 {
		t.Fatalf("unexpected errors: %q", f)
	}
	app := units["app"]
	if !reflect.DeepEqual(app.Service.After, []string{ContFinish, LegacyServices}) {
		t.Errorf("app comes after %q", app.Service.After)
	}
	if app.Service.StdoutTo != "app-log" || units["app-log"] == nil {
		t.Errorf("app's stdout goes to %q; units %v", app.Service.StdoutTo, keys(units))
	}
	if got := units["app-log"].Service.Command; !reflect.DeepEqual(got, []string{"./run", "app/log"}) {
		t.Errorf("the logger runs %q, want ./run app/log (s6-supervise's name for it)", got)
	}
	if !reflect.DeepEqual(app.Service.Finish, []string{"./finish"}) || app.Service.FinishTimeout != 5*time.Second {
		t.Errorf("finish %q within %s, want ./finish within 5s", app.Service.Finish, app.Service.FinishTimeout)
	}
	if want := filepath.Join(root, "run/s6/legacy-services/app"); app.Service.WorkingDir != want {
		t.Errorf("app runs in %s, want %s", app.Service.WorkingDir, want)
	}
	if app.Service.StopTimeout != 6*time.Second {
		t.Errorf("legacy stop timeout %s, want S6_SERVICES_GRACETIME + S6_KILL_GRACETIME = 6s", app.Service.StopTimeout)
	}
	if units["idle"].Service.Autostart {
		t.Error("idle has a down file: it must not start at boot")
	}
	if units["web"] != nil {
		t.Error("web.toml is corral's own service file, not an s6 service")
	}
	cf := units[ContFinish]
	if cf == nil || !reflect.DeepEqual(cf.Service.StopCommand, []string{"/init", "--applet", "s6-cont-finish", filepath.Join(root, "etc/cont-finish.d")}) {
		t.Fatalf("no cont-finish stop command: %+v", cf)
	}
	for n, u := range units {
		if n != ContFinish && (len(u.Service.After) == 0 || u.Service.After[0] != ContFinish) {
			t.Errorf("%s does not come after %s, so cont-finish could run before it stops", n, ContFinish)
		}
	}
	var sawTxt bool
	for _, p := range probs {
		sawTxt = sawTxt || strings.HasSuffix(p.Path, "services.d/notes.txt")
	}
	if !sawTxt {
		t.Error("services.d/notes.txt was not reported")
	}
}

// TestWaitForServices: with S6_CMD_WAIT_FOR_SERVICES, legacy-services
// (and user2 behind it) waits for the legacy longruns, except ones with a
// down file.
func TestWaitForServices(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"etc/services.d/app/run":   "x:#!/bin/sh\n",
		"etc/services.d/idle/run":  "x:#!/bin/sh\n",
		"etc/services.d/idle/down": "",
	})
	env := func(k string) (string, bool) {
		if k == "S6_CMD_WAIT_FOR_SERVICES" {
			return "1", true
		}
		return "", false
	}
	units, _ := translate(t, root, ReadConfig(env, env))
	if got := units[LegacyServices].Service.After; !reflect.DeepEqual(got, []string{"app", FixAttrs, LegacyContInit}) {
		t.Errorf("legacy-services comes after %q", got)
	}
	if got := units["app"].Service.After; !reflect.DeepEqual(got, []string{FixAttrs, LegacyContInit}) {
		t.Errorf("app comes after %q", got)
	}
}

// TestProblemsNamePaths: what corral cannot use is reported with its path
// and leaves out only the service at fault and its dependents.
func TestProblemsNamePaths(t *testing.T) {
	root := t.TempDir()
	src := "etc/s6-overlay/s6-rc.d/"
	writeTree(t, root, map[string]string{
		src + "notype/up":                          "true\n",
		src + "badtype/type":                       "daemon\n",
		src + "blocks/type":                        "oneshot\n",
		src + "blocks/up":                          "if { true } echo hi\n",
		src + "needs-blocks/type":                  "oneshot\n",
		src + "needs-blocks/up":                    "true\n",
		src + "needs-blocks/dependencies.d/blocks": "",
		src + "typo/type":                          "oneshot\n",
		src + "typo/up":                            "true\n",
		src + "typo/dependencies.d/init-adduzer":   "",
		src + "init-adduser/type":                  "oneshot\n",
		src + "init-adduser/up":                    "true\n",
		src + "a/type":                             "oneshot\n",
		src + "a/up":                               "true\n",
		src + "a/dependencies.d/b":                 "",
		src + "b/type":                             "oneshot\n",
		src + "b/up":                               "true\n",
		src + "b/dependencies.d/a":                 "",
		src + "base/type":                          "bundle\n",
		src + "base/contents.d/a":                  "",
		src + "noexec/type":                        "longrun\n",
		src + "user/contents.d/ghost":              "",
		"etc/services.d/notaservice/config":        "x\n",
	})
	units, probs := translate(t, root, ReadConfig(noEnv, noEnv))
	want := map[string]string{
		src + "notype/type":                      "missing",
		src + "badtype/type":                     "must be oneshot, longrun or bundle",
		src + "blocks/up":                        "execlineb",
		src + "needs-blocks":                     `depends on "blocks"`,
		src + "typo/dependencies.d/init-adduzer": `did you mean "init-adduser"`,
		src + "a":                                "dependency cycle",
		src + "b":                                "dependency cycle",
		src + "base":                             "reserved",
		src + "noexec/run":                       "needs a run file",
		"etc/services.d/notaservice":             "not a service directory",
	}
	got := map[string]string{}
	for _, p := range probs {
		if p.Fatal {
			rel, _ := filepath.Rel(root, p.Path)
			got[rel] = p.Err.Error()
		}
	}
	for path, frag := range want {
		if !strings.Contains(got[path], frag) {
			t.Errorf("%s: error %q, want one containing %q", path, got[path], frag)
		}
	}
	for _, n := range []string{"notype", "badtype", "blocks", "needs-blocks", "typo", "a", "b", "noexec"} {
		if units[n] != nil {
			t.Errorf("%s should be left out", n)
		}
	}
	if units["init-adduser"] == nil || units[LegacyServices] == nil {
		t.Errorf("the good services must load: %v", keys(units))
	}
	var ghost bool
	for _, p := range probs {
		ghost = ghost || (strings.HasSuffix(p.Path, "user/contents.d/ghost") && !p.Fatal)
	}
	if !ghost {
		t.Error("user/contents.d/ghost (an undefined member) was not reported")
	}
	var pe *Problem
	if !errors.As(probs[0], &pe) {
		t.Fatal("problems are *Problem")
	}
}

// TestExeclinebWhenInstalled: an up file with blocks runs through
// execlineb -Pc when it is installed.
func TestExeclinebWhenInstalled(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"etc/s6-overlay/s6-rc.d/mk/type":            "oneshot\n",
		"etc/s6-overlay/s6-rc.d/mk/up":              "if { mkdir -p /var/log/app } chmod 02755 /var/log/app\n",
		"etc/s6-overlay/s6-rc.d/mk/down":            "rm -rf /var/log/app\n",
		"etc/s6-overlay/s6-rc.d/user/contents.d/mk": "",
	})
	l := Layout{Root: root}
	units, probs := Translate(Read(l, nil), Options{Exe: "/init", Layout: l, Execlineb: "/usr/bin/execlineb"})
	if f := fatals(probs); len(f) > 0 {
		t.Fatal(f)
	}
	for _, u := range units {
		if u.Service.Name != "mk" {
			continue
		}
		if want := []string{"/usr/bin/execlineb", "-Pc", "if { mkdir -p /var/log/app } chmod 02755 /var/log/app\n"}; !reflect.DeepEqual(u.Service.Command, want) {
			t.Errorf("mk runs %q, want %q", u.Service.Command, want)
		}
		if want := []string{"rm", "-rf", "/var/log/app"}; !reflect.DeepEqual(u.Service.StopCommand, want) {
			t.Errorf("mk's down is %q, want %q", u.Service.StopCommand, want)
		}
		return
	}
	t.Fatal("no unit mk")
}

// TestNotInTopNotStarted: s6-overlay only brings up what top reaches: a
// definition left out of user/user2 (a classic mistake) is compiled but
// not started, unless something started depends on it. producer-for and
// consumer-for make a pipe.
func TestNotInTopNotStarted(t *testing.T) {
	root := t.TempDir()
	src := "etc/s6-overlay/s6-rc.d/"
	writeTree(t, root, map[string]string{
		src + "forgotten/type":             "longrun\n",
		src + "forgotten/run":              "x:#!/bin/sh\n",
		src + "needed/type":                "oneshot\n",
		src + "needed/up":                  "true\n",
		src + "app/type":                   "longrun\n",
		src + "app/run":                    "x:#!/bin/sh\n",
		src + "app/producer-for":           "app-logger\n",
		src + "app/dependencies.d/needed":  "",
		src + "app-logger/type":            "longrun\n",
		src + "app-logger/run":             "x:#!/bin/sh\n",
		src + "app-logger/consumer-for":    "app\n",
		src + "user/type":                  "bundle\n",
		src + "user/contents.d/app":        "",
		src + "user/contents.d/app-logger": "",
	})
	units, probs := translate(t, root, ReadConfig(noEnv, noEnv))
	if f := fatals(probs); len(f) > 0 {
		t.Fatal(f)
	}
	if units["forgotten"] == nil || units["forgotten"].Service.Autostart {
		t.Errorf("forgotten: %+v, want a unit that is not started at boot", units["forgotten"])
	}
	if !units["needed"].Service.Autostart {
		t.Error("needed is a dependency of app: it must start")
	}
	if units["app"].Service.StdoutTo != "app-logger" {
		t.Errorf("app's stdout goes to %q, want app-logger", units["app"].Service.StdoutTo)
	}
}
