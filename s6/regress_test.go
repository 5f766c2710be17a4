package s6

// Regression tests for defects a review found, each reproduced before it
// was fixed.

import (
	"testing"
)

// s6-rc's timeout-down defaults to 0, no limit (s6-spec §4.1, §8.2): a
// oneshot's down script is never killed for taking its time.
func TestOneshotDownHasNoLimit(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"etc/s6-overlay/s6-rc.d/backup/type":            "oneshot\n",
		"etc/s6-overlay/s6-rc.d/backup/up":              "true\n",
		"etc/s6-overlay/s6-rc.d/backup/down":            "/usr/local/bin/dump-database\n",
		"etc/s6-overlay/s6-rc.d/user/contents.d/backup": "",
	})
	units, _ := translate(t, root, Config{})
	u := units["backup"]
	if u == nil {
		t.Fatal("no unit")
	}
	if d := u.Service.StopTimeout; d != 0 {
		t.Fatalf("the down script is SIGKILLed after %s (s6-rc: no limit without timeout-down)", d)
	}
}
