package serf

import (
	"fmt"
	"slices"
	"sync"
	"time"

	hserf "github.com/hashicorp/serf/serf"
)

// eventHandler receives the Serf events of an agent. HandleEvent is called
// from the agent's event loop and must not block.
type eventHandler interface {
	HandleEvent(hserf.Event)
}

// agent wraps a Serf instance: it drains Serf's event channel into the
// registered handlers (the plugin's queue, RPC event streams) and tells when
// it has been shut down, by Stop or by `serf leave` over RPC.
type agent struct {
	serf   *hserf.Serf
	conf   *hserf.Config
	events chan hserf.Event

	mu       sync.Mutex
	handlers []eventHandler

	// shutdownMu is held by Leave and Shutdown: Serf must never be shut
	// down while it leaves (memberlist panics on a leave after shutdown).
	shutdownMu sync.Mutex
	shutdown   bool
	shutdownCh chan struct{}

	// joining is closed when the join under way (if any) returns.
	joinMu  sync.Mutex
	joining chan struct{}
}

// joinWait bounds how long Leave waits for a join under way: a join that
// completes gives its join intent an older Lamport time than the leave's
// (peers drop a leave intent not newer than the join intent they hold),
// while one stuck on an unreachable node must not hold up a stop.
const joinWait = time.Second

// newAgent creates the Serf instance from conf (whose EventCh it sets) and
// starts the event loop; handlers registered now get every event.
func newAgent(conf *hserf.Config, handlers ...eventHandler) (*agent, error) {
	a := &agent{
		conf:       conf,
		events:     make(chan hserf.Event, 64),
		handlers:   handlers,
		shutdownCh: make(chan struct{}),
	}
	conf.EventCh = a.events
	s, err := hserf.Create(conf)
	if err != nil {
		return nil, fmt.Errorf("creating serf: %w", err)
	}
	a.serf = s
	go a.eventLoop()
	return a, nil
}

// Serf returns the Serf instance.
func (a *agent) Serf() *hserf.Serf { return a.serf }

// ShutdownCh is closed once the agent has shut down.
func (a *agent) ShutdownCh() <-chan struct{} { return a.shutdownCh }

// register adds an event handler.
func (a *agent) register(h eventHandler) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.handlers = append(a.handlers, h)
}

// deregister removes an event handler.
func (a *agent) deregister(h eventHandler) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.handlers = slices.DeleteFunc(a.handlers, func(x eventHandler) bool { return x == h })
}

// eventLoop hands every Serf event to the handlers until shutdown. Serf's
// channel must always be drained, or its gossip would stall.
func (a *agent) eventLoop() {
	for {
		select {
		case e := <-a.events:
			a.mu.Lock()
			hs := slices.Clone(a.handlers)
			a.mu.Unlock()
			for _, h := range hs {
				h.HandleEvent(e)
			}
		case <-a.shutdownCh:
			return
		}
	}
}

// Join joins the given nodes; replay asks for old user events too.
func (a *agent) Join(addrs []string, replay bool) (int, error) {
	done := make(chan struct{})
	a.joinMu.Lock()
	prev := a.joining
	a.joining = done
	a.joinMu.Unlock()
	if prev != nil {
		<-prev // one join at a time, as serf does
	}
	defer close(done)
	return a.serf.Join(addrs, !replay)
}

// waitJoin waits for the join under way, if any, up to d.
func (a *agent) waitJoin(d time.Duration) {
	a.joinMu.Lock()
	ch := a.joining
	a.joinMu.Unlock()
	if ch == nil {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	}
}

// Leave leaves the cluster gracefully (the agent keeps running); after
// Shutdown it does nothing.
func (a *agent) Leave() error {
	a.waitJoin(joinWait)
	a.shutdownMu.Lock()
	defer a.shutdownMu.Unlock()
	if a.shutdown {
		return nil
	}
	return a.serf.Leave()
}

// Shutdown stops Serf and closes ShutdownCh, after any Leave under way; it
// is safe to call twice.
func (a *agent) Shutdown() error {
	a.shutdownMu.Lock()
	defer a.shutdownMu.Unlock()
	if a.shutdown {
		return nil
	}
	if err := a.serf.Shutdown(); err != nil {
		return err
	}
	a.shutdown = true
	close(a.shutdownCh)
	return nil
}

// SetTags replaces this node's tags and gossips them.
func (a *agent) SetTags(tags map[string]string) error {
	return a.serf.SetTags(tags)
}
