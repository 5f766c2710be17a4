package applets

import (
	"context"
	"fmt"
	"strconv"

	"github.com/corralhq/corral/control"
	"github.com/corralhq/corral/s6"
)

// svscanctl is s6-svscanctl [-zabhitqnN] scandir: -t, -i and -q stop the
// container (through corral's orderly shutdown, so cont-finish.d still
// runs, unlike with s6-overlay); -a, -h, -n and -N reread the service
// trees and apply the changes.
func svscanctl(argv []string) int {
	const prog, u = "s6-svscanctl", "s6-svscanctl [ -zabhitqnN ] scandir"
	var letters []byte
	g := getopt{args: argv[1:], spec: "zabhitqnNoOdDuUrRsSxXy"}
	for {
		opt, _, err := g.next()
		if err != nil {
			return usage(prog, u)
		}
		if opt == 0 {
			break
		}
		letters = append(letters, opt)
	}
	if len(g.rest()) != 1 {
		return usage(prog, u)
	}
	c := client()
	ctx, cancel := context.WithTimeout(context.Background(), ctxTimeout)
	defer cancel()
	for _, l := range letters {
		switch l {
		case 't', 'i', 'q':
			if err := c.Shutdown(ctx); err != nil {
				return fatalf(111, prog, "unable to control %s: %v", g.rest()[0], err)
			}
		case 'a', 'h', 'n', 'N':
			if _, err := c.Update(ctx); err != nil {
				return fatalf(111, prog, "unable to control %s: %v", g.rest()[0], err)
			}
		default:
			warnf(prog, "-%c ignored: it has no meaning for corral", l)
		}
	}
	return 0
}

// halt stops the container (/run/s6/basedir/bin/halt): corral's orderly
// shutdown; with no main command the exit code is the content of
// /run/s6-linux-init-container-results/exitcode.
func halt(argv []string) int {
	prog := argv[0]
	ctx, cancel := context.WithTimeout(context.Background(), ctxTimeout)
	defer cancel()
	if err := client().Shutdown(ctx); err != nil {
		return fatalf(111, prog, "unable to halt: %v", err)
	}
	return 0
}

// rc is s6-rc [-v verbosity] [-t timeout] [-n dryrunthrottle] [-u|-d|-D]
// [-a] change|list [services...]: change brings the services (bundles
// expanded) up with their dependencies, or down with their dependents, in
// order; list prints the atomic services of the names (with -a: the ones
// that are up).
func rc(argv []string) int {
	const prog, u = "s6-rc", "s6-rc [ -v verbosity ] [ -t timeout ] [ -u | -d | -D ] [ -a ] change|list [ servicenames... ]"
	up, all := true, false
	timeout := 0
	g := getopt{args: argv[1:], spec: "v:t:n:l:udDapb"}
	for {
		opt, arg, err := g.next()
		if err != nil {
			return usage(prog, u)
		}
		if opt == 0 {
			break
		}
		switch opt {
		case 'u':
			up = true
		case 'd', 'D':
			up = false
		case 'a':
			all = true
		case 't':
			n, err := strconv.Atoi(arg)
			if err != nil {
				return usage(prog, u)
			}
			timeout = n
		}
	}
	rest := g.rest()
	if len(rest) == 0 {
		return usage(prog, u)
	}
	cfg := s6.ReadConfig(s6var, s6var)
	tree := s6.Read(s6.Layout{Profile: cfg.RuntimeProfile}, Provided)
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeoutMS(timeout))
		defer cancel()
	}
	c := client()
	switch rest[0] {
	case "list":
		if all {
			sr, err := c.Status(ctx)
			if err != nil {
				return fatalf(111, prog, "%v", err)
			}
			for _, st := range sr.Services {
				if st.State == control.Running || (st.Type == "oneshot" && st.State == control.Exited && st.LastExit != nil && st.LastExit.Success()) {
					fmt.Println(st.Name)
				}
			}
			return 0
		}
		names, err := s6.Plan(tree, cfg, rest[1:], true)
		if err != nil {
			return fatalf(100, prog, "%v", err)
		}
		for _, n := range names {
			fmt.Println(n)
		}
		return 0
	case "change":
	default:
		return usage(prog, u)
	}
	names, err := s6.Plan(tree, cfg, rest[1:], up)
	if err != nil {
		return fatalf(100, prog, "%v", err)
	}
	code := 0
	for _, n := range names {
		if st, err := status(ctx, c, n); err == nil {
			// s6-rc acts only on services not already in the wanted state:
			// a oneshot that succeeded is up (its up is not run again).
			oneshotUp := st.Type == "oneshot" && st.State == control.Exited && st.LastExit != nil && st.LastExit.Success()
			if up && (oneshotUp || isUp(st)) || !up && !oneshotUp && !isUp(st) && !wantUp(st) {
				continue
			}
		}
		var res []control.Result
		if up {
			res, err = c.Start(ctx, n)
		} else {
			res, err = c.Stop(ctx, n)
		}
		if err != nil {
			if ctx.Err() != nil {
				return fatalf(2, prog, "timed out")
			}
			return fatalf(111, prog, "%v", err)
		}
		for _, r := range res {
			switch r.Code {
			case control.CodeOK, control.CodeAlreadyStarted, control.CodeNotRunning:
			default:
				warnf(prog, "unable to %s service %s: %s", map[bool]string{true: "start", false: "stop"}[up], n, r.Error)
				code = 1
			}
		}
	}
	return code
}
