package serf

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"regexp"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
	hserf "github.com/hashicorp/serf/serf"
)

// rpcServer serves Serf's RPC protocol (see rpc_codec.go) for the serf CLI.
type rpcServer struct {
	agent *agent
	auth  string
	ln    net.Listener
	logs  *logRing
	log   *slog.Logger
	// leave is `serf leave`: leave the cluster and shut the agent down.
	leave func() error

	mu      sync.Mutex
	stopped bool
	conns   map[*rpcConn]struct{}
}

// rpcConn is one client connection.
type rpcConn struct {
	srv  *rpcServer
	conn net.Conn
	dec  *codec.Decoder

	wmu sync.Mutex // serializes writes: replies and stream records
	bw  *bufio.Writer
	enc *codec.Encoder

	handshaken bool
	authed     bool
	monitor    *logStream
	streams    map[uint64]*eventStream
	queries    pendingQueries
}

// newRPCServer starts serving ln; leave is what `serf leave` does.
func newRPCServer(a *agent, auth string, ln net.Listener, logs *logRing, log *slog.Logger, leave func() error) *rpcServer {
	s := &rpcServer{agent: a, auth: auth, ln: ln, logs: logs, log: log, leave: leave, conns: map[*rpcConn]struct{}{}}
	go s.accept()
	return s
}

// Shutdown closes the listener and every connection. It does not wait for
// a request under way (a join to an unreachable node can take seconds): its
// answer then fails on the closed connection.
func (s *rpcServer) Shutdown() {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	_ = s.ln.Close()
	for c := range s.conns {
		_ = c.conn.Close()
	}
	s.mu.Unlock()
}

// accept runs the accept loop until Shutdown.
func (s *rpcServer) accept() {
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			s.mu.Lock()
			stopped := s.stopped
			s.mu.Unlock()
			if stopped || errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn("serf rpc: accepting", "error", err)
			time.Sleep(100 * time.Millisecond) // out of file descriptors, say
			continue
		}
		c := &rpcConn{srv: s, conn: conn, bw: bufio.NewWriter(conn), streams: map[uint64]*eventStream{}}
		c.dec = codec.NewDecoder(bufio.NewReader(conn), rpcHandle())
		c.enc = codec.NewEncoder(c.bw, rpcHandle())
		s.mu.Lock()
		if s.stopped {
			s.mu.Unlock()
			_ = conn.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		go c.serve()
	}
}

// serve reads and answers requests until the client goes or errs.
func (c *rpcConn) serve() {
	defer c.close()
	for {
		var h rpcRequestHeader
		if err := c.dec.Decode(&h); err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				c.srv.log.Debug("serf rpc: reading request", "client", c.conn.RemoteAddr().String(), "error", err)
			}
			return
		}
		if err := c.handle(h); err != nil {
			c.srv.log.Debug("serf rpc: request failed", "command", h.Command, "client", c.conn.RemoteAddr().String(), "error", err)
			return
		}
	}
}

// close ends the connection and its streams.
func (c *rpcConn) close() {
	_ = c.conn.Close()
	c.srv.mu.Lock()
	delete(c.srv.conns, c)
	c.srv.mu.Unlock()
	if c.monitor != nil {
		c.srv.logs.remove(c.monitor)
		c.monitor.stop()
	}
	for _, es := range c.streams {
		c.srv.agent.deregister(es)
		es.stop()
	}
}

// send writes a response header and, unless nil, a body.
func (c *rpcConn) send(h rpcResponseHeader, body any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.enc.Encode(&h); err != nil {
		return err
	}
	if body != nil {
		if err := c.enc.Encode(body); err != nil {
			return err
		}
	}
	return c.bw.Flush()
}

// reply answers seq with err's text (or success) and no body.
func (c *rpcConn) reply(seq uint64, err error) error {
	return c.send(rpcResponseHeader{Seq: seq, Error: errString(err)}, nil)
}

// decode reads the request's body.
func (c *rpcConn) decode(v any) error {
	if err := c.dec.Decode(v); err != nil {
		return fmt.Errorf("decoding request: %w", err)
	}
	return nil
}

// handle answers one request. An error ends the connection.
func (c *rpcConn) handle(h rpcRequestHeader) error {
	if h.Command != cmdHandshake && !c.handshaken {
		_ = c.send(rpcResponseHeader{Seq: h.Seq, Error: errHandshakeRequired}, nil)
		return errors.New(errHandshakeRequired)
	}
	if c.srv.auth != "" && !c.authed && h.Command != cmdHandshake && h.Command != cmdAuth {
		// The body, if any, cannot be skipped, so the connection ends.
		_ = c.send(rpcResponseHeader{Seq: h.Seq, Error: errAuthRequired}, nil)
		return errors.New(errAuthRequired)
	}
	a := c.srv.agent
	switch h.Command {
	case cmdHandshake:
		return c.handshake(h.Seq)
	case cmdAuth:
		var req rpcAuthRequest
		if err := c.decode(&req); err != nil {
			return err
		}
		if req.AuthKey != c.srv.auth {
			return c.send(rpcResponseHeader{Seq: h.Seq, Error: errInvalidAuthToken}, nil)
		}
		c.authed = true
		return c.reply(h.Seq, nil)
	case cmdMembers:
		return c.send(rpcResponseHeader{Seq: h.Seq}, &rpcMembersResponse{Members: toRPCMembers(a.Serf().Members())})
	case cmdMembersFiltered:
		var req rpcMembersFilteredRequest
		if err := c.decode(&req); err != nil {
			return err
		}
		// The client reads a body even after an error.
		ms, err := filterMembers(a.Serf().Members(), req)
		return c.send(rpcResponseHeader{Seq: h.Seq, Error: errString(err)}, &rpcMembersResponse{Members: toRPCMembers(ms)})
	case cmdJoin:
		var req rpcJoinRequest
		if err := c.decode(&req); err != nil {
			return err
		}
		n, err := a.Join(req.Existing, req.Replay)
		return c.send(rpcResponseHeader{Seq: h.Seq, Error: errString(err)}, &rpcJoinResponse{Num: int32(n)})
	case cmdEvent:
		var req rpcEventRequest
		if err := c.decode(&req); err != nil {
			return err
		}
		return c.reply(h.Seq, a.Serf().UserEvent(req.Name, req.Payload, req.Coalesce))
	case cmdForceLeave:
		var req rpcForceLeaveRequest
		if err := c.decode(&req); err != nil {
			return err
		}
		if req.Prune {
			return c.reply(h.Seq, a.Serf().RemoveFailedNodePrune(req.Node))
		}
		return c.reply(h.Seq, a.Serf().RemoveFailedNode(req.Node))
	case cmdTags:
		var req rpcTagsRequest
		if err := c.decode(&req); err != nil {
			return err
		}
		tags := maps.Clone(a.Serf().LocalMember().Tags)
		if tags == nil {
			tags = map[string]string{}
		}
		for _, k := range req.DeleteTags {
			delete(tags, k)
		}
		maps.Copy(tags, req.Tags)
		return c.reply(h.Seq, a.SetTags(tags))
	case cmdStats:
		return c.send(rpcResponseHeader{Seq: h.Seq}, stats(a))
	case cmdLeave:
		return c.leave(h.Seq)
	case cmdInstallKey, cmdUseKey, cmdRemoveKey, cmdListKeys:
		return c.keys(h)
	case cmdGetCoordinate:
		var req rpcCoordinateRequest
		if err := c.decode(&req); err != nil {
			return err
		}
		var resp rpcCoordinateResponse
		if coord, ok := a.Serf().GetCachedCoordinate(req.Node); ok {
			resp.Coord, resp.Ok = *coord, true
		}
		return c.send(rpcResponseHeader{Seq: h.Seq}, &resp)
	case cmdQuery:
		return c.startQuery(h.Seq)
	case cmdRespond:
		return c.respond(h.Seq)
	case cmdMonitor:
		return c.startMonitor(h.Seq)
	case cmdStream:
		return c.startStream(h.Seq)
	case cmdStop:
		return c.stopStream(h.Seq)
	}
	// Unknown: its body, if any, cannot be skipped, so the connection ends.
	_ = c.send(rpcResponseHeader{Seq: h.Seq, Error: errUnsupportedCommand}, nil)
	return fmt.Errorf("unsupported command %q", h.Command)
}

// handshake checks the protocol version.
func (c *rpcConn) handshake(seq uint64) error {
	var req rpcHandshakeRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	switch {
	case req.Version != rpcVersion:
		return c.send(rpcResponseHeader{Seq: seq, Error: errUnsupportedVersion}, nil)
	case c.handshaken:
		return c.send(rpcResponseHeader{Seq: seq, Error: errDuplicateHandshake}, nil)
	}
	c.handshaken = true
	return c.reply(seq, nil)
}

// leave leaves the cluster and shuts the agent down, answers, then stops
// serving, as the stock agent exits after a leave.
func (c *rpcConn) leave(seq uint64) error {
	c.srv.log.Info("serf leave requested over rpc", "client", c.conn.RemoteAddr().String())
	err := c.srv.leave()
	sendErr := c.reply(seq, err)
	go c.srv.Shutdown()
	return sendErr
}

// keys runs a key-ring command on the cluster.
func (c *rpcConn) keys(h rpcRequestHeader) error {
	var req rpcKeyRequest
	if h.Command != cmdListKeys {
		if err := c.decode(&req); err != nil {
			return err
		}
	}
	km := c.srv.agent.Serf().KeyManager()
	var (
		r   *hserf.KeyResponse
		err error
	)
	switch h.Command {
	case cmdInstallKey:
		r, err = km.InstallKey(req.Key)
	case cmdUseKey:
		r, err = km.UseKey(req.Key)
	case cmdRemoveKey:
		r, err = km.RemoveKey(req.Key)
	default:
		r, err = km.ListKeys()
	}
	var resp rpcKeyResponse
	if r != nil {
		resp = rpcKeyResponse{Messages: r.Messages, NumNodes: r.NumNodes, NumErr: r.NumErr, NumResp: r.NumResp}
		if h.Command == cmdListKeys {
			resp.Keys = r.Keys
		}
	}
	return c.send(rpcResponseHeader{Seq: h.Seq, Error: errString(err)}, &resp)
}

// filterMembers keeps the members whose tags, status and name match the
// request's anchored regular expressions (empty status or name: any).
func filterMembers(ms []hserf.Member, req rpcMembersFilteredRequest) ([]hserf.Member, error) {
	anchored := func(expr string) (*regexp.Regexp, error) {
		re, err := regexp.Compile("^" + expr + "$")
		if err != nil {
			return nil, fmt.Errorf("Failed to compile regex: %v", err) //nolint:staticcheck // the CLI prints it as is
		}
		return re, nil
	}
	tagRes := map[string]*regexp.Regexp{}
	for k, v := range req.Tags {
		re, err := anchored(v)
		if err != nil {
			return nil, err
		}
		tagRes[k] = re
	}
	statusRe, err := anchored(req.Status)
	if err != nil {
		return nil, err
	}
	nameRe, err := anchored(req.Name)
	if err != nil {
		return nil, err
	}
	out := make([]hserf.Member, 0, len(ms))
next:
	for _, m := range ms {
		for k, re := range tagRes {
			if !re.MatchString(m.Tags[k]) {
				continue next
			}
		}
		if req.Status != "" && !statusRe.MatchString(m.Status.String()) {
			continue
		}
		if req.Name != "" && !nameRe.MatchString(m.Name) {
			continue
		}
		out = append(out, m)
	}
	return out, nil
}

// stats is the answer to `serf info`.
func stats(a *agent) map[string]map[string]string {
	self := a.Serf().LocalMember()
	return map[string]map[string]string{
		"agent": {"name": self.Name},
		"runtime": {
			"os":         runtime.GOOS,
			"arch":       runtime.GOARCH,
			"version":    runtime.Version(),
			"max_procs":  strconv.Itoa(runtime.GOMAXPROCS(0)),
			"goroutines": strconv.Itoa(runtime.NumGoroutine()),
			"cpu_count":  strconv.Itoa(runtime.NumCPU()),
		},
		"serf":           a.Serf().Stats(),
		"tags":           self.Tags,
		"event_handlers": {},
	}
}
