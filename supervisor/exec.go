package supervisor

import (
	"context"
	"errors"
	"io"
	"os"
	"syscall"
	"time"
)

// maxExecOutput caps what Exec keeps of a command's output.
const maxExecOutput = 1 << 20

// runToCompletion runs spec through the reaper and waits for it, capturing
// stdout and stderr together. When ctx ends or spec.Timeout passes, the
// command's process group is killed.
func runToCompletion(ctx context.Context, r *Reaper, spec ExecSpec, baseEnv []string) (ExecResult, error) {
	if len(spec.Argv) == 0 {
		return ExecResult{}, errors.New("exec: empty command")
	}
	if spec.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, spec.Timeout)
		defer cancel()
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return ExecResult{}, err
	}
	defer outR.Close()
	inR, inW, err := os.Pipe()
	if err != nil {
		outW.Close()
		return ExecResult{}, err
	}
	env := append(append([]string{}, baseEnv...), spec.Env...)
	p, err := r.spawnProc(procSpec{
		argv:  spec.Argv,
		env:   env,
		dir:   spec.Dir,
		files: []*os.File{inR, outW, outW},
	})
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		return ExecResult{}, err
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
	var st ExitStatus
	select {
	case st = <-p.exit:
	case <-ctx.Done():
		_ = signalGroup(p.pid, syscall.SIGKILL)
		st = <-p.exit
	}
	// The output pipe may be held open by a grandchild; do not wait forever.
	var out []byte
	select {
	case out = <-outc:
	case <-time.After(100 * time.Millisecond):
		_ = signalGroup(p.pid, syscall.SIGKILL)
		outR.SetReadDeadline(time.Now())
		out = <-outc
	}
	res := ExecResult{Output: out, Status: st}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, nil
}
