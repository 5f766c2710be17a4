package logforward

import (
	"errors"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// committer saves acknowledged marks to disk off the sender's path, and
// tells the sender up to which byte (of all bytes sent) marks are saved.
type committer struct {
	log     *slog.Logger
	errs    *atomic.Uint64
	mu      sync.Mutex
	pending map[*tailer]mark
	end     uint64
	wake    chan struct{}
	// saved is the byte count (of all sent) whose marks are on disk.
	saved atomic.Uint64
	// savedCh is signalled when saved rises.
	savedCh chan struct{}
	failed  bool
}

func newCommitter(log *slog.Logger, errs *atomic.Uint64) *committer {
	return &committer{log: log, errs: errs, pending: map[*tailer]mark{}, wake: make(chan struct{}, 1), savedCh: make(chan struct{}, 1)}
}

// put queues t's mark, which covers the sent bytes up to end.
func (c *committer) put(t *tailer, m mark, end uint64) {
	c.mu.Lock()
	c.pending[t] = m
	if end > c.end {
		c.end = end
	}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// covered records that nothing below end awaits saving (after a lost
// connection, when what was in flight is dropped).
func (c *committer) covered(end uint64) {
	c.mu.Lock()
	if end > c.end {
		c.end = end
	}
	c.mu.Unlock()
	c.raise(end)
}

func (c *committer) raise(end uint64) {
	for {
		old := c.saved.Load()
		if end <= old {
			return
		}
		if c.saved.CompareAndSwap(old, end) {
			select {
			case c.savedCh <- struct{}{}:
			default:
			}
			return
		}
	}
}

// flush saves what is pending.
func (c *committer) flush() {
	c.mu.Lock()
	batch, end := c.pending, c.end
	c.pending = make(map[*tailer]mark, len(batch))
	c.mu.Unlock()
	ok := true
	for t, m := range batch {
		var err error
		if m.set {
			err = saveMark(t.posPath, m)
		} else if err = os.Remove(t.posPath); errors.Is(err, os.ErrNotExist) {
			err = nil
		}
		if err != nil {
			ok = false
			c.errs.Add(1)
			if !c.failed {
				c.log.Error("logforward: saving position", "err", err)
			}
			c.failed = true
			// Try again next time unless a newer mark came.
			c.mu.Lock()
			if _, newer := c.pending[t]; !newer {
				c.pending[t] = m
			}
			c.mu.Unlock()
		}
	}
	if ok {
		if c.failed {
			c.log.Info("logforward: saving positions again")
		}
		c.failed = false
		c.raise(end)
	}
}

// loop saves marks as they come until done is closed, then saves the last.
func (c *committer) loop(done <-chan struct{}) {
	retry := time.NewTicker(time.Second)
	defer retry.Stop()
	for {
		select {
		case <-retry.C:
			if c.failed {
				c.flush()
			}
		case <-c.wake:
			c.flush()
		case <-done:
			c.flush()
			return
		}
	}
}
