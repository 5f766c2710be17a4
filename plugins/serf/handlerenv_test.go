package serf

import (
	"strings"
	"testing"

	"github.com/corralhq/corral/plugins"
)

// TestHandlerEnvStdin checks what handlers get: the stock agent's
// environment and standard input for member events, user events and
// queries.
func TestHandlerEnvStdin(t *testing.T) {
	self := plugins.Member{Name: "lb", Tags: map[string]string{"role": "lb", "x-port": "80", "dc": "eu"}}
	ev := handlerEvent{
		typ:  "member-join",
		self: self,
		members: []plugins.Member{
			{Name: "web-1", Addr: "10.0.0.2", Tags: map[string]string{"role": "web", "port": "8080"}},
			{Name: "evil\tname\n", Addr: "10.0.0.3", Tags: map[string]string{"role": "a\tb"}},
			{Name: "bare", Addr: "fd00::1"},
		},
	}
	env := strings.Join(ev.env(), "\n")
	wantEnv := "SERF_EVENT=member-join\nSERF_SELF_NAME=lb\nSERF_SELF_ROLE=lb\nSERF_TAG_DC=eu\nSERF_TAG_ROLE=lb\nSERF_TAG_X_PORT=80"
	if env != wantEnv {
		t.Errorf("env:\n%s\nwant:\n%s", env, wantEnv)
	}
	stdin := string(ev.stdin())
	wantStdin := "web-1\t10.0.0.2\tweb\tport=8080,role=web\n" +
		"evil\\tname\\n\t10.0.0.3\ta\\tb\trole=a\\tb\n" +
		"bare\tfd00::1\t\t\n"
	if stdin != wantStdin {
		t.Errorf("stdin:\n%q\nwant:\n%q", stdin, wantStdin)
	}

	user := handlerEvent{typ: "user", name: "deploy", ltime: 7, payload: []byte("v42"), self: self}
	if got := strings.Join(user.env()[6:], " "); got != "SERF_USER_EVENT=deploy SERF_USER_LTIME=7" {
		t.Errorf("user event env: %s", got)
	}
	if got := string(user.stdin()); got != "v42\n" {
		t.Errorf("user event stdin %q", got)
	}
	q := handlerEvent{typ: "query", name: "uptime", ltime: 3, payload: []byte("x\n"), self: self}
	if got := strings.Join(q.env()[6:], " "); got != "SERF_QUERY_NAME=uptime SERF_QUERY_LTIME=3" {
		t.Errorf("query env: %s", got)
	}
	if got := string(q.stdin()); got != "x\n" {
		t.Errorf("query stdin %q", got)
	}
	if got := (handlerEvent{typ: "user", name: "empty"}).stdin(); len(got) != 0 {
		t.Errorf("empty payload gives stdin %q", got)
	}
}
