package serf

import (
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/corralhq/corral/plugins"
)

// The stock agent's coalescing periods (it does not let users change
// them): a batch ends when no event came for quiescentPeriod, or at the
// latest coalescePeriod after its first event.
const (
	coalescePeriod  = 3 * time.Second
	quiescentPeriod = time.Second
)

// memberTypeOrder is the order in which a flush hands out the batches of
// member events: one event per type, as Serf's coalescer does (which
// leaves the order to chance).
var memberTypeOrder = []string{"member-join", "member-update", "member-leave", "member-failed", "member-reap"}

// window is one batch being gathered.
type window struct {
	first, last time.Time
}

func (w *window) add(now time.Time) {
	if w.first.IsZero() {
		w.first = now
	}
	w.last = now
}

func (w window) open() bool { return !w.first.IsZero() }

// due is when the batch ends.
func (w window) due() time.Time {
	end := w.first.Add(coalescePeriod)
	if q := w.last.Add(quiescentPeriod); q.Before(end) {
		end = q
	}
	return end
}

// coalescer batches events for the handlers as the stock agent does:
// member events keep the latest event of each member, user events sent
// with coalescing keep the latest (highest Lamport time) of each name.
// It is driven under Handlers.mu.
type coalescer struct {
	memberWin, userWin window
	members            map[string]memberPending
	users              map[string]handlerEvent
	alive              []plugins.Member
	self               plugins.Member
	t                  *time.Timer
}

// memberPending is a member's latest event in the batch.
type memberPending struct {
	typ string
	m   plugins.Member
}

func newCoalescer() coalescer {
	return coalescer{members: map[string]memberPending{}, users: map[string]handlerEvent{}}
}

// addMember folds a membership event into the batch.
func (c *coalescer) addMember(me plugins.MembershipEvent, now time.Time) {
	for _, m := range me.Members {
		c.members[m.Name] = memberPending{typ: me.Type, m: m}
	}
	c.alive, c.self = me.Alive, me.Self
	c.memberWin.add(now)
}

// addUser folds a coalescable user event into the batch.
func (c *coalescer) addUser(ev handlerEvent, now time.Time) {
	if old, ok := c.users[ev.name]; !ok || ev.ltime > old.ltime {
		c.users[ev.name] = ev
	}
	c.userWin.add(now)
}

// due is when the next batch ends; false when nothing is pending.
func (c *coalescer) due() (time.Time, bool) {
	var at time.Time
	for _, w := range []window{c.memberWin, c.userWin} {
		if w.open() && (at.IsZero() || w.due().Before(at)) {
			at = w.due()
		}
	}
	return at, !at.IsZero()
}

// timer calls fn at at, replacing the timer set before.
func (c *coalescer) timer(at time.Time, fn func()) {
	if c.t != nil {
		c.t.Stop()
	}
	c.t = time.AfterFunc(time.Until(at), fn)
}

// stop cancels the timer.
func (c *coalescer) stop() {
	if c.t != nil {
		c.t.Stop()
	}
}

// flush returns the batches that have ended by now: member events first
// (one per type, members sorted by name), then user events by name. ok
// tells whether member events were flushed, with the alive members and
// this node after them.
func (c *coalescer) flush(now time.Time) (out []handlerEvent, alive []plugins.Member, self plugins.Member, ok bool) {
	if c.memberWin.open() && !now.Before(c.memberWin.due()) {
		byType := map[string][]plugins.Member{}
		for _, p := range c.members {
			byType[p.typ] = append(byType[p.typ], p.m)
		}
		for _, typ := range memberTypeOrder {
			ms := byType[typ]
			if len(ms) == 0 {
				continue
			}
			sort.Slice(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
			out = append(out, handlerEvent{typ: typ, members: ms, self: c.self})
		}
		clear(c.members)
		c.memberWin = window{}
		alive, self, ok = slices.Clone(c.alive), c.self, true
	}
	if c.userWin.open() && !now.Before(c.userWin.due()) {
		for _, n := range slices.Sorted(maps.Keys(c.users)) {
			out = append(out, c.users[n])
		}
		clear(c.users)
		c.userWin = window{}
	}
	return out, alive, self, ok
}
