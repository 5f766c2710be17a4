package serf

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"

	hserf "github.com/hashicorp/serf/serf"
)

// logRingSize is how many recent Serf log lines a new monitor is sent first.
const logRingSize = 512

// logLevels are Serf's log levels, lowest first.
var logLevels = []string{"TRACE", "DEBUG", "INFO", "WARN", "ERR"}

// logRing is an io.Writer keeping the last Serf log lines and copying new
// ones to the monitors (`serf monitor`).
type logRing struct {
	mu       sync.Mutex
	lines    []string
	next     int
	partial  []byte
	monitors []*logStream
}

func newLogRing() *logRing { return &logRing{lines: make([]string, 0, logRingSize)} }

// Write implements io.Writer; it never fails nor blocks.
func (r *logRing) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.partial = append(r.partial, p...)
	for {
		i := bytes.IndexByte(r.partial, '\n')
		if i < 0 {
			break
		}
		line := string(r.partial[:i])
		r.partial = r.partial[i+1:]
		if len(r.lines) < logRingSize {
			r.lines = append(r.lines, line)
		} else {
			r.lines[r.next] = line
			r.next = (r.next + 1) % logRingSize
		}
		for _, m := range r.monitors {
			m.offer(line)
		}
	}
	return len(p), nil
}

// add sends the buffered lines to m, then every new one.
func (r *logRing) add(m *logStream) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.lines {
		m.offer(r.lines[(r.next+i)%len(r.lines)])
	}
	r.monitors = append(r.monitors, m)
}

// remove stops copying lines to m.
func (r *logRing) remove(m *logStream) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.monitors = slices.DeleteFunc(r.monitors, func(x *logStream) bool { return x == m })
}

// logStream sends the log lines at or above a level to one client.
type logStream struct {
	c     *rpcConn
	seq   uint64
	min   int // index in logLevels
	lines chan string
	once  sync.Once
}

// offer queues a line if its level passes; lines are dropped when the
// client is too slow.
func (m *logStream) offer(line string) {
	if i := strings.IndexByte(line, '['); i >= 0 {
		if j := strings.IndexByte(line[i:], ']'); j > 0 {
			if lv := slices.Index(logLevels, line[i+1:i+j]); lv >= 0 && lv < m.min {
				return
			}
		}
	}
	select {
	case m.lines <- line:
	default:
	}
}

func (m *logStream) run() {
	for line := range m.lines {
		if err := m.c.send(rpcResponseHeader{Seq: m.seq}, &rpcLogRecord{Log: line}); err != nil {
			return
		}
	}
}

// stop ends the stream; the ring must no longer offer lines to it
// (logRing.remove first).
func (m *logStream) stop() { m.once.Do(func() { close(m.lines) }) }

// startMonitor answers "monitor": it streams Serf's log lines.
func (c *rpcConn) startMonitor(seq uint64) error {
	var req rpcMonitorRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	level := strings.ToUpper(req.LogLevel)
	lv := slices.Index(logLevels, level)
	switch {
	case lv < 0:
		return c.reply(seq, fmt.Errorf("Unknown log level: %s", level)) //nolint:staticcheck // the CLI prints it as is
	case c.monitor != nil:
		return c.send(rpcResponseHeader{Seq: seq, Error: errMonitorExists}, nil)
	}
	m := &logStream{c: c, seq: seq, min: lv, lines: make(chan string, logRingSize)}
	c.monitor = m
	if err := c.reply(seq, nil); err != nil {
		return err
	}
	go m.run()
	c.srv.logs.add(m)
	return nil
}

// eventFilter selects events: a type ("member-join", "user", "*"...) and,
// for user events, an optional name.
type eventFilter struct {
	typ, name string
}

// validEventTypes are the types a stream filter may name.
var validEventTypes = []string{"*", "member-join", "member-leave", "member-failed", "member-update", "member-reap", "user", "query"}

// parseEventFilters parses "member-join,user:deploy"; ok is false when a
// type is unknown.
func parseEventFilters(s string) (fs []eventFilter, ok bool) {
	for _, part := range strings.Split(strings.TrimSpace(s), ",") {
		typ, name, _ := strings.Cut(strings.TrimSpace(part), ":")
		if !slices.Contains(validEventTypes, typ) {
			return nil, false
		}
		fs = append(fs, eventFilter{typ: typ, name: name})
	}
	return fs, true
}

// match tells whether e passes f.
func (f eventFilter) match(e hserf.Event) bool {
	if f.typ == "*" {
		return true
	}
	if e.EventType().String() != f.typ {
		return false
	}
	if f.name == "" {
		return true
	}
	switch e := e.(type) {
	case hserf.UserEvent:
		return e.Name == f.name
	case *hserf.Query:
		return e.Name == f.name
	}
	return true
}

// eventStream sends the agent's member and user events and queries to one
// client, which may answer a query with "respond".
type eventStream struct {
	c       *rpcConn
	seq     uint64
	filters []eventFilter
	events  chan hserf.Event

	mu     sync.Mutex // guards closed and sends on events
	closed bool
}

// HandleEvent implements eventHandler; events are dropped when the client
// is too slow.
func (es *eventStream) HandleEvent(e hserf.Event) {
	if !slices.ContainsFunc(es.filters, func(f eventFilter) bool { return f.match(e) }) {
		return
	}
	es.mu.Lock()
	defer es.mu.Unlock()
	if es.closed {
		return
	}
	select {
	case es.events <- e:
	default:
	}
}

func (es *eventStream) run() {
	h := rpcResponseHeader{Seq: es.seq}
	for e := range es.events {
		var rec any
		switch e := e.(type) {
		case hserf.MemberEvent:
			rec = &rpcMemberEventRecord{Event: e.String(), Members: toRPCMembers(e.Members)}
		case hserf.UserEvent:
			rec = &rpcUserEventRecord{Event: e.EventType().String(), LTime: e.LTime, Name: e.Name, Payload: e.Payload, Coalesce: e.Coalesce}
		case *hserf.Query:
			rec = &rpcQueryEventRecord{Event: e.EventType().String(), ID: es.c.queries.add(e), LTime: e.LTime, Name: e.Name, Payload: e.Payload}
		default:
			continue
		}
		if err := es.c.send(h, rec); err != nil {
			return
		}
	}
}

// stop ends the stream; HandleEvent may still be called (the agent's event
// loop works on a copy of its handlers) and then does nothing.
func (es *eventStream) stop() {
	es.mu.Lock()
	defer es.mu.Unlock()
	if !es.closed {
		es.closed = true
		close(es.events)
	}
}

// startStream answers "stream": it streams the events passing the filter.
func (c *rpcConn) startStream(seq uint64) error {
	var req rpcStreamRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	filters, ok := parseEventFilters(req.Type)
	switch {
	case !ok:
		return c.send(rpcResponseHeader{Seq: seq, Error: errInvalidFilter}, nil)
	case c.streams[seq] != nil:
		return c.send(rpcResponseHeader{Seq: seq, Error: errStreamExists}, nil)
	}
	es := &eventStream{c: c, seq: seq, filters: filters, events: make(chan hserf.Event, 512)}
	c.streams[seq] = es
	if err := c.reply(seq, nil); err != nil {
		return err
	}
	go es.run()
	c.srv.agent.register(es)
	return nil
}

// stopStream answers "stop": it ends the monitor or event stream opened by
// the given request.
func (c *rpcConn) stopStream(seq uint64) error {
	var req rpcStopRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	if m := c.monitor; m != nil && m.seq == req.Stop {
		c.srv.logs.remove(m)
		m.stop()
		c.monitor = nil
	}
	if es, ok := c.streams[req.Stop]; ok {
		c.srv.agent.deregister(es)
		es.stop()
		delete(c.streams, req.Stop)
	}
	return c.reply(seq, nil)
}
