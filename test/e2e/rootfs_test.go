package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"text/template"
)

// TestInitialHAProxyConfig: the HAProxy configuration shipped in the image
// is the template rendered with no members (64 free slots), so the template
// plugin's first render with no web app changes nothing and HAProxy starts
// with the slots the runtime API fills.
func TestInitialHAProxyConfig(t *testing.T) {
	const dir = "../../rootfs/ha/etc/"
	text, err := os.ReadFile(dir + "corral/haproxy.cfg.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := os.ReadFile(dir + "haproxy/haproxy.cfg")
	if err != nil {
		t.Fatal(err)
	}
	type slot struct {
		Name     string
		Used     bool
		HostPort string
	}
	var slots []slot
	for i := 1; i <= 64; i++ {
		slots = append(slots, slot{Name: fmt.Sprintf("web%d", i), HostPort: "127.0.0.1:1"})
	}
	tm, err := template.New("haproxy").Option("missingkey=zero").Parse(string(text))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := tm.Execute(&b, map[string]any{"Slots": slots, "Backend": "web"}); err != nil {
		t.Fatal(err)
	}
	if b.String() != string(shipped) {
		t.Errorf("rootfs/ha/etc/haproxy/haproxy.cfg is not the template rendered with 64 free slots; regenerate it. Want:\n%s", b.String())
	}
}
