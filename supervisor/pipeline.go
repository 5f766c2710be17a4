package supervisor

import (
	"fmt"
	"os"
	"sync"
)

// pipelines holds the pipes between services whose stdout another service
// reads (services.Service.StdoutTo), one per reading service. corral keeps
// both ends open for its whole life, as s6's fd holder does, so a restart of
// the writer never shows the reader an end of file, and a restart of the
// reader never kills the writer with SIGPIPE or loses what is buffered.
type pipelines struct {
	mu    sync.Mutex
	pipes map[string][2]*os.File // reading service -> {read end, write end}
}

// open returns the pipe read by service, creating it on first use.
func (p *pipelines) open(service string) ([2]*os.File, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pp, ok := p.pipes[service]; ok {
		return pp, nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return [2]*os.File{}, fmt.Errorf("creating the pipe to %s: %w", service, err)
	}
	if p.pipes == nil {
		p.pipes = map[string][2]*os.File{}
	}
	pp := [2]*os.File{r, w}
	p.pipes[service] = pp
	return pp, nil
}

// writer returns the write end of the pipe read by service.
func (p *pipelines) writer(service string) (*os.File, error) {
	pp, err := p.open(service)
	return pp[1], err
}

// readsPipe reports whether a service of the current set writes its output
// to name.
func (s *Supervisor) readsPipe(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.set == nil {
		return false
	}
	for _, svc := range s.set.Services {
		if svc.StdoutTo == name {
			return true
		}
	}
	return false
}
