package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/corralhq/corral/internal/execpath"
	"github.com/corralhq/corral/s6"
	"github.com/corralhq/corral/s6/applets"
	"github.com/corralhq/corral/s6/contenv"
	"github.com/corralhq/corral/services"
)

// s6Compat is corral as a drop-in for s6-overlay: the boot steps of
// s6-overlay's stages 1 and 2 (s6boot.go), the reading of the s6 trees
// merged with corral's own service files (load), and s6-overlay's exit
// code rules (exitCode).
type s6Compat struct {
	log    *slog.Logger
	layout s6.Layout
	cfg    s6.Config
	// exe is corral's executable, which runs the applets.
	exe string
	// servicesDir holds corral's own *.toml files (next to the s6 dirs).
	servicesDir string
	// execlineb is the path of execlineb, or "".
	execlineb string
	// reported remembers the warnings already logged, so that a reread
	// does not repeat them.
	reported map[string]bool
	// bootNames are the s6 services started at boot (for watchStage2).
	bootNames []string
	// stage2Code is the exit code of a stage-2 failure that stopped the
	// container (0: none).
	stage2Code atomic.Int32
	// runNoexec is set when /run is mounted noexec.
	runNoexec bool
	// loadMu serialises load: it rewrites live directories and c.reported.
	loadMu sync.Mutex
	// gated is set when the engine asks mainGate before the main command.
	gated bool
	// sup is the engine, for the stage-2 checks.
	sup stage2Watch
	// mu guards bootNames (load runs in the engine, watchStage2 apart).
	mu sync.Mutex
}

// s6Wanted tells whether corral runs in s6-overlay mode: mode is "on",
// "off" or "auto" (--s6, CORRAL_S6); auto is on when the image has an
// s6-overlay tree or sets an S6_* variable.
func s6Wanted(mode string, l s6.Layout) (bool, error) {
	switch mode {
	case "on", "1", "true":
		return true, nil
	case "off", "0", "false":
		return false, nil
	case "auto", "":
	default:
		return false, fmt.Errorf("bad --s6 %q: want auto, on or off", mode)
	}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "S6_") {
			return true, nil
		}
	}
	for _, d := range []string{l.SourceDir(), l.BundleDir(), l.ContInitDir(), l.ContFinishDir(), l.FixAttrsDir()} {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return true, nil
		}
	}
	ents, _ := os.ReadDir(l.ServicesDir())
	for _, e := range ents {
		if st, err := os.Stat(filepath.Join(l.ServicesDir(), e.Name())); err == nil && st.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			return true, nil
		}
	}
	return false, nil
}

// newS6Compat prepares the compat layer; boot does the work.
func newS6Compat(log *slog.Logger, servicesDir string) (*s6Compat, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding corral's executable: %w", err)
	}
	return &s6Compat{log: log, layout: s6.DefaultLayout, exe: exe, servicesDir: servicesDir, reported: map[string]bool{}}, nil
}

// lookupContEnv reads the container environment as s6-overlay's stage 2
// does (printcontenv).
func (c *s6Compat) lookupContEnv(key string) (string, bool) {
	if c.cfg.KeepEnv {
		return os.LookupEnv(key)
	}
	return contenv.Lookup(c.layout.ContainerEnvDir(), key)
}

// load reads corral's service files and the s6 trees into one set. It is
// the engine's Load: called at start and on every reread.
func (c *s6Compat) load(lo services.LoadOptions) (*services.Set, error) {
	// The engine serialises its loads; this holds for other callers too.
	c.loadMu.Lock()
	defer c.loadMu.Unlock()
	tree := s6.Read(c.layout, applets.Provided)
	units, probs := s6.Translate(tree, s6.Options{
		Config:    c.cfg,
		Exe:       c.exe,
		Execlineb: c.execlineb,
		Layout:    c.layout,
		LookPath:  c.lookPath,
		RunNoexec: c.runNoexec,
	})
	if !lo.DryRun {
		probs = append(probs, s6.Materialize(c.layout, units)...)
	}
	bad := map[string]bool{}
	for _, p := range probs {
		if p.Fatal && p.Service != "" {
			bad[p.Service] = true
		}
	}
	// TOML files may come after (or want) the s6 services by name.
	for _, u := range units {
		if !bad[u.Service.Name] {
			lo.Known = append(lo.Known, u.Service.Name)
		}
	}
	set, err := services.Load(c.servicesDir, lo)
	if err != nil {
		return nil, err
	}
	merged := &services.Set{Dir: set.Dir, Errors: set.Errors}
	var boot []string
	names := map[string]string{}
	for _, svc := range set.Services {
		names[svc.Name] = svc.File
	}
	for _, u := range units {
		if bad[u.Service.Name] {
			continue
		}
		if f, dup := names[u.Service.Name]; dup {
			merged.Errors = append(merged.Errors, &services.Error{File: u.Service.File, Service: u.Service.Name,
				Err: fmt.Errorf("service %q is also defined by %s", u.Service.Name, f)})
			continue
		}
		names[u.Service.Name] = u.Service.File
		merged.Services = append(merged.Services, u.Service)
		if u.Service.Autostart {
			boot = append(boot, u.Service.Name)
		}
	}
	c.mu.Lock()
	if c.bootNames == nil {
		c.bootNames = boot
	}
	c.mu.Unlock()
	merged.Services = append(merged.Services, set.Services...)
	merged.Services = services.Order(merged.Services)
	for _, p := range probs {
		if p.Fatal {
			merged.Errors = append(merged.Errors, &services.Error{File: p.Path, Service: p.Service, Err: p.Err})
			continue
		}
		if key := p.Error(); !c.reported[key] {
			c.reported[key] = true
			if p.Note {
				c.log.Info("s6: ignored", "path", p.Path, "reason", p.Err)
			} else {
				c.log.Warn("s6: not honoured", "path", p.Path, "reason", p.Err)
			}
		}
	}
	return merged, nil
}

// lookPath finds a program on the services' PATH.
func (c *s6Compat) lookPath(file string) (string, error) {
	return execpath.Look(file, os.Getenv("PATH"), "")
}

// readExitCode reads s6-overlay's exit code file: its first line, blanks
// trimmed; ok is false when it is missing or not a number.
func readExitCode(path string) (int, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	n, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		return 0, false
	}
	return n & 0xff, true
}

// exitCode is the container's exit code under s6-overlay's rules: the main
// command's when there is one (engineCode), else the content of
// /run/s6-linux-init-container-results/exitcode (written by finish
// scripts, or before /run/s6/basedir/bin/halt), unless corral itself has
// a failure to report and the file says 0.
func (c *s6Compat) exitCode(engineCode int, hasMain bool) int {
	if c.cfg.SyncDisks {
		syncDisks()
	}
	if code := c.stage2Code.Load(); code != 0 {
		return int(code)
	}
	if hasMain {
		return engineCode
	}
	if n, ok := readExitCode(c.layout.ExitCodeFile()); ok && n != 0 {
		return n
	}
	return engineCode
}
