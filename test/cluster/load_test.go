package cluster

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// client sends the test's requests; keep-alive, as a browser would.
var client = &http.Client{
	Timeout:   5 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 8, DisableCompression: true},
}

// get sends one GET and returns the X-Node of a 200 answer.
func get(url string) (string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %s", resp.Status)
	}
	return resp.Header.Get("X-Node"), nil
}

// load is a steady loop of requests through the balancer.
type load struct {
	url  string
	stop chan struct{}
	wg   sync.WaitGroup

	mu     sync.Mutex
	total  int
	byNode map[string]int
	first  map[string]time.Time
	last   map[string]time.Time
	fails  []string
}

// startLoad runs workers loops of GET url, each pausing pause between
// requests, until Stop (registered as cleanup too).
func startLoad(t *testing.T, url string, workers int, pause time.Duration) *load {
	l := &load{url: url, stop: make(chan struct{}), byNode: map[string]int{},
		first: map[string]time.Time{}, last: map[string]time.Time{}}
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				node, err := get(url)
				now := time.Now()
				l.mu.Lock()
				l.total++
				if err != nil {
					l.fails = append(l.fails, now.Format("15:04:05.000")+" "+err.Error())
				} else {
					l.byNode[node]++
					if _, ok := l.first[node]; !ok {
						l.first[node] = now
					}
					l.last[node] = now
				}
				l.mu.Unlock()
				time.Sleep(pause)
			}
		}()
	}
	t.Cleanup(l.Stop)
	return l
}

// Stop ends the loop; safe twice.
func (l *load) Stop() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

// counts returns the requests sent, answered by node, and failed.
func (l *load) counts(node string) (total, served, failed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total, l.byNode[node], len(l.fails)
}

// failures returns the failed requests so far.
func (l *load) failures() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.fails...)
}

// firstServed returns when node first answered (zero if never).
func (l *load) firstServed(node string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.first[node]
}

// lastServed returns when node last answered (zero if never).
func (l *load) lastServed(node string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last[node]
}

// waitHealthy waits until url answers 200 and returns when it did.
func waitHealthy(t *testing.T, url string, limit time.Duration) time.Time {
	t.Helper()
	waitFor(t, limit, url+" healthy", func() bool {
		_, err := get(url)
		return err == nil
	})
	return time.Now()
}
