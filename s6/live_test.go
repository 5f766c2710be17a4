package s6

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMaterialize: like s6-rc-init and services-up, each longrun runs from
// a copy under /run, reachable as /run/service/<name>; run need not be
// executable in the source (s6-rc copies it 0755).
func TestMaterialize(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"etc/s6-overlay/s6-rc.d/svc-a/type":            "longrun\n",
		"etc/s6-overlay/s6-rc.d/svc-a/run":             "#!/bin/sh\nexec sleep 100\n",
		"etc/s6-overlay/s6-rc.d/svc-a/data/check":      "x:#!/bin/sh\n",
		"etc/s6-overlay/s6-rc.d/user/contents.d/svc-a": "",
		"etc/services.d/app/run":                       "x:#!/bin/sh\n",
		"etc/services.d/app/log/run":                   "x:#!/bin/sh\n",
	})
	l := Layout{Root: root}
	units, _ := Translate(Read(l, nil), Options{Exe: "/init", Layout: l})
	if probs := Materialize(l, units); len(probs) > 0 {
		t.Fatal(probs)
	}
	for name, live := range map[string]string{"svc-a": "run/s6-rc/servicedirs/svc-a", "app": "run/s6/legacy-services/app"} {
		link := filepath.Join(root, "run/service", name)
		target, err := os.Readlink(link)
		if err != nil || target != filepath.Join(root, live) {
			t.Errorf("%s -> %q (%v), want %s", link, target, err, live)
		}
		st, err := os.Stat(filepath.Join(link, "run"))
		if err != nil || st.Mode().Perm()&0o111 == 0 {
			t.Errorf("%s/run: %v %v, want an executable copy", link, st.Mode(), err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "run/service/app/log/run")); err != nil {
		t.Errorf("the logger is at /run/service/app/log: %v", err)
	}
	// An edited definition is synced in place: new content, stale files gone.
	src := filepath.Join(root, "etc/s6-overlay/s6-rc.d/svc-a")
	if err := os.WriteFile(filepath.Join(src, "run"), []byte("#!/bin/sh\nexec sleep 200\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(src, "data")); err != nil {
		t.Fatal(err)
	}
	units, _ = Translate(Read(l, nil), Options{Exe: "/init", Layout: l})
	if probs := Materialize(l, units); len(probs) > 0 {
		t.Fatal(probs)
	}
	live := filepath.Join(root, "run/s6-rc/servicedirs/svc-a")
	if b, _ := os.ReadFile(filepath.Join(live, "run")); string(b) != "#!/bin/sh\nexec sleep 200\n" {
		t.Errorf("live run not updated: %q", b)
	}
	if _, err := os.Stat(filepath.Join(live, "data")); !os.IsNotExist(err) {
		t.Errorf("data/ removed from the source is still live: %v", err)
	}
}
