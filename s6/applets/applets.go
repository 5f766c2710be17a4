// Package applets holds the commands s6-overlay images call, built into
// corral: one binary, run by name through links (/command/with-contenv,
// /usr/bin/s6-svc...) or as `corral --applet NAME ARGS...`.
//
// The environment ones (with-contenv, printcontenv, s6-envdir), the
// privilege ones (s6-setuidgid, s6-envuidgid, s6-applyuidgid), execline's
// cd and fdmove, with-retries and s6-notifyoncheck work as their s6
// namesakes do. The supervision ones (s6-svc, s6-svstat, s6-svwait,
// s6-svok, s6-svscanctl, s6-rc, halt) talk to corral over its control
// socket: /run/service/<name> names the service <name>. The internal
// ones (s6-cont-init, s6-cont-finish, s6-fix-attrs, true) are the steps
// of s6-overlay's stage 2 that corral runs as services.
package applets

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/corralhq/corral/internal/execpath"
)

// Func runs an applet; argv[0] is the name it was called by. It returns
// the exit code (an applet that execs another program does not return).
type Func func(argv []string) int

// Applet is one command.
type Applet struct {
	// Run is the command.
	Run Func
	// Internal applets are only run by corral itself: no link is made.
	Internal bool
	// Dirs are where the links go, besides /command.
	Dirs []string
}

// The directories images call the commands from.
const (
	// CommandDir is s6-overlay's /command.
	CommandDir = "/command"
	// UsrBin is /usr/bin (s6-overlay's optional symlink tarballs).
	UsrBin = "/usr/bin"
	// OverlayCommandDir is /package/admin/s6-overlay/command.
	OverlayCommandDir = "/package/admin/s6-overlay/command"
	// BasedirBin is /run/s6/basedir/bin (halt).
	BasedirBin = "/run/s6/basedir/bin"
)

var (
	overlay = []string{UsrBin, OverlayCommandDir}
	usrBin  = []string{UsrBin}
)

// registry holds the applets; filled by init, as some applets consult it.
var registry map[string]Applet

func init() {
	registry = map[string]Applet{
		"with-contenv":     {Run: withContenv, Dirs: overlay},
		"printcontenv":     {Run: printContenv, Dirs: overlay},
		"with-retries":     {Run: withRetries, Dirs: overlay},
		"s6-envdir":        {Run: envdir, Dirs: usrBin},
		"s6-setuidgid":     {Run: setuidgid, Dirs: usrBin},
		"s6-envuidgid":     {Run: envuidgid, Dirs: usrBin},
		"s6-applyuidgid":   {Run: applyuidgid, Dirs: usrBin},
		"s6-notifyoncheck": {Run: notifyOnCheck, Dirs: usrBin},
		"cd":               {Run: cd},
		"fdmove":           {Run: fdmove},
		"s6-svc":           {Run: svc, Dirs: usrBin},
		"s6-svstat":        {Run: svstat, Dirs: usrBin},
		"s6-svwait":        {Run: svwait, Dirs: usrBin},
		"s6-svok":          {Run: svok, Dirs: usrBin},
		"s6-svscanctl":     {Run: svscanctl, Dirs: usrBin},
		"s6-rc":            {Run: rc, Dirs: usrBin},
		"halt":             {Run: halt, Dirs: []string{BasedirBin}},
		"poweroff":         {Run: halt, Dirs: []string{BasedirBin}},
		"reboot":           {Run: halt, Dirs: []string{BasedirBin}},

		"true":                  {Run: func([]string) int { return 0 }, Internal: true},
		"s6-cont-init":          {Run: contInit, Internal: true},
		"s6-cont-finish":        {Run: contFinish, Internal: true},
		"s6-fix-attrs":          {Run: fixAttrs, Internal: true},
		"s6-notifyoncheck-poll": {Run: notifyPoll, Internal: true},
	}
}

// Lookup returns the applet called name.
func Lookup(name string) (Applet, bool) {
	a, ok := registry[name]
	return a, ok
}

// Provided reports whether corral provides a public command called name
// (for execline.Parse: a script starting with it runs directly).
func Provided(name string) bool {
	a, ok := registry[name]
	return ok && !a.Internal
}

// Names returns the public applets, sorted.
func Names() []string {
	var out []string
	for n, a := range registry {
		if !a.Internal {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Link is a link to make: Path -> corral's executable.
type Link struct {
	Name, Path string
}

// Links returns every link the public applets need, under root ("/" in
// images): /command/<name> for each, and the extra directories it is
// called from.
func Links(root string) []Link {
	var out []Link
	for _, n := range Names() {
		a := registry[n]
		dirs := a.Dirs
		if len(dirs) == 0 || dirs[0] != BasedirBin {
			dirs = append([]string{CommandDir}, dirs...)
		}
		for _, d := range dirs {
			out = append(out, Link{Name: n, Path: filepath.Join(root, d, n)})
		}
	}
	return out
}

// InstallLinks makes each missing link a symlink to exe, creating the
// directories; an existing file (a real s6 tool, linuxserver's own
// with-contenv) is left alone. It returns the links made and the errors,
// each naming its path.
func InstallLinks(root, exe string) (made []string, errs []error) {
	for _, l := range Links(root) {
		if _, err := os.Lstat(l.Path); err == nil {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(l.Path), 0o755); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := os.Symlink(exe, l.Path); err != nil {
			errs = append(errs, err)
			continue
		}
		made = append(made, l.Path)
	}
	return made, errs
}

// Run dispatches argv to the public applet named by argv[0]'s base name
// (a link such as /command/with-contenv); ok is false when there is none.
func Run(argv []string) (code int, ok bool) {
	a, found := registry[filepath.Base(argv[0])]
	if !found || a.Internal {
		return 0, false
	}
	argv = append([]string{filepath.Base(argv[0])}, argv[1:]...)
	return a.Run(argv), true
}

// RunNamed runs the applet name (public or internal) with args, as
// `corral --applet name args...` does; ok is false when there is none.
func RunNamed(name string, args []string) (code int, ok bool) {
	a, found := registry[name]
	if !found {
		return 0, false
	}
	return a.Run(append([]string{name}, args...)), true
}

// fatalf prints "prog: fatal: ..." and returns code, as skarnet's tools.
func fatalf(code int, prog, format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "%s: fatal: %s\n", prog, fmt.Sprintf(format, args...))
	return code
}

// warnf prints "prog: warning: ...".
func warnf(prog, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s: warning: %s\n", prog, fmt.Sprintf(format, args...))
}

// usage prints the usage line and returns 100.
func usage(prog, u string) int {
	fmt.Fprintf(os.Stderr, "%s: usage: %s\n", prog, u)
	return 100
}

// execve execs argv[0] (looked up in env's PATH) with env. It returns only
// on failure: 127 for not found, 126 otherwise, as a shell does.
func execve(prog string, argv, env []string) int {
	if len(argv) == 0 {
		return usage(prog, prog+" ... prog...")
	}
	path, err := lookPath(argv[0], pathOf(env))
	if err == nil {
		err = syscall.Exec(path, argv, env)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return fatalf(127, prog, "unable to exec %s: %v", argv[0], err)
	}
	return fatalf(126, prog, "unable to exec %s: %v", argv[0], err)
}

// pathOf is env's PATH.
func pathOf(env []string) string {
	p, _ := execpath.LookupEnv(env, "PATH")
	return p
}

// lookPath finds file in the colon-separated path, as execvp does.
func lookPath(file, path string) (string, error) { return execpath.Look(file, path, "") }

// envSet returns env with key set to value (or removed when unset).
func envSet(env []string, key, value string, unset bool) []string {
	out := env[:0:0]
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k != key {
			out = append(out, kv)
		}
	}
	if !unset {
		out = append(out, key+"="+value)
	}
	return out
}
