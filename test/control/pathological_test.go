package control

import (
	"fmt"
	"strings"
	"testing"

	"github.com/corralhq/corral/control"
)

// TestPathologicalFilesRejected: service files built to make the TOML
// decoder work for seconds (issue 14, item 4: deep inline tables, deep
// arrays, dotted keys, an after list of 80,000 names) are each rejected
// with their file, line and key, and the good files in the same directory
// run. How fast is services' BenchmarkRejectPathological's business.
func TestPathologicalFilesRejected(t *testing.T) {
	const deep = 6000 // 36-60 KB
	var after strings.Builder
	after.WriteString("command = \"x\"\nafter = [")
	for i := range 80000 {
		fmt.Fprintf(&after, "\"s%d\",", i)
	}
	after.WriteString("]\n")
	bad := map[string]struct{ src, want string }{
		"inline.toml": {"command = \"x\"\nx = " + strings.Repeat("{a = ", deep) + "1" + strings.Repeat("}", deep) + "\n",
			`:2: key "x.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a": nested more than 32 levels deep`},
		"arrays.toml": {"command = \"x\"\nx = " + strings.Repeat("[", deep*5) + strings.Repeat("]", deep*5) + "\n",
			`:2: key "x[0][0][0]`},
		"dotted.toml": {"command = \"x\"\n" + strings.Repeat("a.", deep*5) + "a = 1\n",
			`:2: key "a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a.a": nested more than 32 levels deep`},
		"after.toml": {after.String(), `:2: key "after": array of more than 4096 elements, the limit`},
	}
	files := map[string]string{
		"web.toml": sleepFile(1000) + "after = [\"db\", \"db\"]\n",
		"db.toml":  sleepFile(2000),
	}
	for name, f := range bad {
		files[name] = f.src
	}
	c := startCorral(t, files)
	c.waitState(map[string]control.State{"web": control.Running, "db": control.Running})
	if sts := c.status(); len(sts) != 2 {
		t.Errorf("services: %v, want web and db only", sts)
	}
	r := c.ctl("reread")
	if r.code != 1 {
		t.Errorf("reread: exit %d, want 1", r.code)
	}
	for name, f := range bad {
		if !strings.Contains(r.out, c.dir+"/"+name+f.want) {
			t.Errorf("reread says nothing like %q for %s:\n%.2000s", f.want, name, r.out)
		}
		if !strings.Contains(c.out.String(), c.dir+"/"+name) {
			t.Errorf("corral's log does not name %s", name)
		}
	}
	if len(r.out) > 20000 {
		t.Errorf("reread printed %d bytes", len(r.out))
	}
}
