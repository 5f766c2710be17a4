package supervisor

import (
	"time"

	"github.com/corralhq/corral/services"
)

// restartPlan decides whether and when an exited service starts again.
type restartPlan struct {
	// attempt counts consecutive quick exits; it resets once the service
	// stayed up for Backoff.Reset.
	attempt int
	// history holds restart times within the restart window.
	history []time.Time
}

// next returns the delay before the next restart and whether the restart
// limit was reached (the service goes FATAL instead).
func (p *restartPlan) next(svc *services.Service, uptime time.Duration, now time.Time) (time.Duration, bool) {
	b := svc.Backoff
	if uptime >= b.Reset && b.Reset > 0 {
		p.attempt = 0
	}
	if svc.MaxRestarts > 0 {
		cut := now.Add(-svc.RestartWindow)
		kept := p.history[:0]
		for _, t := range p.history {
			if t.After(cut) {
				kept = append(kept, t)
			}
		}
		p.history = kept
		if len(p.history) >= svc.MaxRestarts {
			return 0, true
		}
		p.history = append(p.history, now)
	}
	d := delayFor(b, p.attempt)
	p.attempt++
	return d, false
}

// delayFor returns the n-th delay: Initial, then max(Initial, Min) times
// Multiplier^(n-1), capped at Max.
func delayFor(b services.Backoff, n int) time.Duration {
	if n == 0 {
		return b.Initial
	}
	d := b.Initial
	if d < b.Min {
		d = b.Min
	}
	m := b.Multiplier
	if m < 1 {
		m = 1
	}
	f := float64(d)
	for i := 1; i < n && f < float64(b.Max); i++ {
		f *= m
	}
	if b.Max > 0 && f > float64(b.Max) {
		f = float64(b.Max)
	}
	return time.Duration(f)
}
