package applets

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/corralhq/corral/control"
)

// svcSignals are s6-svc's signal letters: to the process (lower case and
// digits) or to its process group (upper case).
var svcSignals = map[byte]syscall.Signal{
	'a': syscall.SIGALRM, 'b': syscall.SIGABRT, 'q': syscall.SIGQUIT, 'h': syscall.SIGHUP,
	'k': syscall.SIGKILL, 't': syscall.SIGTERM, 'i': syscall.SIGINT, '1': syscall.SIGUSR1,
	'2': syscall.SIGUSR2, 'p': syscall.SIGSTOP, 'c': syscall.SIGCONT, 'y': syscall.SIGWINCH,
	'P': syscall.SIGSTOP, 'C': syscall.SIGCONT, 'K': syscall.SIGKILL,
}

// svcAction is one letter of s6-svc's command line.
type svcAction struct {
	letter byte
	sig    syscall.Signal
}

// svc is s6-svc [-wu|-wU|-wd|-wD|-wr|-wR] [-T ms] [-s sig|-abqhkti12pcyrlPCK]
// [-oduDUxOQ] servicedir...: it controls corral's service of each
// directory through the control socket. Without -w it returns at once, as
// s6-svc does (starts and stops complete in the background).
func svc(argv []string) int {
	const prog, u = "s6-svc", "s6-svc [ -wu | -wU | -wd | -wD | -wr | -wR ] [ -T timeout ] [ -s signal | -abqhkti12pcyrlPCK ] [ -oduDUxOQ ] servicedir..."
	var actions []svcAction
	var wait byte
	timeout := 0
	g := getopt{args: argv[1:], spec: "abqhkti12pcyrlPCKoduDUxOQw:T:s:"}
	for {
		opt, arg, err := g.next()
		if err != nil {
			return usage(prog, u)
		}
		if opt == 0 {
			break
		}
		switch opt {
		case 'w':
			if len(arg) != 1 || !strings.Contains("uUdDrR", arg) {
				return usage(prog, u)
			}
			wait = arg[0]
		case 'T':
			n, err := strconv.Atoi(arg)
			if err != nil || n < 0 {
				return usage(prog, u)
			}
			timeout = n
		case 's':
			sig, err := control.ParseSignal(arg)
			if err != nil {
				return fatalf(100, prog, "%v", err)
			}
			actions = append(actions, svcAction{letter: 's', sig: sig})
		default:
			actions = append(actions, svcAction{letter: opt, sig: svcSignals[opt]})
		}
	}
	dirs := g.rest()
	if len(dirs) == 0 {
		return usage(prog, u)
	}
	c := client()
	code := 0
	for _, dir := range dirs {
		if r := svcOne(prog, c, dir, actions, wait, timeout); r > code {
			code = r
		}
	}
	return code
}

// svcOne applies actions to one service directory.
func svcOne(prog string, c *control.Client, dir string, actions []svcAction, wait byte, timeoutMS int) int {
	name, err := serviceName(dir)
	if err != nil {
		return fatalf(102, prog, "%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), ctxTimeout)
	defer cancel()
	before, err := status(ctx, c, name)
	if err != nil {
		if errors.Is(err, errNoService) {
			return fatalf(102, prog, "unable to control %s: %v", dir, err)
		}
		return fatalf(111, prog, "unable to control %s: %v", dir, err)
	}
	sync := wait != 0
	for _, a := range actions {
		switch a.letter {
		case 'u', 'U', 'o':
			if a.letter == 'o' {
				warnf(prog, "%s: -o (once) is run as -u: corral will restart it if it exits", dir)
			}
			if a.letter == 'U' {
				os.Remove(filepath.Join(dir, "down"))
			}
			if err := svcRequest(c, true, name, sync); err != nil {
				return fatalf(111, prog, "unable to start %s: %v", dir, err)
			}
		case 'd', 'D':
			if a.letter == 'D' {
				if f, err := os.Create(filepath.Join(dir, "down")); err == nil {
					f.Close()
				}
			}
			if err := svcRequest(c, false, name, sync); err != nil {
				return fatalf(111, prog, "unable to stop %s: %v", dir, err)
			}
		case 'r':
			if isUp(before) {
				sig := dirSignal(dir, "down-signal", syscall.SIGTERM)
				if err := signalService(ctx, c, name, before.PID, sig, false); err != nil {
					return fatalf(111, prog, "unable to signal %s: %v", dir, err)
				}
				_ = syscall.Kill(before.PID, syscall.SIGCONT)
			}
		case 'l':
			if isUp(before) {
				sig := dirSignal(dir, "reload-signal", syscall.SIGHUP)
				if err := signalService(ctx, c, name, before.PID, sig, false); err != nil {
					return fatalf(111, prog, "unable to signal %s: %v", dir, err)
				}
			}
		case 'x':
			warnf(prog, "%s: -x ignored: corral's supervision does not end per service", dir)
		case 'O', 'Q':
			warnf(prog, "%s: -%c is not supported: corral restarts a longrun that exits (use -d to stop it)", dir, a.letter)
		default:
			if isUp(before) {
				group := a.letter >= 'A' && a.letter <= 'Z'
				if err := signalService(ctx, c, name, before.PID, a.sig, group); err != nil {
					return fatalf(111, prog, "unable to signal %s: %v", dir, err)
				}
			}
		}
	}
	if wait == 0 {
		return 0
	}
	wctx := context.Background()
	if timeoutMS > 0 {
		var wcancel context.CancelFunc
		wctx, wcancel = context.WithTimeout(wctx, time.Duration(timeoutMS)*time.Millisecond)
		defer wcancel()
	}
	ok, err := poll(wctx, c, []string{name}, func(sts []control.ServiceStatus) bool {
		return reached(wait, before, sts[0])
	})
	if err != nil {
		return fatalf(102, prog, "%v", err)
	}
	if !ok {
		return fatalf(1, prog, "timed out waiting for %s", dir)
	}
	return 0
}

// reached reports whether st shows the event s6's -w letter waits for.
func reached(w byte, before, st control.ServiceStatus) bool {
	restarted := !st.Started.Equal(before.Started) || st.PID != before.PID
	switch w {
	case 'u':
		return isUp(st)
	case 'U':
		return isReady(st)
	case 'd':
		return !isUp(st)
	case 'D':
		return !isUp(st) && st.State != control.Stopping
	case 'r':
		return restarted && isUp(st)
	case 'R':
		return restarted && isReady(st)
	}
	return true
}

// signalService sends sig to the service's process (through corral), or
// to its process group directly (the service leads its own group).
func signalService(ctx context.Context, c *control.Client, name string, pid int, sig syscall.Signal, group bool) error {
	if group {
		return syscall.Kill(-pid, sig)
	}
	res, err := c.Signal(ctx, strconv.Itoa(int(sig)), name)
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Code != control.CodeOK && r.Code != control.CodeNotRunning {
			return fmt.Errorf("%s", r.Error)
		}
	}
	return nil
}

// dirSignal reads a signal file of the service directory (down-signal,
// reload-signal), or returns def.
func dirSignal(dir, file string, def syscall.Signal) syscall.Signal {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return def
	}
	if sig, err := control.ParseSignal(strings.TrimSpace(string(b))); err == nil {
		return sig
	}
	return def
}

// svcRequest starts or stops a service. Synchronously (-w), it waits until
// corral has done it; otherwise corral answers once it took the request, as
// s6-svc only writes to the supervisor's fifo: the order of two s6-svc calls
// is kept, and a finish script can stop its own service without waiting
// for itself.
func svcRequest(c *control.Client, up bool, name string, sync bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), ctxTimeout)
	defer cancel()
	var res []control.Result
	var err error
	switch {
	case !sync:
		res, err = c.Request(ctx, up, name)
	case up:
		res, err = c.Start(ctx, name)
	default:
		res, err = c.Stop(ctx, name)
	}
	if err != nil {
		return err
	}
	for _, r := range res {
		switch r.Code {
		case control.CodeOK, control.CodeAlreadyStarted, control.CodeNotRunning, control.CodeAbnormal:
		default:
			return fmt.Errorf("%s", r.Error)
		}
	}
	return nil
}
