package e2e

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// result is one request of a load run.
type result struct {
	start time.Time
	node  string // the node that answered; empty on failure
	err   error
}

// load sends a steady stream of GET requests through the balancer from a
// few workers, over keep-alive connections as a browser or service would.
type load struct {
	url     string
	client  *http.Client
	stop    chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	results []result
}

// startLoad starts workers, each sending a request every pause.
func startLoad(url string, workers int, pause time.Duration) *load {
	l := &load{
		url: url,
		client: &http.Client{
			Timeout:   10 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: workers},
		},
		stop: make(chan struct{}),
	}
	for range workers {
		l.wg.Add(1)
		go l.work(pause)
	}
	return l
}

func (l *load) work(pause time.Duration) {
	defer l.wg.Done()
	for {
		select {
		case <-l.stop:
			return
		default:
		}
		r := result{start: time.Now()}
		r.node, r.err = l.once()
		l.mu.Lock()
		l.results = append(l.results, r)
		l.mu.Unlock()
		time.Sleep(pause)
	}
}

func (l *load) once() (string, error) {
	resp, err := l.client.Get(l.url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	m := nodeRe.FindSubmatch(body)
	if m == nil {
		return "", fmt.Errorf("no node in %q", body)
	}
	return string(m[1]), nil
}

// count returns how many requests are done so far.
func (l *load) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.results)
}

// Stop ends the run and returns every request's result.
func (l *load) Stop() loadReport {
	close(l.stop)
	l.wg.Wait()
	l.client.CloseIdleConnections()
	return loadReport(l.results)
}

// loadReport is the results of a load run.
type loadReport []result

// failed returns the failed requests.
func (r loadReport) failed() []result {
	var f []result
	for _, x := range r {
		if x.err != nil {
			f = append(f, x)
		}
	}
	return f
}

// servedBy counts the requests that node answered among those started at
// or after since.
func (r loadReport) servedBy(node string, since time.Time) int {
	n := 0
	for _, x := range r {
		if x.err == nil && x.node == node && !x.start.Before(since) {
			n++
		}
	}
	return n
}

// String summarizes the run: total, failures, and requests per node.
func (r loadReport) String() string {
	per := map[string]int{}
	for _, x := range r {
		if x.err == nil {
			per[x.node]++
		}
	}
	nodes := make([]string, 0, len(per))
	for n := range per {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	var b strings.Builder
	fmt.Fprintf(&b, "%d requests, %d failed;", len(r), len(r.failed()))
	for _, n := range nodes {
		fmt.Fprintf(&b, " %s=%d", n, per[n])
	}
	for i, f := range r.failed() {
		if i == 5 {
			fmt.Fprintf(&b, "\n  ...")
			break
		}
		fmt.Fprintf(&b, "\n  failed at %s: %v", f.start.Format("15:04:05.000"), f.err)
	}
	return b.String()
}
