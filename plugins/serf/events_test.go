package serf

import (
	"net"
	"strings"
	"testing"

	hserf "github.com/hashicorp/serf/serf"
)

func member(name, ip string, status hserf.MemberStatus, tags map[string]string) hserf.Member {
	return hserf.Member{Name: name, Addr: net.ParseIP(ip), Port: 7946, Tags: tags, Status: status}
}

// TestMemberState checks what is published and what is dropped.
func TestMemberState(t *testing.T) {
	s := newMemberState()
	self := member("lb", "10.0.0.1", hserf.StatusAlive, map[string]string{"role": "lb"})
	a := member("a", "10.0.0.2", hserf.StatusAlive, map[string]string{"role": "web"})
	b := member("b", "10.0.0.3", hserf.StatusAlive, nil)
	ev := func(typ hserf.EventType, ms ...hserf.Member) hserf.MemberEvent {
		return hserf.MemberEvent{Type: typ, Members: ms}
	}
	steps := []struct {
		name    string
		ev      hserf.MemberEvent
		all     []hserf.Member
		publish bool
		alive   string
	}{
		{"self join", ev(hserf.EventMemberJoin, self), []hserf.Member{self}, true, "lb"},
		// Two joins drained together: Serf's list already has both, but
		// each event is about a new member and is published.
		{"join b", ev(hserf.EventMemberJoin, b), []hserf.Member{a, self, b}, true, "a,b,lb"},
		{"join a", ev(hserf.EventMemberJoin, a), []hserf.Member{a, self, b}, true, "a,b,lb"},
		{"join a again", ev(hserf.EventMemberJoin, a), []hserf.Member{a, self, b}, false, ""},
		{"update a same tags", ev(hserf.EventMemberUpdate, a), []hserf.Member{a, self, b}, false, ""},
		{"update a new tags", ev(hserf.EventMemberUpdate, member("a", "10.0.0.2", hserf.StatusAlive, map[string]string{"role": "web", "weight": "5"})),
			[]hserf.Member{a, self, b}, true, "a,b,lb"},
		{"b failed", ev(hserf.EventMemberFailed, member("b", "10.0.0.3", hserf.StatusFailed, nil)),
			[]hserf.Member{a, self, member("b", "10.0.0.3", hserf.StatusFailed, nil)}, true, "a,lb"},
		{"b reaped", ev(hserf.EventMemberReap, member("b", "10.0.0.3", hserf.StatusFailed, nil)), []hserf.Member{a, self}, true, "a,lb"},
		{"b reaped twice", ev(hserf.EventMemberReap, member("b", "10.0.0.3", hserf.StatusFailed, nil)), []hserf.Member{a, self}, false, ""},
	}
	for _, st := range steps {
		got, ok := s.apply(st.ev, st.all, self)
		if ok != st.publish {
			t.Fatalf("%s: published %v, want %v", st.name, ok, st.publish)
		}
		if !ok {
			continue
		}
		if alive := strings.Join(memberNames(got.Alive), ","); alive != st.alive {
			t.Errorf("%s: alive %s, want %s", st.name, alive, st.alive)
		}
		if got.Type != st.ev.Type.String() || got.Self.Name != "lb" || got.Self.Tags["role"] != "lb" {
			t.Errorf("%s: event %+v", st.name, got)
		}
	}
	counts, events, skipped := s.snapshot()
	if counts["alive"] != 2 || events["member-join"] != 3 || events["member-reap"] != 1 || skipped != 3 {
		t.Errorf("counts %v events %v skipped %d", counts, events, skipped)
	}
}

// TestLogWriter checks level mapping, line splitting and the counting of
// undecryptable messages.
func TestLogWriter(t *testing.T) {
	var buf strings.Builder
	var dw decryptWatch
	w := newLogWriter(slogTo(&buf), &dw)
	w.Write([]byte("2026/01/02 15:04:05 [WARN] memberlist: slow\n2026/01/02 15:04:05 [ERR] serf: bad"))
	w.Write([]byte(" thing\n[INFO] agent: chatty\n"))
	w.Write([]byte("2026/01/02 15:04:05 [ERR] memberlist: Decrypt packet failed: No installed keys could decrypt the message from=10.0.0.2:7946\n"))
	if n, _, recent := dw.recent(); n != 1 || !recent {
		t.Errorf("decrypt failures %d (recent %v), want 1", n, recent)
	}
	out := buf.String()
	for _, want := range []string{"level=WARN msg=\"memberlist: slow\"", "level=ERROR msg=\"serf: bad thing\"", "level=DEBUG msg=\"agent: chatty\""} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}
