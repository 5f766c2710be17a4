package applets

import (
	"context"
	"os"
	"strconv"
	"time"

	"github.com/corralhq/corral/control"
)

// svwait is s6-svwait [-U|-u|-D|-d|-r|-R] [-a|-o] [-t ms] servicedir...:
// wait until all (-a, the default) or one (-o) of the services is up
// (-u, the default), ready (-U), down (-d), down with finish done (-D),
// restarted (-r) or restarted and ready (-R). Exit 0, or 99 on timeout.
func svwait(argv []string) int {
	const prog, u = "s6-svwait", "s6-svwait [ -U | -u | -D | -d | -r | -R ] [ -a | -o ] [ -t timeout ] servicedir..."
	what, any := byte('u'), false
	timeout := 0
	g := getopt{args: argv[1:], spec: "UuDdrRaot:"}
	for {
		opt, arg, err := g.next()
		if err != nil {
			return usage(prog, u)
		}
		if opt == 0 {
			break
		}
		switch opt {
		case 'a':
			any = false
		case 'o':
			any = true
		case 't':
			n, err := strconv.Atoi(arg)
			if err != nil || n < 0 {
				return usage(prog, u)
			}
			timeout = n
		default:
			what = opt
		}
	}
	dirs := g.rest()
	if len(dirs) == 0 {
		return usage(prog, u)
	}
	names := make([]string, len(dirs))
	for i, d := range dirs {
		n, err := serviceName(d)
		if err != nil {
			return fatalf(102, prog, "%v", err)
		}
		names[i] = n
	}
	c := client()
	ctx := context.Background()
	var before []control.ServiceStatus
	for _, n := range names {
		st, err := status(ctx, c, n)
		if err != nil {
			return fatalf(102, prog, "%v", err)
		}
		before = append(before, st)
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(timeout)*time.Millisecond)
		defer cancel()
	}
	ok, err := poll(ctx, c, names, func(sts []control.ServiceStatus) bool {
		n := 0
		for i, st := range sts {
			if reached(what, before[i], st) {
				n++
			}
		}
		if any {
			return n > 0
		}
		return n == len(sts)
	})
	if err != nil {
		return fatalf(102, prog, "%v", err)
	}
	if !ok {
		os.Stderr.WriteString("s6-svwait: fatal: timed out\n")
		return 99
	}
	return 0
}

// svok is s6-svok servicedir: exit 0 when corral supervises it, else 1.
func svok(argv []string) int {
	const prog = "s6-svok"
	if len(argv) != 2 {
		return usage(prog, "s6-svok servicedir")
	}
	name, err := serviceName(argv[1])
	if err != nil {
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), ctxTimeout)
	defer cancel()
	if _, err := status(ctx, client(), name); err != nil {
		return 1
	}
	return 0
}
