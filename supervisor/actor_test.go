package supervisor

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/corralhq/corral/control"
	"github.com/corralhq/corral/plugins"
	"github.com/corralhq/corral/services"
	"github.com/corralhq/corral/supervisor/output"
)

// The state machine of one unit, driven through a fake host: no process is
// started, no root is needed. Each case is a list of steps; after each, the
// unit must be in the given state.

// fakeInst is an instance whose readiness and exit the test decides.
type fakeInst struct {
	n          int
	argv       []string
	exitc      chan instanceExit
	readyc     chan error
	terminated chan syscall.Signal
}

func (f *fakeInst) pid() int                    { return 100 + f.n }
func (f *fakeInst) exited() <-chan instanceExit { return f.exitc }
func (f *fakeInst) ready() <-chan error         { return f.readyc }
func (f *fakeInst) terminate(sig syscall.Signal, _ time.Duration) {
	select {
	case f.terminated <- sig:
	default:
	}
}
func (f *fakeInst) signal(syscall.Signal) error                  { return nil }
func (f *fakeInst) reload(context.Context, syscall.Signal) error { return nil }

// fakeHost launches fakeInsts and records what the unit asked of it.
type fakeHost struct {
	mu       sync.Mutex
	launched []*fakeInst
	spawnErr error
	deps     chan error // nil: no dependencies to wait for
	gaveUps  []string
}

func (h *fakeHost) launch(svc *services.Service, argv []string, _ []output.LineSink) (instance, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.spawnErr != nil {
		return nil, h.spawnErr
	}
	if argv == nil {
		argv = svc.Command
	}
	in := &fakeInst{n: len(h.launched), argv: argv, exitc: make(chan instanceExit, 1),
		readyc: make(chan error, 1), terminated: make(chan syscall.Signal, 1)}
	h.launched = append(h.launched, in)
	return in, nil
}

func (h *fakeHost) openSinks(*services.Service, *slog.Logger) []output.LineSink { return nil }
func (h *fakeHost) shuttingDown() bool                                          { return false }
func (h *fakeHost) waitDeps(ctx context.Context, _ *services.Service) error {
	if h.deps == nil {
		return nil
	}
	select {
	case err := <-h.deps:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
func (h *fakeHost) gaveUp(svc *services.Service, reason string) {
	h.mu.Lock()
	h.gaveUps = append(h.gaveUps, reason)
	h.mu.Unlock()
}

// last returns the most recently launched instance.
func (h *fakeHost) last(t *testing.T) *fakeInst {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		n := len(h.launched)
		h.mu.Unlock()
		if n > 0 {
			h.mu.Lock()
			defer h.mu.Unlock()
			return h.launched[n-1]
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("nothing was launched")
	return nil
}

func (h *fakeHost) gaveUpCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.gaveUps)
}

func (h *fakeHost) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.launched)
}

// step acts on the unit; want is its state afterwards, and launches (when
// not 0) how many instances were launched by then, so that the next step
// acts on the right one.
type step struct {
	do       func(t *testing.T, h *fakeHost, u *unit)
	want     control.State
	launches int
}

func send(kind msgKind) func(t *testing.T, h *fakeHost, u *unit) {
	return func(t *testing.T, h *fakeHost, u *unit) {
		t.Helper()
		if err := u.send(context.Background(), message{kind: kind}); err != nil {
			t.Fatalf("message %d: %v", kind, err)
		}
	}
}

// stopAsync sends a stop without waiting for its reply (the exit comes later).
func stopAsync(t *testing.T, h *fakeHost, u *unit) {
	go func() { _ = u.send(context.Background(), message{kind: msgStop}) }()
	in := h.last(t)
	select {
	case <-in.terminated:
	case <-time.After(5 * time.Second):
		t.Fatal("stop did not terminate the instance")
	}
}

func ready(t *testing.T, h *fakeHost, u *unit) { h.last(t).readyc <- nil }

func notReady(t *testing.T, h *fakeHost, u *unit) {
	in := h.last(t)
	in.readyc <- errors.New("no answer")
	select {
	case <-in.terminated:
	case <-time.After(5 * time.Second):
		t.Fatal("a service that is not ready was not terminated")
	}
}

func exit(code int) func(t *testing.T, h *fakeHost, u *unit) {
	return func(t *testing.T, h *fakeHost, u *unit) {
		in := h.last(t)
		in.exitc <- instanceExit{status: plugins.ExitStatus{Code: code}, pid: in.pid()}
	}
}

func killed(sig syscall.Signal) func(t *testing.T, h *fakeHost, u *unit) {
	return func(t *testing.T, h *fakeHost, u *unit) {
		in := h.last(t)
		in.exitc <- instanceExit{status: plugins.ExitStatus{Signal: sig}, pid: in.pid()}
	}
}

func nothing(*testing.T, *fakeHost, *unit) {}

func TestUnitTransitions(t *testing.T) {
	longrun := func(mod ...func(*services.Service)) *services.Service {
		svc := &services.Service{Name: "svc", Command: []string{"run"}, Type: services.Longrun,
			Restart: services.RestartAlways, Autostart: true, StopSignal: syscall.SIGTERM, StopTimeout: time.Second,
			MaxRestarts: 3, RestartWindow: time.Minute, FinishTimeout: time.Second,
			Backoff: services.Backoff{Initial: 0, Min: time.Millisecond, Multiplier: 2, Max: 10 * time.Millisecond, Reset: time.Hour}}
		for _, m := range mod {
			m(svc)
		}
		return svc
	}
	oneshot := func(s *services.Service) { s.Type, s.Restart = services.Oneshot, services.RestartNever }
	withReady := func(s *services.Service) { s.Ready = &services.Ready{TCP: "127.0.0.1:1"} }
	cases := []struct {
		name  string
		svc   *services.Service
		steps []step
		check func(t *testing.T, h *fakeHost, u *unit)
	}{
		{"longrun starts, runs, stops", longrun(), []step{
			{send(msgStart), control.Starting, 0},
			{ready, control.Running, 0},
			{stopAsync, control.Stopping, 0},
			{killed(syscall.SIGTERM), control.Stopped, 0},
		}, nil},
		{"crash restarts at once, then backs off, then gives up", longrun(), []step{
			{send(msgStart), control.Starting, 1},
			{ready, control.Running, 1},
			{exit(1), control.Starting, 2}, // first restart: no delay
			{exit(1), control.Starting, 3}, // backoff 1ms, then started again
			{exit(1), control.Starting, 4},
			{exit(1), control.Fatal, 4}, // max_restarts = 3
		}, func(t *testing.T, h *fakeHost, u *unit) {
			st, _ := u.snapshot()
			if st.Restarts != 3 || h.count() != 4 || h.gaveUpCount() != 1 {
				t.Fatalf("restarts %d, launches %d, gave up %d times", st.Restarts, h.count(), h.gaveUpCount())
			}
		}},
		{"not ready is terminated and restarted", longrun(withReady), []step{
			{send(msgStart), control.Starting, 1},
			{notReady, control.Starting, 1},
			{killed(syscall.SIGTERM), control.Starting, 2},
		}, func(t *testing.T, h *fakeHost, u *unit) {
			if h.count() != 2 {
				t.Fatalf("launches %d, want 2", h.count())
			}
		}},
		{"oneshot is starting until it exits, then exited", longrun(oneshot), []step{
			{send(msgStart), control.Starting, 0},
			{ready, control.Starting, 0},
			{exit(0), control.Exited, 0},
		}, nil},
		{"failed oneshot is fatal", longrun(oneshot), []step{
			{send(msgStart), control.Starting, 0},
			{exit(2), control.Fatal, 0},
		}, func(t *testing.T, h *fakeHost, u *unit) {
			if h.gaveUpCount() != 1 {
				t.Fatalf("gave up %d times", h.gaveUpCount())
			}
		}},
		{"oneshot's stop command runs on stop", longrun(oneshot, func(s *services.Service) { s.StopCommand = []string{"undo"} }), []step{
			{send(msgStart), control.Starting, 1},
			{exit(0), control.Exited, 1},
			{func(t *testing.T, h *fakeHost, u *unit) {
				go func() { _ = u.send(context.Background(), message{kind: msgStop}) }()
			}, control.Stopping, 2},
			{exit(0), control.Stopped, 2},
		}, func(t *testing.T, h *fakeHost, u *unit) {
			if got := h.last(t).argv; !slices.Equal(got, []string{"undo"}) {
				t.Fatalf("stop command argv %q", got)
			}
		}},
		{"finish gets the exit and 125 keeps the service down", longrun(func(s *services.Service) { s.Finish = []string{"./finish"} }), []step{
			{send(msgStart), control.Starting, 1},
			{ready, control.Running, 1},
			{killed(syscall.SIGKILL), control.Running, 2}, // finish is running
			{exit(125), control.Exited, 2},
		}, func(t *testing.T, h *fakeHost, u *unit) {
			if got := h.last(t).argv; !slices.Equal(got, []string{"./finish", "256", "9", "svc", "100"}) {
				t.Fatalf("finish argv %q", got)
			}
		}},
		{"finish exiting 0 lets the service restart", longrun(func(s *services.Service) { s.Finish = []string{"./finish"} }), []step{
			{send(msgStart), control.Starting, 1},
			{exit(3), control.Starting, 2},
			{exit(0), control.Starting, 3},
		}, func(t *testing.T, h *fakeHost, u *unit) {
			if h.count() != 3 || !slices.Equal(h.launched[1].argv, []string{"./finish", "3", "0", "svc", "100"}) {
				t.Fatalf("launches %d, finish argv %q", h.count(), h.launched[1].argv)
			}
		}},
		{"restart never leaves it exited", longrun(func(s *services.Service) { s.Restart = services.RestartNever }), []step{
			{send(msgStart), control.Starting, 0},
			{exit(0), control.Exited, 0},
		}, nil},
		{"stop while waiting for dependencies", longrun(func(s *services.Service) { s.After = []string{"db"} }), []step{
			{send(msgStart), control.Starting, 0},
			{send(msgStop), control.Stopped, 0},
		}, func(t *testing.T, h *fakeHost, u *unit) {
			if h.count() != 0 {
				t.Fatal("launched while its dependency was not ready")
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := &fakeHost{}
			if len(tc.svc.After) > 0 {
				h.deps = make(chan error)
			}
			u := newUnit(h, slog.New(slog.NewTextHandler(io.Discard, nil)), tc.svc)
			for i, st := range tc.steps {
				st.do(t, h, u)
				awaitState(t, u, st.want, i)
				for n := 0; st.launches > 0 && h.count() != st.launches; n++ {
					if n > 5000 {
						t.Fatalf("step %d: %d launches, want %d", i, h.count(), st.launches)
					}
					time.Sleep(time.Millisecond)
				}
				if st.launches > 0 {
					awaitState(t, u, st.want, i)
				}
			}
			if tc.check != nil {
				tc.check(t, h, u)
			}
		})
	}
}

// awaitState waits until u is in want (the actor works asynchronously).
func awaitState(t *testing.T, u *unit, want control.State, step int) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		st, changed := u.snapshot()
		if st.State == want {
			return
		}
		select {
		case <-changed:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("step %d: state %s (%s), want %s", step, st.State, st.Reason, want)
		}
	}
}

func TestUnitRefusals(t *testing.T) {
	h := &fakeHost{}
	svc := &services.Service{Name: "svc", Command: []string{"run"}, Autostart: true, Hash: "a", StopTimeout: time.Second,
		MaxRestarts: 1, RestartWindow: time.Minute}
	u := newUnit(h, slog.New(slog.NewTextHandler(io.Discard, nil)), svc)
	ctx := context.Background()
	if err := u.send(ctx, message{kind: msgStop}); !errors.Is(err, control.ErrNotRunning) {
		t.Fatalf("stop of a stopped unit: %v", err)
	}
	if err := u.send(ctx, message{kind: msgStart}); err != nil {
		t.Fatal(err)
	}
	if err := u.send(ctx, message{kind: msgStart}); !errors.Is(err, control.ErrAlreadyStarted) {
		t.Fatalf("second start: %v", err)
	}
	changed := *svc
	changed.Hash = "b"
	if err := u.send(ctx, message{kind: msgRedefine, svc: &changed}); !errors.Is(err, control.ErrAlreadyStarted) {
		t.Fatalf("redefine while running: %v", err)
	}
	if err := u.send(ctx, message{kind: msgQuit}); !errors.Is(err, control.ErrAlreadyStarted) {
		t.Fatalf("quit while running: %v", err)
	}
	h.mu.Lock()
	h.spawnErr = errors.New("no such file")
	h.mu.Unlock()
	h.launched[0].exitc <- instanceExit{status: plugins.ExitStatus{Code: 0}}
	awaitState(t, u, control.Fatal, 0)
	if err := u.send(ctx, message{kind: msgRedefine, svc: &changed}); err != nil {
		t.Fatalf("redefine while fatal: %v", err)
	}
	if u.service().Hash != "b" {
		t.Fatal("the definition was not replaced")
	}
	if err := u.send(ctx, message{kind: msgQuit}); err != nil {
		t.Fatal(err)
	}
	<-u.done
}

// TestOneshotWithoutCommand: a oneshot with nothing to run (s6-rc's
// comment-only up file) succeeds at once, with no process.
func TestOneshotWithoutCommand(t *testing.T) {
	s, _ := runSupervisorWith(t, func(lo services.LoadOptions) (*services.Set, error) {
		return &services.Set{Services: []*services.Service{{Name: "noop", Type: services.Oneshot, Restart: services.RestartNever,
			Autostart: true, StopTimeout: time.Second}}}, nil
	})
	st := waitFor(t, s, "noop", control.Exited)
	if st.LastExit == nil || !st.LastExit.Success() || st.PID != 0 {
		t.Fatalf("status %+v", st)
	}
}
