package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/corralhq/corral/s6"
	"github.com/corralhq/corral/s6/applets"
	"github.com/corralhq/corral/s6/contenv"
	"golang.org/x/sys/unix"
)

// errHalt is returned by boot when stage 2 failed and
// S6_BEHAVIOUR_IF_STAGE2_FAILS=2 stops the container before any service.
type errHalt struct{ code int }

func (e *errHalt) Error() string { return fmt.Sprintf("stage 2 failed: exit code %d", e.code) }

// boot does what s6-overlay does before its services start, in its order:
// /init's PATH and fd-3 sync, preinit's /run, stage 1's environment dump
// and exit code file, the links to corral's applets, then stage 2's hook.
// The S6_* variables are read from the environment, then again from the
// container environment after the hook, which may change them.
func (c *s6Compat) boot() error {
	c.cfg = s6.ReadConfig(os.LookupEnv, os.LookupEnv)
	c.fixPath()
	waitFD3()
	if err := c.prepareRun(); err != nil {
		return err
	}
	c.reportVars()
	if !c.cfg.KeepEnv {
		if err := contenv.Dump(c.layout.ContainerEnvDir(), os.Environ()); err != nil {
			c.log.Warn("s6: container environment", "err", err)
		}
	}
	if wd, err := os.Getwd(); err == nil {
		_ = os.WriteFile(c.layout.WorkdirFile(), []byte(wd), 0o644)
	}
	c.linkApplets()
	// Stage 2 reads its variables with printcontenv.
	c.cfg = s6.ReadConfig(os.LookupEnv, c.lookupContEnv)
	if strings.TrimSpace(c.cfg.StageHook) != "" {
		if err := c.runHook(); err != nil {
			return err
		}
		// The hook may have changed the container environment.
		c.cfg = s6.ReadConfig(os.LookupEnv, c.lookupContEnv)
	}
	c.layout.Profile = c.cfg.RuntimeProfile
	c.execlineb, _ = exec.LookPath("execlineb")
	return nil
}

// fixPath is /init's PATH rule: /bin, /usr/bin and /command are put in
// front, each only if missing, so the result starts /command:/usr/bin:/bin.
func (c *s6Compat) fixPath() {
	path := os.Getenv("PATH")
	if path == "" {
		path = "/bin"
	}
	for _, d := range []string{"/bin", "/usr/bin", applets.CommandDir} {
		if !slices.Contains(filepath.SplitList(path), d) {
			path = d + ":" + path
		}
	}
	os.Setenv("PATH", path)
}

// fd3 is descriptor 3 as corral received it: a pipe or socket that the
// container runtime may use to hold the start back (s6-overlay's /init
// reads one line from it). It is looked at in init, before the Go runtime
// opens descriptors of its own.
var fd3 = func() bool {
	var st unix.Stat_t
	if unix.Fstat(3, &st) != nil {
		return false
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFIFO, unix.S_IFSOCK:
		return true
	}
	return false
}()

// waitFD3 is /init's sync with the container runtime: when descriptor 3
// came open as a pipe or socket, wait for one line (or EOF) on it, then
// close it.
func waitFD3() {
	if !fd3 {
		return
	}
	buf := make([]byte, 1)
	for {
		n, err := unix.Read(3, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 || buf[0] == '\n' {
			break
		}
	}
	unix.Close(3)
}

// prepareRun is preinit's work on /run: with S6_READ_ONLY_ROOT a tmpfs is
// mounted when /run is not writable; /var/run is made a link to /run; what
// a previous run left (docker restart without a tmpfs) is removed; the
// exit code file starts at 0.
func (c *s6Compat) prepareRun() error {
	run := c.layout.RunDir()
	if err := os.MkdirAll(run, 0o755); err != nil {
		return fmt.Errorf("s6: %s: %w", run, err)
	}
	if unix.Access(run, unix.W_OK) != nil && c.cfg.ReadOnlyRoot {
		if err := unix.Mount("tmpfs", run, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755"); err != nil {
			return fmt.Errorf("s6: %s is not writable and mounting a tmpfs on it failed (S6_READ_ONLY_ROOT needs CAP_SYS_ADMIN, or run with --tmpfs /run): %w", run, err)
		}
	}
	varRun := filepath.Join(filepath.Dir(run), "var", "run")
	if c.layout.Root == "" || c.layout.Root == "/" {
		varRun = "/var/run"
	}
	if t, err := filepath.EvalSymlinks(varRun); err != nil || t != run {
		if err := os.RemoveAll(varRun); err == nil {
			if err := os.Symlink(run, varRun); err != nil {
				c.log.Warn("s6: making /var/run a link to /run", "err", err)
			}
		} else {
			c.log.Warn("s6: /var/run is not a link to /run", "err", err)
		}
	}
	matches, _ := filepath.Glob(filepath.Join(run, "s6-rc*"))
	for _, p := range append([]string{c.layout.S6Dir(), c.layout.ScanDir(), filepath.Join(run, "uncaught-logs")}, matches...) {
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("s6: cleaning %s: %w", p, err)
		}
	}
	for _, d := range []string{c.layout.S6Dir(), c.layout.ScanDir(), c.layout.ResultsDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("s6: %w", err)
		}
	}
	if err := os.WriteFile(c.layout.ExitCodeFile(), []byte("0\n"), 0o644); err != nil {
		return fmt.Errorf("s6: %w", err)
	}
	var fs unix.Statfs_t
	if unix.Statfs(run, &fs) == nil && fs.Flags&unix.ST_NOEXEC != 0 {
		// s6-overlay fails here; corral runs the scripts from their source.
		c.runNoexec = true
		c.log.Info("s6: /run is mounted noexec: services run their scripts from /etc", "dir", run)
	}
	return nil
}

// reportVars warns about the S6_* variables corral does not honour.
func (c *s6Compat) reportVars() {
	honoured := map[string]bool{}
	for _, n := range s6.Honoured {
		honoured[n] = true
	}
	var names []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "S6_") && !honoured[k] {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		reason := s6.Unsupported[k]
		if reason == "" {
			reason = "unknown to corral"
		}
		c.log.Warn("s6: variable not honoured", "var", k, "reason", reason)
	}
}

// linkApplets puts the links to corral's applets where images call them,
// when missing, and halt in /run/s6/basedir/bin. On a read-only root the
// links must have been made at build time (corral --install-links).
func (c *s6Compat) linkApplets() {
	made, errs := applets.InstallLinks(c.layout.Root, c.exe)
	if len(made) > 0 {
		c.log.Debug("s6: linked applets", "links", len(made))
	}
	if len(errs) > 0 {
		c.log.Warn("s6: some applet links could not be made (read-only root? run `/init --install-links` at build time)",
			"failed", len(errs), "first", errs[0])
	}
}

// runHook runs S6_STAGE2_HOOK as rc.init does: word-split and globbed (no
// shell), with PATH only (the whole environment with S6_KEEP_ENV), on the
// console. Its failure stops the container with S6_BEHAVIOUR_IF_STAGE2_FAILS
// at 2, and is a warning otherwise. SIGTERM or SIGINT meanwhile ends it and
// the container.
func (c *s6Compat) runHook() error {
	hook := c.cfg.StageHook
	if strings.TrimSpace(hook) == "" {
		return nil
	}
	var argv []string
	for _, w := range strings.Fields(hook) {
		if strings.ContainsAny(w, "*?[") {
			if m, _ := filepath.Glob(w); len(m) > 0 {
				argv = append(argv, m...)
				continue
			}
		}
		argv = append(argv, w)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = c.stageEnv()
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigc)
	if err := cmd.Start(); err != nil {
		return c.hookFailed(hook, 127, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case sig := <-sigc:
		_ = cmd.Process.Signal(sig)
		<-done
		return &errHalt{code: 128 + int(sig.(syscall.Signal))}
	}
	if err == nil {
		if c.cfg.Verbosity >= 2 {
			fmt.Fprintf(os.Stderr, "s6-rc: info: hook %s exited 0\n", hook)
		}
		return nil
	}
	code := 1
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
	}
	return c.hookFailed(hook, code, err)
}

// hookFailed handles a failed hook per S6_BEHAVIOUR_IF_STAGE2_FAILS.
func (c *s6Compat) hookFailed(hook string, code int, err error) error {
	if c.cfg.Behaviour >= 2 {
		fmt.Fprintf(os.Stderr, "s6-overlay: fatal: hook %s exited %d: stopping the container\n", hook, code)
		_ = os.WriteFile(c.layout.ExitCodeFile(), []byte(fmt.Sprintf("%d\n", code)), 0o644)
		return &errHalt{code: code}
	}
	if c.cfg.Verbosity >= 1 {
		fmt.Fprintf(os.Stderr, "s6-overlay: warning: hook %s exited %d (%v)\n", hook, code, err)
	}
	return nil
}

// stageEnv is the environment of stage 2's own processes (the hook, the
// main command): PATH only, or everything with S6_KEEP_ENV.
func (c *s6Compat) stageEnv() []string {
	if c.cfg.KeepEnv {
		return os.Environ()
	}
	return []string{"PATH=" + os.Getenv("PATH")}
}
