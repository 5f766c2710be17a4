package serf

import (
	"context"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corralhq/corral/plugins"
	hserf "github.com/hashicorp/serf/serf"
)

var _ plugins.HandlerRegistry = (*Handlers)(nil)

// Handlers is the agent's list of event handlers. Like the stock agent,
// it runs them one at a time: for each event, in event order, every
// handler in the order of their names, and the next event only when the
// last handler has returned. So two handlers never run at once, whatever
// the number of hook services, and a leave followed by a join reaches the
// scripts in that order.
type Handlers struct {
	log      *slog.Logger
	coalesce bool

	mu       sync.Mutex
	handlers []*handler // sorted by name
	queue    []handlerItem
	wake     chan struct{}
	closed   bool
	alive    []plugins.Member // alive members after the events queued so far
	self     plugins.Member
	co       coalescer

	running atomic.Value // string: the handler running now, for Status
	runs    atomic.Uint64
}

// handler is one registered handler.
type handler struct {
	name    string
	fn      plugins.HandlerFunc
	removed atomic.Bool
}

// handlerItem is a queued event and the handlers it is for (those
// registered when it was queued).
type handlerItem struct {
	ev handlerEvent
	to []*handler
}

// newHandlers returns an empty registry; coalesce batches events as the
// stock agent does (see coalesce.go).
func newHandlers(log *slog.Logger, coalesce bool) *Handlers {
	return &Handlers{log: log, coalesce: coalesce, wake: make(chan struct{}, 1), co: newCoalescer()}
}

// AddHandler registers fn under name (the hook service's name) and returns
// the function that removes it. A handler added once member events have
// been seen first receives one member-join listing the alive members (the
// state it missed), as a stock agent's handlers see every member join when
// the agent starts.
func (h *Handlers) AddHandler(name string, fn plugins.HandlerFunc) (remove func()) {
	hd := &handler{name: name, fn: fn}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return func() {}
	}
	i := sort.Search(len(h.handlers), func(i int) bool { return h.handlers[i].name > name })
	h.handlers = slices.Insert(h.handlers, i, hd)
	if len(h.alive) > 0 {
		h.push(handlerItem{ev: handlerEvent{typ: "member-join", members: slices.Clone(h.alive), self: h.self}, to: []*handler{hd}})
	}
	return func() {
		hd.removed.Store(true)
		h.mu.Lock()
		defer h.mu.Unlock()
		h.handlers = slices.DeleteFunc(h.handlers, func(x *handler) bool { return x == hd })
	}
}

// count returns the number of registered handlers.
func (h *Handlers) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.handlers)
}

// push queues an item; h.mu must be held.
func (h *Handlers) push(it handlerItem) {
	h.queue = append(h.queue, it)
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// pushAll queues ev for every registered handler; h.mu must be held.
func (h *Handlers) pushAll(ev handlerEvent) {
	if len(h.handlers) == 0 {
		return
	}
	h.push(handlerItem{ev: ev, to: slices.Clone(h.handlers)})
}

// member queues a published membership event (after coalescing, when on).
func (h *Handlers) member(me plugins.MembershipEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	ev := handlerEvent{typ: me.Type, members: me.Members, self: me.Self}
	if !h.coalesce {
		h.alive, h.self = me.Alive, me.Self
		h.pushAll(ev)
		return
	}
	h.co.addMember(me, time.Now())
	h.arm()
}

// user queues a user event; one sent with coalescing is batched by name
// when coalescing is on.
func (h *Handlers) user(ue hserf.UserEvent, self plugins.Member) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	ev := handlerEvent{typ: "user", name: ue.Name, ltime: uint64(ue.LTime), payload: ue.Payload, self: self}
	if !h.coalesce || !ue.Coalesce {
		h.pushAll(ev)
		return
	}
	h.co.addUser(ev, time.Now())
	h.arm()
}

// query queues a query; queries are never coalesced.
func (h *Handlers) query(q *hserf.Query, self plugins.Member) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.pushAll(handlerEvent{typ: "query", name: q.Name, ltime: uint64(q.LTime), payload: q.Payload, self: self, query: q})
}

// arm schedules the coalescer's next flush; h.mu must be held.
func (h *Handlers) arm() {
	at, ok := h.co.due()
	if !ok {
		return
	}
	h.co.timer(at, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.closed {
			return
		}
		batch, alive, self, ok := h.co.flush(time.Now())
		if ok {
			h.alive, h.self = alive, self
		}
		for _, ev := range batch {
			h.pushAll(ev)
		}
		h.arm()
	})
}

// close drops what is queued and refuses new handlers and events.
func (h *Handlers) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	h.queue = nil
	h.co.stop()
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// next takes the oldest queued item.
func (h *Handlers) next() (handlerItem, bool, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return handlerItem{}, false, true
	}
	if len(h.queue) == 0 {
		return handlerItem{}, false, false
	}
	it := h.queue[0]
	h.queue = h.queue[1:]
	return it, true, false
}

// run runs the queued events through the handlers, one at a time, until
// ctx is cancelled or the registry is closed.
func (h *Handlers) run(ctx context.Context) error {
	for {
		it, ok, closed := h.next()
		if closed {
			return nil
		}
		if !ok {
			select {
			case <-ctx.Done():
				return nil
			case <-h.wake:
			}
			continue
		}
		h.dispatch(ctx, it)
	}
}

// dispatch runs one event through its handlers.
func (h *Handlers) dispatch(ctx context.Context, it handlerItem) {
	env, stdin := it.ev.env(), it.ev.stdin()
	responded := false
	for _, hd := range it.to {
		if hd.removed.Load() || ctx.Err() != nil {
			continue
		}
		h.running.Store(hd.name)
		out := hd.fn(ctx, it.ev.typ, it.ev.name, env, stdin)
		h.running.Store("")
		h.runs.Add(1)
		if it.ev.query == nil || len(out) == 0 {
			continue
		}
		if responded {
			h.log.Debug("query already answered by an earlier handler", "query", it.ev.name, "handler", hd.name)
			continue
		}
		responded = true
		if err := it.ev.query.Respond(out); err != nil {
			h.log.Warn("answering a query", "query", it.ev.name, "handler", hd.name, "err", err)
		}
	}
}
