package template

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/corralhq/corral/plugins/plugintest"
)

// TestConvention: registered as "template", Sample decodes strictly and
// provisions, and the README's Syntax section is Sample.
func TestConvention(t *testing.T) {
	plugintest.CheckConvention(t, Name, Sample, "README.md")
}

// provisioned decodes a service file running the plugin the way corral
// does (the services parser, then the [template] table strictly into a
// fresh plugin) and provisions it on h.
func provisioned(t *testing.T, h *plugintest.Host, file string) (*Plugin, error) {
	t.Helper()
	p := New()
	if err := plugintest.DecodeService(Name, file, p); err != nil {
		return p, err
	}
	return p, p.Provision(h)
}

// TestSampleDecoded: the sample's values arrive where they belong.
func TestSampleDecoded(t *testing.T) {
	p, err := provisioned(t, newTestHost(t), Sample)
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode != ReloadRuntime || p.Backend != "web" || p.CheckTimeout != 10*time.Second || p.Perms != 0o644 ||
		p.WaitMin != 200*time.Millisecond || p.Role != "web" {
		t.Errorf("decoded %+v", p.Config)
	}
}

// TestDecodeErrors: an unknown key and an unknown mode are named.
func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct{ edit, want string }{
		{strings.Replace(Sample, `wait_max = "2s"`, "wait_max = \"2s\"\nwait_maxx = \"1s\"", 1), "wait_maxx"},
		{strings.Replace(Sample, `reload = "runtime"`, `reload = "usr2"`, 1), "usr2"},
	} {
		if _, err := provisioned(t, newTestHost(t), tc.edit); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want it to name %q", err, tc.want)
		}
	}
}

// TestReloadModeDefault: a reload key left out means "signal" when service
// is set, else "none"; an explicit "none" stays "none" with a service set.
func TestReloadModeDefault(t *testing.T) {
	const head = "plugin = \"template\"\n[template]\nsource = \"/t\"\ndestination = \"/d\"\n"
	for _, tc := range []struct {
		body string
		want ReloadMode
	}{
		{"", ReloadNone},
		{"service = \"haproxy\"\n", ReloadSignal},
		{"service = \"haproxy\"\nreload = \"none\"\n", ReloadNone},
		{"reload = \"none\"\n", ReloadNone},
		{"service = \"haproxy\"\nreload = \"signal\"\n", ReloadSignal},
	} {
		p, err := provisioned(t, newTestHost(t), head+tc.body)
		if err != nil {
			t.Fatalf("%q: %v", tc.body, err)
		}
		if p.Mode != tc.want {
			t.Errorf("%q: reload mode %s, want %s", tc.body, p.Mode, tc.want)
		}
	}
}

// TestProvisionExpandsAndErrors: role, role_tag, port_tag and backend take
// ${VAR} from the host's environment; a provision error does not repeat
// the plugin's name (the engine adds the file and the [template] key).
func TestProvisionExpandsAndErrors(t *testing.T) {
	h := newTestHost(t)
	h.Setenv("TEMPLATE_TEST_ROLE", "api")
	file := "plugin = \"template\"\n[template]\nsource = \"/t\"\ndestination = \"/d\"\n" +
		"role = \"${TEMPLATE_TEST_ROLE}\"\nrole_tag = \"${TEMPLATE_TEST_UNSET:-kind}\"\nport_tag = \"$${literal}\"\nbackend = \"be-${TEMPLATE_TEST_ROLE}\"\n"
	p, err := provisioned(t, h, file)
	if err != nil {
		t.Fatal(err)
	}
	if p.Role != "api" || p.RoleTag != "kind" || p.PortTag != "${literal}" || p.Backend != "be-api" {
		t.Errorf("role %q, role_tag %q, port_tag %q, backend %q", p.Role, p.RoleTag, p.PortTag, p.Backend)
	}
	_, err = provisioned(t, h, "plugin = \"template\"\n[template]\ndestination = \"/d\"\n")
	if err == nil || strings.HasPrefix(err.Error(), "template:") || !strings.HasPrefix(err.Error(), "source: missing") {
		t.Errorf("provision error = %v, want it to start with \"source: missing\"", err)
	}
	_, err = provisioned(t, h, "plugin = \"template\"\n[template]\nsource = \"/t\"\ndestination = \"/d\"\nrole = \"${BAD\"\n")
	if err == nil || !strings.HasPrefix(err.Error(), "role: ") {
		t.Errorf("provision error = %v, want it to name role", err)
	}
}

// TestStartWritesMissingDestination: with no destination file yet (a tmpfs
// over its directory), Start writes the one with no member before it
// returns, so the service started after the plugin finds a config.
func TestStartWritesMissingDestination(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "cfg.tmpl"), filepath.Join(dir, "out", "cfg")
	if err := os.WriteFile(src, []byte("members:{{range .Members}} {{.Name}}{{end}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	h := newTestHost(t)
	p, err := provisioned(t, h, "plugin = \"template\"\n[template]\nsource = \""+src+"\"\ndestination = \""+dst+"\"\nreload = \"none\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(h.Context()); err != nil {
		t.Fatal(err)
	}
	defer p.Stop(context.Background())
	b, err := os.ReadFile(dst)
	if err != nil || string(b) != "members:\n" {
		t.Fatalf("destination after Start: %q, %v", b, err)
	}
}
