package plugins

import "testing"

func TestBusReplayOrderAndClose(t *testing.T) {
	b := NewBus()
	b.Publish(Event{Topic: "a", Payload: 1})
	b.Publish(Event{Topic: "a", Payload: 2})
	s := b.Subscribe(true, "a", "b")
	b.Publish(Event{Topic: "b", Payload: 3})
	b.Publish(Event{Topic: "a", Payload: 4})
	<-s.C()
	var got []any
	for _, ev := range s.Drain() {
		got = append(got, ev.Payload)
	}
	if len(got) != 3 || got[0] != 2 || got[1] != 3 || got[2] != 4 {
		t.Fatalf("got %v, want [2 3 4] (last of a replayed, then in order)", got)
	}
	s.Close()
	s.Close()
	b.Publish(Event{Topic: "a", Payload: 5})
	if q := s.Drain(); len(q) != 0 {
		t.Fatalf("closed subscription got %v", q)
	}
	if ev, ok := b.Last("a"); !ok || ev.Payload != 5 {
		t.Fatalf("Last(a) = %v, %v", ev, ok)
	}
}
