package plugintest

import (
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/corralhq/corral/plugins"
)

// CheckConvention checks what every plugin package promises (see package
// plugins): the plugin is registered under name, its Sample decodes
// strictly into a fresh value from the registry and provisions without
// error, and the "## Syntax" section of its README shows Sample exactly.
func CheckConvention(t *testing.T, name, sample, readme string) {
	t.Helper()
	f, ok := plugins.Lookup(name)
	if !ok {
		t.Fatalf("plugin %q is not registered", name)
	}
	p := f()
	if err := DecodeService(name, sample, p); err != nil {
		t.Fatalf("sample.conf does not decode: %v", err)
	}
	if pv, ok := p.(plugins.Provisioner); ok {
		if err := pv.Provision(NewHost(name, discardLogger())); err != nil {
			t.Fatalf("sample.conf does not provision: %v", err)
		}
	}
	b, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := syntaxBlock(string(b))
	if !ok {
		t.Fatalf("%s has no \"## Syntax\" section with a ```toml block", readme)
	}
	if strings.TrimSpace(got) != strings.TrimSpace(sample) {
		t.Errorf("%s's Syntax block differs from sample.conf; paste sample.conf there.\nREADME:\n%s\nsample.conf:\n%s", readme, got, sample)
	}
}

var syntaxRe = regexp.MustCompile("(?s)\n## Syntax\n.*?```toml\n(.*?)```")

// syntaxBlock returns the first toml block of the "## Syntax" section.
func syntaxBlock(readme string) (string, bool) {
	m := syntaxRe.FindStringSubmatch(readme)
	if m == nil {
		return "", false
	}
	return m[1], true
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
