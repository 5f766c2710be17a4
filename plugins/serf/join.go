package serf

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
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
	joinedAt  time.Time // when the last successful join happened
	lastErr   error
	wakeCh    chan struct{}
	connected bool // a join target is alive in the member list
}

// wake makes the join loop check again (after a membership change).
func (j *joinState) wake() {
	select {
	case j.ch() <- struct{}{}:
	default:
	}
}

func (j *joinState) ch() chan struct{} {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.wakeCh == nil {
		j.wakeCh = make(chan struct{}, 1)
	}
	return j.wakeCh
}

// fail records a failed attempt.
func (j *joinState) fail(err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.failures++
	j.lastErr = err
}

// jitter spreads d by ±20% so that nodes started together do not retry in
// step.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// joinTarget is one join entry: "[name/]host[:port]".
type joinTarget struct {
	name string // the node name expected there, if given
	host string
	port int
}

// parseJoinTarget reads a join entry; the port defaults to def. A leading
// "name/" (memberlist's syntax) gives the node name expected at the
// address.
func parseJoinTarget(s string, def int) (joinTarget, error) {
	var t joinTarget
	if i := strings.IndexByte(s, '/'); i >= 0 {
		if i == 0 {
			return t, fmt.Errorf("empty node name in %q", s)
		}
		t.name, s = s[:i], s[i+1:]
	}
	host, port, err := hostPort(s, def)
	if err != nil {
		return t, err
	}
	t.host, t.port = host, port
	return t, nil
}

// joinAddr is a join target resolved: one address of it.
type joinAddr struct {
	name string
	addr netip.AddrPort
}

// String is what serf.Join takes: "[name/]ip:port".
func (a joinAddr) String() string {
	if a.name != "" {
		return a.name + "/" + a.addr.String()
	}
	return a.addr.String()
}

// resolve turns the join targets into addresses: an IP as it is, a host
// name into every address it resolves to (Docker Swarm's tasks.<service>
// has one record per task). Targets that do not resolve are reported in
// err, the others still returned.
func (p *Plugin) resolve(ctx context.Context) ([]joinAddr, error) {
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	var out []joinAddr
	var errs []error
	for _, t := range p.targets {
		if ip, err := netip.ParseAddr(t.host); err == nil {
			out = append(out, joinAddr{name: t.name, addr: netip.AddrPortFrom(ip.Unmap(), uint16(t.port))})
			continue
		}
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", t.host)
		if err == nil && len(ips) == 0 {
			err = errors.New("no address")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("resolving %s: %w", t.host, err))
			continue
		}
		for _, ip := range ips {
			out = append(out, joinAddr{name: t.name, addr: netip.AddrPortFrom(ip.Unmap(), uint16(t.port))})
		}
	}
	return out, errors.Join(errs...)
}

// joinLoop joins the configured nodes, retrying with exponential backoff and
// jitter until one answers, then watches the member list and joins again
// whenever this node is alone or none of the join targets is alive in it
// (a restarted balancer, a node started before its seed).
func (p *Plugin) joinLoop(ctx context.Context) error {
	if len(p.targets) == 0 {
		return nil
	}
	backoff := p.RetryInterval
	for {
		addrs, rerr := p.resolve(ctx)
		if p.needJoin(addrs) {
			err := p.joinOnce(addrs, rerr)
			if err == nil {
				if p.needJoin(addrs) {
					// The target answered but is not alive in the member
					// list: it is leaving (a restart under way).
					err = errors.New("joined, but no join target is alive")
					p.join.fail(err)
				}
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
// is stopping or the agent has left.
func (p *Plugin) sleep(ctx context.Context, d time.Duration, wake <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-p.stopping:
		return false
	case <-p.agent.ShutdownCh():
		return false
	case <-wake:
	case <-t.C:
	}
	return true
}

// joinOnce tries the resolved join addresses once; rerr is what failed to
// resolve.
func (p *Plugin) joinOnce(addrs []joinAddr, rerr error) error {
	p.join.mu.Lock()
	p.join.attempts++
	p.join.mu.Unlock()
	var err error
	n := 0
	if len(addrs) == 0 {
		err = rerr
		if err == nil {
			err = errors.New("no address to join")
		}
	} else {
		list := make([]string, 0, len(addrs))
		for _, a := range addrs {
			list = append(list, a.String())
		}
		n, err = p.agent.Join(list, false)
		if err == nil && n == 0 {
			err = errors.New("no node answered")
		}
	}
	if err != nil {
		if isDecryptError(err.Error()) {
			p.decrypt.saw()
		}
		p.join.fail(err)
		return err
	}
	p.join.mu.Lock()
	defer p.join.mu.Unlock()
	p.join.lastErr = nil
	p.join.joinedAt = time.Now()
	p.join.connected = true
	p.log.Info("serf joined", "join", p.Join, "contacted", n)
	return nil
}

// needJoin tells whether this node should join: it is alone, or no join
// address is an alive member. A member matches an address by IP and port
// (another agent on the balancer's IP does not stand in for it), and by
// node name when the join entry gives one.
func (p *Plugin) needJoin(addrs []joinAddr) bool {
	sf := p.agent.Serf()
	self := sf.LocalMember()
	alive := map[netip.AddrPort]string{}
	for _, m := range sf.Members() {
		if m.Status != hserf.StatusAlive || m.Name == self.Name {
			continue
		}
		if ip, ok := netip.AddrFromSlice(m.Addr); ok {
			alive[netip.AddrPortFrom(ip.Unmap(), m.Port)] = m.Name
		}
	}
	selfAddr, _ := netip.AddrFromSlice(self.Addr)
	selfAP := netip.AddrPortFrom(selfAddr.Unmap(), self.Port)
	connected := false
	if len(alive) > 0 {
		for _, a := range addrs {
			name, ok := alive[a.addr]
			if a.addr == selfAP && (a.name == "" || a.name == self.Name) {
				// This node is a target itself (the seed): being in a
				// cluster at all is enough.
				connected = true
			}
			if ok && (a.name == "" || a.name == name) {
				connected = true
			}
		}
	}
	p.join.mu.Lock()
	p.join.connected = connected
	p.join.mu.Unlock()
	return !connected
}

// summary describes the join loop for Status.
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
