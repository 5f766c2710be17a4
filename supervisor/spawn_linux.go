package supervisor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/corralhq/corral/services"
)

// procSpec describes one process to start.
type procSpec struct {
	argv []string
	env  []string
	dir  string
	cred *services.Credential
	// files are the child's descriptors 0..n-1; a nil entry is closed.
	files []*os.File
	// foreground makes the child's process group the terminal's foreground
	// group (for the main command when stdin is a terminal).
	foreground bool
}

// proc is a started process.
type proc struct {
	pid  int
	exit <-chan ExitStatus
}

// spawn starts spec in its own process group, subscribed to the reaper
// before it can exit.
func (r *Reaper) spawnProc(spec procSpec) (proc, error) {
	if len(spec.argv) == 0 {
		return proc{}, errors.New("empty command")
	}
	path, err := lookPath(spec.argv[0], envValue(spec.env, "PATH"), spec.dir)
	if err != nil {
		return proc{}, err
	}
	fds := make([]uintptr, len(spec.files))
	for i, f := range spec.files {
		if f == nil {
			fds[i] = ^uintptr(0) // closed in the child
			continue
		}
		fds[i] = f.Fd()
	}
	sys := &syscall.SysProcAttr{Setpgid: true}
	if spec.foreground {
		sys.Foreground = true
		sys.Ctty = 0
	}
	if c := spec.cred; c != nil {
		sys.Credential = &syscall.Credential{Uid: c.UID, Gid: c.GID, Groups: c.Groups}
	}
	attr := &syscall.ProcAttr{Dir: spec.dir, Env: spec.env, Files: fds, Sys: sys}
	pid, exit, err := r.Spawn(func() (int, error) {
		return syscall.ForkExec(path, spec.argv, attr)
	})
	if err != nil {
		return proc{}, fmt.Errorf("starting %s: %w", spec.argv[0], err)
	}
	return proc{pid: pid, exit: exit}, nil
}

// lookPath finds file in the colon-separated pathEnv, as execvp would.
func lookPath(file, pathEnv, dir string) (string, error) {
	if strings.Contains(file, "/") {
		p := file
		if !filepath.IsAbs(p) && dir != "" {
			p = filepath.Join(dir, p)
		}
		if err := executable(p); err != nil {
			return "", fmt.Errorf("%s: %w", file, err)
		}
		return file, nil
	}
	if pathEnv == "" {
		pathEnv = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	var firstErr error
	for _, d := range filepath.SplitList(pathEnv) {
		if d == "" {
			d = "."
		}
		p := filepath.Join(d, file)
		err := executable(p)
		if err == nil {
			return p, nil
		}
		if firstErr == nil && !errors.Is(err, fs.ErrNotExist) {
			firstErr = err
		}
	}
	if firstErr != nil {
		return "", fmt.Errorf("%s: %w", file, firstErr)
	}
	return "", fmt.Errorf("%s: executable file not found in $PATH", file)
}

func executable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fs.ErrPermission
	}
	return nil
}

// envValue returns the last value of key in a "K=V" list.
func envValue(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// mergeEnv returns base with extra applied on top ("K=V"; later wins).
func mergeEnv(base []string, extra map[string]string) []string {
	if len(extra) == 0 {
		return base
	}
	out := make([]string, 0, len(base)+len(extra))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if _, over := extra[k]; !over {
			out = append(out, kv)
		}
	}
	for k, v := range extra {
		out = append(out, k+"="+v)
	}
	return out
}

// signalGroup sends sig to process group pgid, ignoring a group that is gone.
func signalGroup(pgid int, sig syscall.Signal) error {
	if pgid <= 0 {
		return nil
	}
	if err := syscall.Kill(-pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signalling process group %d: %w", pgid, err)
	}
	return nil
}
