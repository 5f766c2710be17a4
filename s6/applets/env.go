package applets

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strconv"

	"github.com/corralhq/corral/s6/contenv"
)

// keepEnv is S6_KEEP_ENV as with-contenv reads it: from the caller's
// environment, non-numbers counting as 0.
func keepEnv() bool {
	n, _ := strconv.Atoi(os.Getenv("S6_KEEP_ENV"))
	return n != 0
}

// contEnvDir is where the container environment is.
var contEnvDir = contenv.Dir

// s6var reads an S6_* variable as s6-overlay's scripts do (printcontenv):
// from the container environment, or from the environment with S6_KEEP_ENV.
func s6var(name string) (string, bool) {
	if keepEnv() {
		return os.LookupEnv(name)
	}
	return contenv.Lookup(contEnvDir, name)
}

var numeric = regexp.MustCompile(`^[0-9]+$`)

// s6num reads a numeric S6_* variable; a missing or non-numeric one is def.
func s6num(name string, def int) int {
	v, ok := s6var(name)
	if !ok || !numeric.MatchString(v) {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return def
	}
	return n
}

// withContenv runs a program with the container environment: unless
// S6_KEEP_ENV is set, the caller's environment is dropped except PATH and
// /run/s6/container_environment is read in, every time (scripts may have
// written to it since boot).
func withContenv(argv []string) int {
	const prog = "with-contenv"
	if len(argv) < 2 {
		return usage(prog, "with-contenv prog...")
	}
	if keepEnv() {
		return execve(prog, argv[1:], os.Environ())
	}
	vars, err := contenv.ReadDir(contEnvDir, contenv.ContEnv)
	if err != nil {
		return fatalf(111, prog, "unable to envdir %s: %v", contEnvDir, err)
	}
	var env []string
	if p, ok := os.LookupEnv("PATH"); ok {
		env = []string{"PATH=" + p}
	}
	return execve(prog, argv[1:], contenv.Apply(env, vars))
}

// printContenv prints one variable of the container environment followed
// by a newline; exit 1 when it is not set. (s6-overlay 3.2.2.0+ prints a
// second newline; command substitution drops both.)
func printContenv(argv []string) int {
	const prog = "printcontenv"
	if len(argv) < 2 {
		return fatalf(100, prog, "too few arguments")
	}
	var v string
	var ok bool
	if keepEnv() {
		v, ok = os.LookupEnv(argv[1])
		ok = ok && v != ""
	} else {
		v, ok = contenv.Lookup(contEnvDir, argv[1])
	}
	if !ok {
		return 1
	}
	if _, err := fmt.Fprintln(os.Stdout, v); err != nil {
		return 111
	}
	return 0
}

// envdir is s6-envdir [-I|-i] [-n] [-f] [-L] [-c nullis] dir prog...
func envdir(argv []string) int {
	const prog, u = "s6-envdir", "s6-envdir [ -I | -i ] [ -n ] [ -f ] [ -L ] [ -c nullis ] dir prog..."
	var o contenv.Options
	loose := false
	g := getopt{args: argv[1:], spec: "Iinfc:L"}
	for {
		opt, arg, err := g.next()
		if err != nil {
			return usage(prog, u)
		}
		if opt == 0 {
			break
		}
		switch opt {
		case 'I':
			loose = true
		case 'i':
			loose = false
		case 'n':
			o.NoChomp = true
		case 'f':
			o.Verbatim = true
		case 'L':
			o.NoClamp = true
		case 'c':
			if arg != "" {
				o.NullIs = arg[0]
			}
		}
	}
	rest := g.rest()
	if len(rest) < 2 {
		return usage(prog, u)
	}
	vars, err := contenv.ReadDir(rest[0], o)
	if err != nil {
		if loose && errors.Is(err, fs.ErrNotExist) {
			return execve(prog, rest[1:], os.Environ())
		}
		return fatalf(111, prog, "unable to envdir %s: %v", rest[0], err)
	}
	return execve(prog, rest[1:], contenv.Apply(os.Environ(), vars))
}
