package serf

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	hserf "github.com/hashicorp/serf/serf"
)

// pendingQueries are the queries streamed to one RPC client that it may
// still answer with "respond", by the ID the stream gave them.
type pendingQueries struct {
	mu   sync.Mutex
	next uint64
	byID map[uint64]*hserf.Query
}

// add registers q until its deadline and returns its ID.
func (pq *pendingQueries) add(q *hserf.Query) uint64 {
	pq.mu.Lock()
	defer pq.mu.Unlock()
	pq.next++
	id := pq.next
	left := time.Until(q.Deadline())
	if left <= 0 {
		return id
	}
	if pq.byID == nil {
		pq.byID = map[uint64]*hserf.Query{}
	}
	pq.byID[id] = q
	time.AfterFunc(left, func() {
		pq.mu.Lock()
		delete(pq.byID, id)
		pq.mu.Unlock()
	})
	return id
}

// get returns the pending query with the ID.
func (pq *pendingQueries) get(id uint64) (*hserf.Query, bool) {
	pq.mu.Lock()
	defer pq.mu.Unlock()
	q, ok := pq.byID[id]
	return q, ok
}

// startQuery answers "query": it sends the query to the cluster, answers
// the request, then streams the acks and responses under the request's
// Seq, and a "done" record at the query's deadline.
func (c *rpcConn) startQuery(seq uint64) error {
	var req rpcQueryRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	// As the stock agent: the internal prefix is Serf's own, but for the
	// bare ping that `serf reachability` sends.
	if strings.HasPrefix(req.Name, hserf.InternalQueryPrefix) && (req.Name != hserf.InternalQueryPrefix+"ping" || req.Payload != nil) {
		return c.reply(seq, fmt.Errorf("Queries cannot contain the '%s' prefix", hserf.InternalQueryPrefix)) //nolint:staticcheck // the CLI prints it as is
	}
	resp, err := c.srv.agent.Serf().Query(req.Name, req.Payload, &hserf.QueryParam{
		FilterNodes: req.FilterNodes,
		FilterTags:  req.FilterTags,
		RequestAck:  req.RequestAck,
		RelayFactor: req.RelayFactor,
		Timeout:     req.Timeout,
	})
	if err := c.reply(seq, err); err != nil || resp == nil {
		return err
	}
	go c.streamQuery(seq, resp)
	return nil
}

// streamQuery sends a query's acks and responses until its deadline, then
// the end: Serf closes both channels at the deadline (AckCh is nil when no
// ack was asked for), after what arrived by then.
func (c *rpcConn) streamQuery(seq uint64, resp *hserf.QueryResponse) {
	h := rpcResponseHeader{Seq: seq}
	acks, responses := resp.AckCh(), resp.ResponseCh()
	for acks != nil || responses != nil {
		var rec rpcQueryRecord
		select {
		case from, ok := <-acks:
			if !ok {
				acks = nil
				continue
			}
			rec = rpcQueryRecord{Type: queryRecordAck, From: from}
		case r, ok := <-responses:
			if !ok {
				responses = nil
				continue
			}
			rec = rpcQueryRecord{Type: queryRecordResponse, From: r.From, Payload: r.Payload}
		}
		if err := c.send(h, &rec); err != nil {
			return
		}
	}
	_ = c.send(h, &rpcQueryRecord{Type: queryRecordDone})
}

// respond answers "respond": a client that streamed a query answers it.
func (c *rpcConn) respond(seq uint64) error {
	var req rpcRespondRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	q, ok := c.queries.get(req.ID)
	if !ok {
		return c.reply(seq, errors.New(errInvalidQueryID))
	}
	return c.reply(seq, q.Respond(req.Payload))
}
