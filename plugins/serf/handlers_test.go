package serf

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corralhq/corral/plugins"
	hserf "github.com/hashicorp/serf/serf"
)

// recording is a handler that records what it ran and whether two
// handlers ever ran at once.
type recording struct {
	mu      sync.Mutex
	runs    []string
	busy    *atomic.Int32
	overlap *atomic.Bool
}

func (r *recording) fn(name string, events ...string) plugins.HandlerFunc {
	return func(ctx context.Context, event, evName string, env []string, stdin []byte) []byte {
		if len(events) > 0 && !slices.Contains(events, event) {
			return nil
		}
		if r.busy.Add(1) > 1 {
			r.overlap.Store(true)
		}
		time.Sleep(2 * time.Millisecond) // widen the window an overlap needs
		r.busy.Add(-1)
		r.mu.Lock()
		r.runs = append(r.runs, fmt.Sprintf("%s:%s:%s", name, event, strings.TrimSpace(string(stdin))))
		r.mu.Unlock()
		return nil
	}
}

func (r *recording) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		got := slices.Clone(r.runs)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d runs, want %d: %v", len(got), n, got)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func memberEv(typ string, alive []string, names ...string) plugins.MembershipEvent {
	ev := plugins.MembershipEvent{Type: typ, Self: plugins.Member{Name: "lb"}}
	for _, n := range names {
		ev.Members = append(ev.Members, plugins.Member{Name: n, Addr: "10.0.0.1"})
	}
	for _, n := range alive {
		ev.Alive = append(ev.Alive, plugins.Member{Name: n, Addr: "10.0.0.1"})
	}
	return ev
}

// TestHandlersSerial: every event runs through every handler, in event
// order and handler-name order, never two at once; a handler added late
// first gets a member-join of the alive members; a removed one gets
// nothing more.
func TestHandlersSerial(t *testing.T) {
	h := newHandlers(slog.New(slog.DiscardHandler), false)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.run(ctx) }()
	defer func() { cancel(); <-done }()
	r := &recording{busy: new(atomic.Int32), overlap: new(atomic.Bool)}

	h.member(memberEv("member-join", []string{"lb"}, "lb")) // no handler yet: nothing queued
	removeB := h.AddHandler("b-leave", r.fn("b", "member-leave", "member-failed"))
	h.AddHandler("a-join", r.fn("a", "member-join"))
	for i := range 20 {
		n := fmt.Sprintf("web%d", i)
		h.member(memberEv("member-leave", []string{"lb"}, n))
		h.member(memberEv("member-join", []string{"lb", n}, n))
	}
	got := r.wait(t, 1+40)
	// Both late handlers first get the alive set; b's filter drops it.
	if got[0] != "a:member-join:lb\t10.0.0.1" {
		t.Errorf("first run %q", got[0])
	}
	for i := range 20 {
		want := []string{fmt.Sprintf("b:member-leave:web%d\t10.0.0.1", i), fmt.Sprintf("a:member-join:web%d\t10.0.0.1", i)}
		if g := got[1+2*i : 3+2*i]; !slices.Equal(g, want) {
			t.Fatalf("runs %d-%d: %q, want %q", 1+2*i, 2+2*i, g, want)
		}
	}
	if r.overlap.Load() {
		t.Error("two handlers ran at once")
	}
	removeB()
	h.member(memberEv("member-leave", []string{"lb"}, "gone"))
	h.member(memberEv("member-join", []string{"lb", "last"}, "last"))
	r.wait(t, 42)
	time.Sleep(50 * time.Millisecond) // nothing more may come
	got = r.wait(t, 42)
	if last := got[len(got)-1]; len(got) != 42 || last != "a:member-join:last\t10.0.0.1" || slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "gone") }) {
		t.Errorf("after removing b: %q", got[40:])
	}
	if n := h.count(); n != 1 {
		t.Errorf("%d handlers registered, want 1", n)
	}
}

// TestHandlersCoalesce: with coalescing, member events of one quiet
// period reach the handlers as one event per type holding each member's
// latest state, and user events sent with coalescing keep the latest of
// each name; the others go at once.
func TestHandlersCoalesce(t *testing.T) {
	h := newHandlers(slog.New(slog.DiscardHandler), true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.run(ctx) }()
	defer func() { cancel(); <-done }()
	r := &recording{busy: new(atomic.Int32), overlap: new(atomic.Bool)}
	h.AddHandler("all", r.fn("x"))

	start := time.Now()
	h.member(memberEv("member-join", []string{"a"}, "a"))
	h.member(memberEv("member-join", []string{"a", "b"}, "b"))
	h.member(memberEv("member-leave", []string{"b"}, "a")) // a's latest: leave
	h.user(userEvent("deploy", 1, true), plugins.Member{Name: "lb"})
	h.user(userEvent("deploy", 2, true), plugins.Member{Name: "lb"})
	h.user(userEvent("now", 3, false), plugins.Member{Name: "lb"}) // not coalescable: at once
	got := r.wait(t, 1)
	if got[0] != "x:user:v3" || time.Since(start) > quiescentPeriod {
		t.Fatalf("first run %q after %s, want the uncoalesced user event at once", got[0], time.Since(start))
	}
	got = r.wait(t, 4)
	want := []string{"x:user:v3", "x:member-join:b\t10.0.0.1", "x:member-leave:a\t10.0.0.1", "x:user:v2"}
	if !slices.Equal(got, want) {
		t.Errorf("runs %q, want %q", got, want)
	}
	if took := time.Since(start); took < quiescentPeriod {
		t.Errorf("batch flushed after %s, before the quiet period", took)
	}
}

func userEvent(name string, ltime uint64, coalesce bool) hserf.UserEvent {
	return hserf.UserEvent{LTime: hserf.LamportTime(ltime), Name: name, Payload: []byte(fmt.Sprintf("v%d", ltime)), Coalesce: coalesce}
}
