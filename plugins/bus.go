package plugins

import (
	"sync"
	"time"
)

// Event is one message on the Bus.
type Event struct {
	// Topic names the kind of event, e.g. TopicMembership.
	Topic string
	// Source is the name of the service that published it.
	Source string
	// Time is when it was published.
	Time time.Time
	// Payload is the topic's value type, e.g. MembershipEvent.
	Payload any
}

// Bus is corral's in-process publish/subscribe channel between plugins and
// the engine. Delivery to one subscriber is in order; a slow subscriber never
// blocks a publisher (its queue grows instead). The last event of each topic
// is kept so that a late subscriber starts from the current state.
type Bus struct {
	mu   sync.Mutex
	subs map[string][]*Subscription
	last map[string]Event
}

// NewBus returns an empty bus.
func NewBus() *Bus {
	return &Bus{subs: map[string][]*Subscription{}, last: map[string]Event{}}
}

// Subscription receives the events of some topics until Close.
type Subscription struct {
	bus    *Bus
	topics []string
	mu     sync.Mutex
	queue  []Event
	wake   chan struct{}
	closed bool
}

// Subscribe returns a subscription to topics. With replay, the last event of
// each topic (if any) is queued first.
func (b *Bus) Subscribe(replay bool, topics ...string) *Subscription {
	s := &Subscription{bus: b, topics: topics, wake: make(chan struct{}, 1)}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, t := range topics {
		b.subs[t] = append(b.subs[t], s)
		if ev, ok := b.last[t]; ok && replay {
			s.push(ev)
		}
	}
	return s
}

// Publish sends ev to every subscriber of ev.Topic and keeps it as the
// topic's last event. A zero ev.Time is set to now.
func (b *Bus) Publish(ev Event) {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.last[ev.Topic] = ev
	for _, s := range b.subs[ev.Topic] {
		s.push(ev)
	}
}

// Last returns the last event published on topic.
func (b *Bus) Last(topic string) (Event, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ev, ok := b.last[topic]
	return ev, ok
}

func (s *Subscription) push(ev Event) {
	s.mu.Lock()
	if !s.closed {
		s.queue = append(s.queue, ev)
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// C returns a channel that is signalled when events may be waiting; call
// Drain after each receive.
func (s *Subscription) C() <-chan struct{} { return s.wake }

// Drain returns and removes the queued events, oldest first.
func (s *Subscription) Drain() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queue
	s.queue = nil
	return q
}

// Close stops delivery to s; it is safe to call twice.
func (s *Subscription) Close() {
	s.bus.mu.Lock()
	for _, t := range s.topics {
		list := s.bus.subs[t]
		for i, x := range list {
			if x == s {
				s.bus.subs[t] = append(list[:i:i], list[i+1:]...)
				break
			}
		}
	}
	s.bus.mu.Unlock()
	s.mu.Lock()
	s.closed = true
	s.queue = nil
	s.mu.Unlock()
}
