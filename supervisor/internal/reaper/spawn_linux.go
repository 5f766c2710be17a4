package reaper

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/corralhq/corral/internal/execpath"
	"github.com/corralhq/corral/plugins"
)

// Spec describes one process to start.
type Spec struct {
	Argv []string
	Env  []string
	Dir  string
	// Cred runs the process as another user (nil: corral's own).
	Cred *syscall.Credential
	// Files are the child's descriptors 0..n-1; a nil entry is closed.
	Files []*os.File
	// Foreground makes the child's process group the terminal's foreground
	// group (for the main command when stdin is a terminal).
	Foreground bool
}

// Proc is a started process: the leader of its own process group.
type Proc struct {
	Pid int
	// Exit receives the process's exit status once.
	Exit <-chan plugins.ExitStatus
}

// Spawn starts spec in its own process group, subscribed to the reaper
// before it can exit. The executable is looked up in spec.Env's PATH.
func Spawn(spec Spec) (Proc, error) {
	if len(spec.Argv) == 0 {
		return Proc{}, errors.New("empty command")
	}
	pathEnv, _ := execpath.LookupEnv(spec.Env, "PATH")
	path, err := execpath.Look(spec.Argv[0], pathEnv, spec.Dir)
	if err != nil {
		return Proc{}, err
	}
	fds := make([]uintptr, len(spec.Files))
	for i, f := range spec.Files {
		if f == nil {
			fds[i] = ^uintptr(0) // closed in the child
			continue
		}
		fds[i] = f.Fd()
	}
	sys := &syscall.SysProcAttr{Setpgid: true, Credential: spec.Cred}
	if spec.Foreground {
		sys.Foreground = true
		sys.Ctty = 0
	}
	attr := &syscall.ProcAttr{Dir: spec.Dir, Env: spec.Env, Files: fds, Sys: sys}
	pid, exit, err := fork(func() (int, error) {
		return syscall.ForkExec(path, spec.Argv, attr)
	})
	if err != nil {
		return Proc{}, fmt.Errorf("starting %s: %w", spec.Argv[0], err)
	}
	return Proc{Pid: pid, Exit: exit}, nil
}
