package template

import (
	"context"
	"time"
)

// waitQuiet waits, like consul-template's wait, until no event has come for
// WaitMin, but no longer than WaitMax since the call (the first event of the
// burst). It returns false when ctx ends.
func (p *Plugin) waitQuiet(ctx context.Context) bool {
	deadline := time.Now().Add(p.WaitMax)
	t := time.NewTimer(p.WaitMin)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		case <-p.wake:
			left := time.Until(deadline)
			if left <= 0 {
				return true
			}
			t.Reset(min(p.WaitMin, left))
		}
	}
}
