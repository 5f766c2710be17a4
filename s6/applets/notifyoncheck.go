package applets

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/corralhq/corral/s6/execline"
	"golang.org/x/sys/unix"
)

// notifyOnCheck is s6-notifyoncheck [-d] [-3 fd] [-s initialsleep]
// [-T globaltimeout] [-t localtimeout] [-w waitingtime] [-n tries]
// [-c checkprog] prog...: prog keeps this process (and its pid); a poller
// runs ./data/check (or checkprog, an execline command line) until it
// succeeds, then writes a newline to the notification descriptor (read
// from ./notification-fd unless -3 is given). It gives up silently after
// -n tries (default 7, 0: forever) and stops when the service dies.
func notifyOnCheck(argv []string) int {
	const prog, u = "s6-notifyoncheck", "s6-notifyoncheck [ -d ] [ -3 notiffd ] [ -s initialsleep ] [ -T globaltimeout ] [ -t localtimeout ] [ -w waitingtime ] [ -n tries ] [ -c \"checkprog...\" ] prog..."
	p := pollSpec{sleep: 10, wait: 1000, tries: 7, fd: -1}
	g := getopt{args: argv[1:], spec: "d3:s:T:t:w:n:c:"}
	for {
		opt, arg, err := g.next()
		if err != nil {
			return usage(prog, u)
		}
		if opt == 0 {
			break
		}
		if opt == 'd' {
			continue // the poller is always detached
		}
		if opt == 'c' {
			p.check = arg
			continue
		}
		n, err := strconv.Atoi(arg)
		if err != nil || n < 0 {
			return usage(prog, u)
		}
		switch opt {
		case '3':
			p.fd = n
		case 's':
			p.sleep = n
		case 'T':
			p.global = n
		case 't':
			p.local = n
		case 'w':
			p.wait = n
		case 'n':
			p.tries = n
		}
	}
	rest := g.rest()
	if len(rest) == 0 {
		return usage(prog, u)
	}
	if p.fd < 0 {
		b, err := os.ReadFile("notification-fd")
		if err != nil {
			return fatalf(100, prog, "unable to read ./notification-fd (run it from the service directory, or give -3): %v", err)
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || n < 0 {
			return fatalf(100, prog, "./notification-fd: not a descriptor number: %q", strings.TrimSpace(string(b)))
		}
		p.fd = n
	}
	if _, err := unix.FcntlInt(uintptr(p.fd), unix.F_GETFD, 0); err != nil {
		return fatalf(100, prog, "notification fd %d is not open", p.fd)
	}
	if p.check == "" {
		if _, err := os.Stat("data/check"); err != nil {
			return fatalf(100, prog, "no -c option and no ./data/check: %v", err)
		}
	}
	if err := p.spawn(); err != nil {
		return fatalf(111, prog, "unable to start the poller: %v", err)
	}
	unix.Close(p.fd)
	return execve(prog, rest, os.Environ())
}

// pollSpec is what the poller needs; times are in milliseconds.
type pollSpec struct {
	fd                         int
	sleep, global, local, wait int
	tries                      int
	check                      string
}

func (p pollSpec) args(pid int) []string {
	return []string{
		strconv.Itoa(pid), strconv.Itoa(p.sleep), strconv.Itoa(p.global), strconv.Itoa(p.local),
		strconv.Itoa(p.wait), strconv.Itoa(p.tries), p.check,
	}
}

// spawn starts the poller, detached: through an intermediate process that
// exits at once, so that the poller is not prog's child (prog may not reap
// unknown children) but PID 1's, which reaps everything.
func (p pollSpec) spawn() error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := &exec.Cmd{
		Path:       exe,
		Args:       append([]string{exe, "--applet", "s6-notifyoncheck-poll", "detach"}, p.args(os.Getpid())...),
		ExtraFiles: []*os.File{os.NewFile(uintptr(p.fd), "notification-fd")},
		Stderr:     os.Stderr,
	}
	return cmd.Run()
}

// notifyPoll is the internal side of s6-notifyoncheck. "detach" starts the
// real poller (left to corral, in the service's process group) and returns;
// "poll" polls. The
// notification descriptor is fd 3.
func notifyPoll(argv []string) int {
	const prog = "s6-notifyoncheck"
	if len(argv) != 9 {
		return usage(prog, "s6-notifyoncheck-poll detach|poll pid sleep global local wait tries check")
	}
	if argv[1] == "detach" {
		exe, err := os.Executable()
		if err != nil {
			return fatalf(111, prog, "%v", err)
		}
		cmd := &exec.Cmd{
			Path:       exe,
			Args:       append([]string{exe, "--applet", "s6-notifyoncheck-poll", "poll"}, argv[2:]...),
			ExtraFiles: []*os.File{os.NewFile(3, "notification-fd")},
			Stderr:     os.Stderr,
			// In the service's process group, as s6-notifyoncheck's own
			// child is: stopping the service stops the poller too.
		}
		if err := cmd.Start(); err != nil {
			return fatalf(111, prog, "%v", err)
		}
		return 0
	}
	n := make([]int, 6)
	for i := range n {
		v, err := strconv.Atoi(argv[2+i])
		if err != nil {
			return usage(prog, "bad number "+argv[2+i])
		}
		n[i] = v
	}
	pid, sleep, global, local, wait, tries := n[0], n[1], n[2], n[3], n[4], n[5]
	check := argv[8]
	notify := os.NewFile(3, "notification-fd")
	argvCheck, err := checkArgv(check)
	if err != nil {
		return fatalf(100, prog, "%v", err)
	}
	var deadline time.Time
	if global > 0 {
		deadline = time.Now().Add(time.Duration(global) * time.Millisecond)
	}
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	time.Sleep(ms(sleep))
	for try := 0; tries == 0 || try < tries; try++ {
		if !alive(pid) || (!deadline.IsZero() && time.Now().After(deadline)) {
			return 1
		}
		if runCheck(argvCheck, ms(local)) {
			if _, err := notify.Write([]byte("\n")); err != nil {
				return 111
			}
			return 0
		}
		time.Sleep(ms(wait))
	}
	return 1
}

// checkArgv is the command a check runs: ./data/check, or the -c command
// line lexed as execline does (handed to execlineb when it needs it).
func checkArgv(check string) ([]string, error) {
	if check == "" {
		return []string{"./data/check"}, nil
	}
	s, err := execline.Parse(check, Provided)
	if err != nil {
		return nil, fmt.Errorf("-c %q: %w", check, err)
	}
	eb, _ := lookPath("execlineb", os.Getenv("PATH"))
	argv, err := s.Command(eb)
	if err != nil {
		return nil, fmt.Errorf("-c %q: %w", check, err)
	}
	if len(argv) == 0 {
		return []string{os.Args[0], "--applet", "true"}, nil
	}
	return argv, nil
}

// runCheck runs one check; it succeeds on exit 0 within limit (0: none).
func runCheck(argv []string, limit time.Duration) bool {
	ctx := context.Background()
	if limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run() == nil
}

// alive reports whether pid still runs (and is not a zombie).
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	if err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}
