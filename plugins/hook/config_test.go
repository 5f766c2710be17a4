package hook

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/corralhq/corral/plugins/plugintest"
)

// TestConvention checks what every plugin promises: registered under
// Name, Sample decodes strictly and provisions, and the README's Syntax
// section is Sample.
func TestConvention(t *testing.T) {
	plugintest.CheckConvention(t, Name, Sample, "README.md")
	p := New()
	if err := plugintest.DecodeService(Name, Sample, p); err != nil {
		t.Fatal(err)
	}
	if err := p.Provision(plugintest.NewHost("hook", slog.Default())); err != nil {
		t.Fatal(err)
	}
	if st := p.Status(); st.Description != "waiting for a serf agent" || st.Ready {
		t.Errorf("status with no agent: %+v", st)
	}
	if len(p.Command) != 1 || len(p.filters) != 4 || p.filters[3] != (filter{"user", "deploy"}) || p.Timeout != DefaultTimeout {
		t.Errorf("decoded command %q filters %+v timeout %s", p.Command, p.filters, p.Timeout)
	}
}

// TestProvision checks the command forms (one implementation with
// services: plugins.Command), the event filters and the errors, which do
// not name the plugin (the engine adds the file and key).
func TestProvision(t *testing.T) {
	tests := []struct {
		name, toml, err string
		argv            string
	}{
		{"string", `command = "echo hi >&2"`, "", "/bin/sh|-c|echo hi >&2"},
		{"array", `command = ["logger", "-t", "serf"]`, "", "logger|-t|serf"},
		{"all events", `command = "true"` + "\n" + `events = ["*"]`, "", "/bin/sh|-c|true"},
		{"user and query", `command = "true"` + "\n" + `events = ["user", "user:deploy", "query:uptime", "member-reap"]`, "", "/bin/sh|-c|true"},
		{"missing", `events = ["member-join"]`, "command is required", ""},
		{"bad event", `command = "true"` + "\n" + `events = ["member-joined"]`, `unknown event "member-joined"`, ""},
		{"name on a member event", `command = "true"` + "\n" + `events = ["member-join:x"]`, `unknown event "member-join:x"`, ""},
		{"empty user name", `command = "true"` + "\n" + `events = ["user:"]`, `event "user:": empty name after user:`, ""},
		{"negative timeout", `command = "true"` + "\n" + `timeout = "-1s"`, "negative timeout", ""},
		{"array of numbers", `command = [1, 2]`, "[0]: expected a string, got integer 1", ""},
		{"empty array", `command = []`, "empty command", ""},
		{"blank string", `command = "  "`, "empty command", ""},
		{"table", "[hook.command]\nx = 1", "got table", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New()
			err := plugintest.DecodeService(Name, "plugin = \"hook\"\n[hook]\n"+tt.toml, p)
			if err == nil {
				err = p.Provision(plugintest.NewHost("hook", slog.Default()))
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "hook: ") {
					t.Errorf("error %q names the plugin", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(p.Command, "|"); got != tt.argv {
				t.Errorf("argv %q, want %q", got, tt.argv)
			}
			if p.Timeout != DefaultTimeout || len(p.filters) == 0 {
				t.Errorf("defaults: filters %v timeout %s", p.filters, p.Timeout)
			}
		})
	}
}

// TestFilter checks the stock agent's filter syntax.
func TestFilter(t *testing.T) {
	tests := []struct {
		filter, event, name string
		match               bool
	}{
		{"*", "query", "x", true},
		{"member-join", "member-join", "", true},
		{"member-join", "member-leave", "", false},
		{"user", "user", "deploy", true},
		{"user:deploy", "user", "deploy", true},
		{"user:deploy", "user", "other", false},
		{"user:deploy", "query", "deploy", false},
		{"query:uptime", "query", "uptime", true},
		{"query", "user", "x", false},
	}
	for _, tt := range tests {
		f, err := parseFilter(tt.filter)
		if err != nil {
			t.Fatalf("%s: %v", tt.filter, err)
		}
		if got := f.match(tt.event, tt.name); got != tt.match {
			t.Errorf("%s matches %s:%s = %v, want %v", tt.filter, tt.event, tt.name, got, tt.match)
		}
	}
}
