package logforward

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"time"

	"github.com/corralhq/corral/supervisor/output"
)

// ackPoll is how often the send queue is checked while waiting for the
// collector's acknowledgments.
const ackPoll = 200 * time.Microsecond

// inflight is a batch written to the collector, not yet acknowledged.
type inflight struct {
	t   *tailer
	m   mark
	end uint64 // bytes sent, all connections counted, after this batch
}

// sender is the forwarding loop: it reads the tailers round-robin, writes
// to the collector, and hands acknowledged marks to the committer. All its
// fields belong to its goroutine.
type sender struct {
	s      settings
	logDir string
	log    *slog.Logger
	tls    *tls.Config
	stats  *stats
	fm     *formatter
	com    *committer

	tailers []*tailer
	byKey   map[string]*tailer
	rr      int
	out     []byte

	conn     *conn
	base     uint64 // bytes sent on earlier connections
	inflight []inflight
	acked    uint64
	ackedAt  time.Time
	backoff  time.Duration
	dialAt   time.Time
	dialFail bool
	readFail bool
}

// total returns the bytes sent on all connections.
func (s *sender) total() uint64 {
	if s.conn == nil {
		return s.base
	}
	return s.base + s.conn.sent.Load()
}

// loop forwards until ctx is done.
func (s *sender) loop(ctx context.Context) error {
	defer s.shutdown()
	var scanAt time.Time
	for ctx.Err() == nil {
		now := time.Now()
		if now.After(scanAt) {
			s.scan()
			s.measureLag()
			scanAt = now.Add(s.s.ScanInterval)
		}
		if s.conn == nil {
			s.connect(ctx)
			continue
		}
		if s.conn.broken.Load() {
			s.disconnect(s.conn.Err())
			continue
		}
		if err := s.processAcks(now); err != nil {
			s.disconnect(err)
			continue
		}
		if s.sendRound() {
			continue
		}
		wait := s.s.PollInterval
		if len(s.inflight) > 0 {
			if now.Sub(s.ackedAt) > s.s.WriteTimeout {
				s.disconnect(fmt.Errorf("collector acknowledged nothing for %v", s.s.WriteTimeout))
				continue
			}
			wait = ackPoll // the kernel tells no one when the peer acknowledges
		}
		// Wake early when the committer saved marks (the window opens).
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-s.com.savedCh:
		}
		t.Stop()
	}
	return nil
}

// sendRound writes what the tailers have, within the window; it reports
// whether anything was sent.
func (s *sender) sendRound() bool {
	sent := false
	n := len(s.tailers)
	for i := 0; i < n; i++ {
		room := int64(s.s.BatchSize) - int64(s.total()-s.com.saved.Load())
		if room <= 0 {
			break
		}
		chunk := min(room, int64(s.s.BatchSize/4))
		t := s.tailers[(s.rr+i)%n]
		out, lines, err := t.fill(s.out[:0], int(chunk), s.fm)
		s.out = out[:0]
		if err != nil {
			s.stats.errors.Add(1)
			if !s.readFail {
				s.log.Error("logforward: reading logs", "service", t.service, "stream", t.stream.String(), "err", err)
			}
			s.readFail = true
			t.close()
		}
		if lines == 0 {
			continue
		}
		if err == nil && s.readFail {
			s.readFail = false
			s.log.Info("logforward: reading logs again", "service", t.service, "stream", t.stream.String())
		}
		if err := s.conn.write(out, s.s.WriteTimeout); err != nil {
			s.conn.fail(fmt.Errorf("writing: %w", err))
			return sent
		}
		if len(s.inflight) == 0 {
			s.ackedAt = time.Now()
		}
		s.inflight = append(s.inflight, inflight{t: t, m: t.read, end: s.total()})
		s.stats.linesSent.Add(uint64(lines))
		sent = true
	}
	s.rr++
	return sent
}

// processAcks moves acknowledged batches to the committer.
func (s *sender) processAcks(now time.Time) error {
	q, err := s.conn.unacked()
	if err != nil {
		return fmt.Errorf("reading the send queue: %w", err)
	}
	acked := s.total() - q
	if acked > s.acked {
		s.acked, s.ackedAt = acked, now
		s.backoff = 0
	}
	i := 0
	for ; i < len(s.inflight) && s.inflight[i].end <= acked; i++ {
		b := s.inflight[i]
		b.t.ack(b.m, now, s.s.ResendWindow)
		s.com.put(b.t, b.m, b.end)
	}
	if i > 0 {
		s.inflight = slices.Delete(s.inflight, 0, i)
	}
	for _, t := range s.tailers {
		t.settle(now, s.s.ResendWindow)
	}
	return nil
}

// connect dials the collector once its backoff has passed.
func (s *sender) connect(ctx context.Context) {
	if d := time.Until(s.dialAt); d > 0 {
		sleep(ctx, d)
		return
	}
	c, err := dial(ctx, s.s, s.tls)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		s.stats.errors.Add(1)
		s.stats.setErr(err)
		if !s.dialFail {
			s.log.Warn("logforward: cannot reach the collector, retrying", "address", s.s.Address, "err", err)
		}
		s.dialFail = true
		s.backoff = min(max(s.backoff*2, s.s.BackoffMin), s.s.BackoffMax)
		// Full jitter in [backoff/2, backoff).
		s.dialAt = time.Now().Add(s.backoff/2 + rand.N(s.backoff/2+1))
		return
	}
	if s.stats.everConnected.Swap(true) {
		s.stats.reconnects.Add(1)
	}
	s.dialFail = false
	s.conn = c
	s.acked = 0
	s.ackedAt = time.Now()
	s.stats.connected.Store(true)
	s.log.Info("logforward: connected", "address", s.s.Address, "protocol", s.s.proto.String())
}

// disconnect drops the connection and rewinds every tailer to its safe
// mark, so what the collector may have lost is sent again.
func (s *sender) disconnect(err error) {
	s.stats.connected.Store(false)
	s.stats.errors.Add(1)
	s.stats.setErr(err)
	s.log.Warn("logforward: lost the collector, resending from the last safe position", "err", err)
	s.conn.close()
	s.base += s.conn.sent.Load()
	s.conn = nil
	s.inflight = s.inflight[:0]
	for _, t := range s.tailers {
		changed := t.read != t.safe
		t.rewind()
		if changed {
			s.com.put(t, t.safe, 0)
		}
	}
	s.com.covered(s.base)
	s.backoff = min(max(s.backoff*2, s.s.BackoffMin), s.s.BackoffMax)
	s.dialAt = time.Now().Add(s.backoff/2 + rand.N(s.backoff/2+1))
}

// scan adds tailers for services that appeared.
func (s *sender) scan() {
	names := s.s.Services
	if len(names) == 0 {
		ents, err := os.ReadDir(s.logDir)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				s.stats.errors.Add(1)
				s.log.Error("logforward: listing the log dir", "err", err)
			}
			return
		}
		names = names[:0:0]
		for _, e := range ents {
			if e.IsDir() && e.Name()[0] != '.' {
				names = append(names, e.Name())
			}
		}
	}
	for _, n := range names {
		if slices.Contains(s.s.Exclude, n) {
			continue
		}
		for _, st := range []output.Stream{output.Stdout, output.Stderr} {
			key := n + "\x00" + st.String()
			if s.byKey[key] != nil {
				continue
			}
			t, err := newTailer(s.logDir, s.s.StateDir, n, st)
			if err != nil {
				s.stats.errors.Add(1)
				s.log.Error("logforward: loading position, starting from the oldest file", "service", n, "err", err)
				t, _ = newTailer(s.logDir, s.s.StateDir, n, st)
				if t == nil {
					continue
				}
			}
			s.byKey[key] = t
			s.tailers = append(s.tailers, t)
		}
	}
}

// measureLag updates the tailers' lag and the total.
func (s *sender) measureLag() {
	var lag int64
	for _, t := range s.tailers {
		t.updateLag()
		lag += t.lag.Load()
	}
	s.stats.lagBytes.Store(lag)
	s.stats.tailers.Store(int64(len(s.tailers)))
}

// shutdown waits a little for the last acknowledgments, then closes.
func (s *sender) shutdown() {
	if s.conn != nil {
		deadline := time.Now().Add(500 * time.Millisecond)
		for len(s.inflight) > 0 && time.Now().Before(deadline) && !s.conn.broken.Load() {
			if s.processAcks(time.Now()) != nil {
				break
			}
			time.Sleep(time.Millisecond)
		}
		s.conn.close()
		s.conn = nil
	}
	s.stats.connected.Store(false)
	for _, t := range s.tailers {
		t.close()
	}
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
