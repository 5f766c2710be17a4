package supervisor

import (
	"context"
	"errors"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/corralhq/corral/plugins"
	"github.com/corralhq/corral/supervisor/internal/reaper"
)

// maxExecOutput caps what Exec keeps of a command's output.
const maxExecOutput = 1 << 20

// runToCompletion runs spec through the reaper and waits for it, capturing
// stdout and stderr together. When ctx ends or spec.Timeout passes, the
// command's process group is killed.
func runToCompletion(ctx context.Context, spec plugins.ExecSpec, baseEnv []string) (plugins.ExecResult, error) {
	if len(spec.Argv) == 0 {
		return plugins.ExecResult{}, errors.New("exec: empty command")
	}
	if spec.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, spec.Timeout)
		defer cancel()
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return plugins.ExecResult{}, err
	}
	defer outR.Close()
	inR, inW, err := os.Pipe()
	if err != nil {
		outW.Close()
		return plugins.ExecResult{}, err
	}
	env := append(append([]string{}, baseEnv...), spec.Env...)
	p, err := reaper.Spawn(reaper.Spec{
		Argv:  spec.Argv,
		Env:   env,
		Dir:   spec.Dir,
		Files: []*os.File{inR, outW, outW},
	})
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		return plugins.ExecResult{}, err
	}
	go func() {
		if len(spec.Stdin) > 0 {
			_, _ = inW.Write(spec.Stdin)
		}
		inW.Close()
	}()
	outc := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(outR, maxExecOutput))
		_, _ = io.Copy(io.Discard, outR) // keep draining past the cap
		outc <- b
	}()
	var st plugins.ExitStatus
	select {
	case st = <-p.Exit:
	case <-ctx.Done():
		_ = reaper.SignalGroup(p.Pid, syscall.SIGKILL)
		st = <-p.Exit
	}
	// The output pipe may be held open by a grandchild; do not wait forever.
	var out []byte
	select {
	case out = <-outc:
	case <-time.After(100 * time.Millisecond):
		_ = reaper.SignalGroup(p.Pid, syscall.SIGKILL)
		outR.SetReadDeadline(time.Now())
		out = <-outc
	}
	res := plugins.ExecResult{Output: out, Status: st}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, nil
}
