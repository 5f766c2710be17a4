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
	// reading holds the services whose running process reads its pipe
	// (one started before any writer existed reads /dev/null instead).
	reading map[string]bool
}

// reader returns the read end of the pipe read by service and records
// that its process reads it.
func (p *pipelines) reader(service string) (*os.File, error) {
	pp, err := p.open(service)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if p.reading == nil {
		p.reading = map[string]bool{}
	}
	p.reading[service] = true
	p.mu.Unlock()
	return pp[0], nil
}

// isReading reports whether service's process reads its pipe.
func (p *pipelines) isReading(service string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reading[service]
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

// release closes corral's ends of the pipe read by service and forgets it:
// once its writers are gone too, the reader sees the end of file and can
// drain what is left. Its next start gets a new pipe.
func (p *pipelines) release(service string) {
	p.mu.Lock()
	pp, ok := p.pipes[service]
	delete(p.pipes, service)
	delete(p.reading, service)
	p.mu.Unlock()
	if ok {
		pp[0].Close()
		pp[1].Close()
	}
}

// drainable reports whether name reads a pipe whose every writer is down,
// so that it may drain to the end of file instead of being signalled.
func (s *Supervisor) drainable(name string) bool {
	if !s.readsPipe(name) {
		return false
	}
	for _, u := range s.allUnits() {
		if u.service().StdoutTo != name {
			continue
		}
		if st, _ := u.snapshot(); st.State.Up() {
			return false
		}
	}
	return true
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
