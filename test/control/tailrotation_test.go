package control

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/corralhq/corral/control"
)

// chattyFile is a service writing about 5,000 lines a second into log
// files that rotate every KB (about 50 rotations a second); "$$" is the
// shell's "$".
const chattyFile = `command = ["sh", "-c", "i=0; while :; do j=0; while [ $$j -lt 50 ]; do echo line $$i; i=$$((i+1)); j=$$((j+1)); done; sleep 0.01; done"]
[log]
max_size = 1024
keep = 5
console = false
`

// TestTailDuringRotation runs supervisorctl tail 1,000 times (bytes and
// lines, four at a time) while the service's log rotates about 50 times a
// second (issue 14, item 5): every tail succeeds with whole output.
func TestTailDuringRotation(t *testing.T) {
	c := startCorral(t, map[string]string{"chatty.toml": chattyFile})
	c.waitState(map[string]control.State{"chatty": control.Running})
	cur := filepath.Join(c.logDir, "chatty", "current")
	waitFor(t, "chatty's log to rotate", func() (bool, string) {
		ents, _ := os.ReadDir(filepath.Dir(cur))
		return len(ents) > 2, fmt.Sprint(len(ents), " entries")
	})

	// Count the rotations seen (current's inode changing) meanwhile.
	var rotations atomic.Int64
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		var last uint64
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			if fi, err := os.Stat(cur); err == nil {
				if ino := fi.Sys().(*syscall.Stat_t).Ino; ino != last {
					last = ino
					rotations.Add(1)
				}
			}
		}
	}()

	const tails, workers = 1000, 4
	var failed atomic.Int64
	var mu sync.Mutex
	var first []string
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < tails; i += workers {
				args := []string{"tail", "chatty"}
				if i%2 == 1 {
					args = []string{"tail", "-n", "3", "chatty"}
				}
				r := c.ctl(args...)
				ok := r.code == 0 && strings.HasSuffix(r.out, "\n") && strings.Contains(r.out, "line ") && !strings.Contains(r.out, "ERROR")
				if i%2 == 1 {
					ok = ok && strings.Count(r.out, "\n") == 3
				}
				if !ok {
					failed.Add(1)
					mu.Lock()
					if len(first) < 5 {
						first = append(first, fmt.Sprintf("%v: exit %d %q %q", args, r.code, r.out, r.err))
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-watched
	t.Logf("%d tails, %d failed, %d rotations seen meanwhile", tails, failed.Load(), rotations.Load())
	if failed.Load() > 0 {
		t.Errorf("%d of %d tails failed; first:\n%s", failed.Load(), tails, strings.Join(first, "\n"))
	}
	if rotations.Load() < 50 {
		t.Errorf("only %d rotations during the tails: the test did not race them", rotations.Load())
	}
}
