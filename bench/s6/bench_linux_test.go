package main

import (
	"strings"
	"testing"

	"github.com/corralhq/corral/test/testutil"
)

// TestHarness runs every peer once with two services, so that the
// benchmark cannot rot: each must get both services ready and stop.
func TestHarness(t *testing.T) {
	testutil.Require(t, testutil.Root, testutil.Command("s6-svscan", "s6"), testutil.Command("gcc", "gcc"),
		testutil.Command("unshare", "util-linux"))
	res, err := run(options{reps: 1, n: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.peers {
		s := res.samples[p.name]
		if len(s) != 1 || s[0].ready <= 0 || s[0].stop <= 0 {
			t.Errorf("%s: %+v", p.name, s)
		}
	}
	if md := res.markdown(options{reps: 1, n: 2}); !strings.Contains(md, "| s6-svscan |") {
		t.Errorf("report:\n%s", md)
	}
}
