package serf

import (
	"context"
	"maps"
	"slices"
	"sort"
	"sync"

	"github.com/corralhq/corral/plugins"
	hserf "github.com/hashicorp/serf/serf"
)

// eventQueue receives Serf events from the agent's event loop without ever
// blocking it; the plugin's supervised event loop drains it, so member
// events, user events and queries keep their order.
type eventQueue struct {
	mu   sync.Mutex
	q    []hserf.Event
	wake chan struct{}
}

func newEventQueue() *eventQueue {
	return &eventQueue{wake: make(chan struct{}, 1)}
}

// HandleEvent implements eventHandler.
func (q *eventQueue) HandleEvent(e hserf.Event) {
	q.mu.Lock()
	q.q = append(q.q, e)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// drain returns and removes the queued events, oldest first.
func (q *eventQueue) drain() []hserf.Event {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.q
	q.q = nil
	return out
}

// memberState remembers what was announced about each member, to drop
// events that change nothing, and counts what was published.
type memberState struct {
	mu        sync.Mutex
	announced map[string]plugins.Member // by name: each member as last published
	counts    map[string]int            // members by status, from Serf's list
	events    map[string]uint64         // published events by type
	skipped   uint64                    // events dropped as unchanged
}

func newMemberState() *memberState {
	return &memberState{announced: map[string]plugins.Member{}, counts: map[string]int{}, events: map[string]uint64{}}
}

// toMember converts a Serf member, copying its tags.
func toMember(m hserf.Member) plugins.Member {
	return plugins.Member{
		Name:   m.Name,
		Addr:   m.Addr.String(),
		Port:   m.Port,
		Tags:   maps.Clone(m.Tags),
		Status: m.Status.String(),
	}
}

// sameMember compares two members, tags included.
func sameMember(a, b plugins.Member) bool {
	return a.Name == b.Name && a.Addr == b.Addr && a.Port == b.Port && a.Status == b.Status && maps.Equal(a.Tags, b.Tags)
}

// apply folds a Serf event into the state and returns the event to publish,
// or false when the event says nothing new about its members (a repeated
// join, an update with the same tags, a reap of a member never announced).
// all is Serf's current member list, from which Alive is taken.
func (s *memberState) apply(e hserf.MemberEvent, all []hserf.Member, self hserf.Member) (plugins.MembershipEvent, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.counts)
	for _, m := range all {
		s.counts[m.Status.String()]++
	}

	changed := false
	evMembers := make([]plugins.Member, 0, len(e.Members))
	for _, m := range e.Members {
		mm := toMember(m)
		evMembers = append(evMembers, mm)
		old, known := s.announced[m.Name]
		if e.Type == hserf.EventMemberReap {
			if known {
				delete(s.announced, m.Name)
				changed = true
			}
			continue
		}
		if !known || !sameMember(old, mm) {
			s.announced[m.Name] = mm
			changed = true
		}
	}
	if !changed {
		s.skipped++
		return plugins.MembershipEvent{}, false
	}
	alive := make([]plugins.Member, 0, len(all))
	for _, m := range all {
		if m.Status == hserf.StatusAlive {
			alive = append(alive, toMember(m))
		}
	}
	sort.Slice(alive, func(i, j int) bool { return alive[i].Name < alive[j].Name })
	sort.Slice(evMembers, func(i, j int) bool { return evMembers[i].Name < evMembers[j].Name })
	ev := plugins.MembershipEvent{
		Type:    e.Type.String(),
		Members: evMembers,
		Alive:   alive,
		Self:    toMember(self),
	}
	s.events[ev.Type]++
	return ev, true
}

// snapshot returns members by status and published events by type.
func (s *memberState) snapshot() (counts map[string]int, events map[string]uint64, skipped uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.counts), maps.Clone(s.events), s.skipped
}

// eventLoop publishes the queued member events on the bus and hands
// every event to the event handlers, in order.
func (p *Plugin) eventLoop(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-p.stopping:
			return nil
		case <-p.agent.ShutdownCh():
			return nil
		case <-p.queue.wake:
		}
		for _, e := range p.queue.drain() {
			sf := p.agent.Serf()
			switch e := e.(type) {
			case hserf.MemberEvent:
				ev, ok := p.state.apply(e, sf.Members(), sf.LocalMember())
				if !ok {
					p.log.Debug("serf event changed nothing", "type", e.Type.String(), "members", names(e.Members))
					continue
				}
				p.log.Info("membership", "event", ev.Type, "members", names(e.Members), "alive", len(ev.Alive))
				p.host.Bus().Publish(plugins.Event{Topic: plugins.TopicMembership, Source: p.host.Name(), Payload: ev})
				p.handlers.member(ev)
				p.join.wake()
			case hserf.UserEvent:
				p.log.Debug("user event", "name", e.Name, "ltime", e.LTime, "coalesce", e.Coalesce)
				p.handlers.user(e, toMember(sf.LocalMember()))
			case *hserf.Query:
				p.log.Debug("query", "name", e.Name, "ltime", e.LTime, "from", e.SourceNode())
				p.handlers.query(e, toMember(sf.LocalMember()))
			}
		}
	}
}

// names lists the members' names, sorted.
func names(ms []hserf.Member) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.Name)
	}
	slices.Sort(out)
	return out
}
