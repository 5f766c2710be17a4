package serf

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	hserf "github.com/hashicorp/serf/serf"
)

// resolveTimeout bounds the host name lookups of one join check.
const resolveTimeout = 2 * time.Second

// joinState tracks the join loop for Status and Metrics.
type joinState struct {
	mu        sync.Mutex
	attempts  uint64
	failures  uint64
	joined    int       // nodes contacted by the last successful join
	joinedAt  time.Time // when the last successful join happened
	lastErr   error
	wakeCh    chan struct{}
	connected bool // a join target is alive in the member list
}

// wake makes the join loop check again (after a membership change).
func (j *joinState) wake() {
	j.mu.Lock()
	if j.wakeCh == nil {
		j.wakeCh = make(chan struct{}, 1)
	}
	ch := j.wakeCh
	j.mu.Unlock()
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (j *joinState) ch() <-chan struct{} {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.wakeCh == nil {
		j.wakeCh = make(chan struct{}, 1)
	}
	return j.wakeCh
}

// jitter spreads d by ±20% so that nodes started together do not retry in
// step.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// joinLoop joins the configured nodes, retrying with exponential backoff and
// jitter until one answers, then watches the member list and joins again
// whenever this node is alone or none of the join targets is alive in it
// (a restarted balancer, a node started before its seed).
func (p *Plugin) joinLoop(ctx context.Context) error {
	if len(p.Join) == 0 {
		return nil
	}
	backoff := p.RetryInterval
	for {
		if p.needJoin(ctx) {
			err := p.joinOnce()
			if err == nil && p.needJoin(ctx) {
				// The target answered but is not alive in the member list:
				// it is leaving (a restart under way). Try again later.
				err = errors.New("joined, but no join target is alive")
				p.join.mu.Lock()
				p.join.failures++
				p.join.lastErr = err
				p.join.mu.Unlock()
			}
			if err != nil {
				// Back off without listening to membership events, or a
				// flapping cluster would hammer the targets.
				wait := jitter(backoff)
				backoff = min(2*backoff, p.RetryMaxInterval)
				p.log.Warn("serf join failed, will retry", "join", p.Join, "retry_in", wait.Round(time.Millisecond), "error", err)
				if !p.sleep(ctx, wait, nil) {
					return nil
				}
				continue
			}
			backoff = p.RetryInterval
		}
		// Check again on the next membership change, or after a while.
		if !p.sleep(ctx, jitter(p.RetryMaxInterval), p.join.ch()) {
			return nil
		}
	}
}

// sleep waits for d or a signal on wake; it returns false when the plugin
// is stopping.
func (p *Plugin) sleep(ctx context.Context, d time.Duration, wake <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-p.stopping:
		return false
	case <-wake:
	case <-t.C:
	}
	return true
}

// joinOnce tries the join targets once.
func (p *Plugin) joinOnce() error {
	p.join.mu.Lock()
	p.join.attempts++
	p.join.mu.Unlock()
	n, err := p.agent.Join(p.Join, false)
	if err == nil && n == 0 {
		err = errors.New("no node answered")
	}
	p.join.mu.Lock()
	defer p.join.mu.Unlock()
	if err != nil {
		p.join.failures++
		p.join.lastErr = err
		return err
	}
	p.join.lastErr = nil
	p.join.joined = n
	p.join.joinedAt = time.Now()
	p.join.connected = true
	p.log.Info("serf joined", "join", p.Join, "contacted", n)
	return nil
}

// needJoin tells whether this node should join: it is alone, or no join
// target (resolved now) is an alive member.
func (p *Plugin) needJoin(ctx context.Context) bool {
	sf := p.agent.Serf()
	self := sf.LocalMember()
	alive := map[string]bool{}
	for _, m := range sf.Members() {
		if m.Status == hserf.StatusAlive && m.Name != self.Name {
			alive[m.Addr.String()] = true
		}
	}
	connected := false
	if len(alive) > 0 {
		rctx, cancel := context.WithTimeout(ctx, resolveTimeout)
		defer cancel()
		for _, j := range p.Join {
			host, _, err := hostPort(j, p.bindPort)
			if err != nil {
				continue
			}
			addrs, err := net.DefaultResolver.LookupHost(rctx, host)
			if err != nil {
				continue
			}
			for _, a := range addrs {
				if alive[a] || a == self.Addr.String() {
					connected = true
				}
			}
		}
	}
	p.join.mu.Lock()
	p.join.connected = connected
	p.join.mu.Unlock()
	return !connected
}

// joinSummary describes the join loop for Status.
func (j *joinState) summary(targets []string) (string, map[string]any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	d := map[string]any{"join": targets, "attempts": j.attempts, "failures": j.failures, "connected": j.connected}
	if !j.joinedAt.IsZero() {
		d["joined_at"] = j.joinedAt
	}
	switch {
	case len(targets) == 0:
		return "", d
	case j.connected:
		return fmt.Sprintf("joined %s", targets[0]), d
	case j.lastErr != nil:
		d["error"] = j.lastErr.Error()
		return fmt.Sprintf("joining %s (%d attempts, last: %v)", targets[0], j.attempts, j.lastErr), d
	}
	return fmt.Sprintf("joining %s", targets[0]), d
}
