package e2e

import (
	"log/slog"
	"os"
	"strings"
	"testing"
	"text/template"

	"github.com/corralhq/corral/plugins/plugintest"
	tmplplugin "github.com/corralhq/corral/plugins/template"
)

// TestInitialHAProxyConfig: the HAProxy configuration shipped in the image
// is the template rendered with no members (a backend without servers), so
// the template plugin's first render with no web app changes nothing and
// HAProxy starts with the servers the runtime API then adds.
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
	tm, err := template.New("haproxy").Option("missingkey=zero").Parse(string(text))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := tm.Execute(&b, map[string]any{"Members": []any{}, "Backend": "web"}); err != nil {
		t.Fatal(err)
	}
	if b.String() != string(shipped) {
		t.Errorf("rootfs/ha/etc/haproxy/haproxy.cfg is not the template rendered with no members; regenerate it. Want:\n%s", b.String())
	}
}

// TestImageTemplateService: the image's haproxy-config.toml decodes
// strictly into the template plugin and provisions (no setting the plugin
// no longer knows), in runtime mode on backend web.
func TestImageTemplateService(t *testing.T) {
	b, err := os.ReadFile("../../rootfs/ha/etc/services.d/haproxy-config.toml")
	if err != nil {
		t.Fatal(err)
	}
	p := tmplplugin.New()
	if err := plugintest.DecodeService(tmplplugin.Name, string(b), p); err != nil {
		t.Fatal(err)
	}
	if err := p.Provision(plugintest.NewHost("haproxy-config", slog.New(slog.DiscardHandler))); err != nil {
		t.Fatal(err)
	}
	if p.Mode != tmplplugin.ReloadRuntime || p.Backend != "web" {
		t.Errorf("reload %s, backend %q: want runtime on web", p.Mode, p.Backend)
	}
}
