package applets

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// cd is execline's cd dir prog...: chdir, then exec prog.
func cd(argv []string) int {
	const prog = "cd"
	if len(argv) < 3 {
		return usage(prog, "cd dir prog...")
	}
	if err := os.Chdir(argv[1]); err != nil {
		return fatalf(111, prog, "unable to chdir to %s: %v", argv[1], err)
	}
	return execve(prog, argv[2:], os.Environ())
}

// fdmove is execline's fdmove [-c] to from prog...: move descriptor from
// to to (-c: copy it, leaving from open), then exec prog.
func fdmove(argv []string) int {
	const prog, u = "fdmove", "fdmove [ -c ] to from prog..."
	g := getopt{args: argv[1:], spec: "c"}
	copyFD := false
	for {
		opt, _, err := g.next()
		if err != nil {
			return usage(prog, u)
		}
		if opt == 0 {
			break
		}
		copyFD = true
	}
	rest := g.rest()
	if len(rest) < 3 {
		return usage(prog, u)
	}
	to, err1 := strconv.Atoi(rest[0])
	from, err2 := strconv.Atoi(rest[1])
	if err1 != nil || err2 != nil || to < 0 || from < 0 {
		return usage(prog, u)
	}
	if to != from {
		if err := unix.Dup3(from, to, 0); err != nil {
			return fatalf(111, prog, "unable to move fd %d to fd %d: %v", from, to, err)
		}
		if !copyFD {
			unix.Close(from)
		}
	} else if _, err := unix.FcntlInt(uintptr(to), unix.F_SETFD, 0); err != nil {
		return fatalf(111, prog, "unable to use fd %d: %v", from, err)
	}
	return execve(prog, rest[2:], os.Environ())
}
