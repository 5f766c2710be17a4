package applets

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/corralhq/corral/control"
	"golang.org/x/sys/unix"
)

// svstat is s6-svstat [-uwNrpgest | -o fields] [-n] servicedir: the
// service's state in s6's format, from corral's status.
func svstat(argv []string) int {
	const prog, u = "s6-svstat", "s6-svstat [ -uwNrpgest | -o up,wantedup,normallyup,ready,paused,pid,pgid,exitcode,signal,signum,updownsince,readysince,updownfor,readyfor ] [ -n ] servicedir"
	var fields []string
	numeric := false
	short := map[byte]string{'u': "up", 'w': "wantedup", 'N': "normallyup", 'r': "ready", 'p': "pid", 'g': "pgid", 'e': "exitcode", 's': "signal", 't': "updownfor"}
	g := getopt{args: argv[1:], spec: "no:uwNrpgest"}
	for {
		opt, arg, err := g.next()
		if err != nil {
			return usage(prog, u)
		}
		if opt == 0 {
			break
		}
		switch opt {
		case 'n':
			numeric = true
		case 'o':
			for _, f := range strings.Split(arg, ",") {
				if !svstatFields[f] {
					return fatalf(100, prog, "invalid option field: %s", f)
				}
				fields = append(fields, f)
			}
		default:
			fields = append(fields, short[opt])
		}
	}
	rest := g.rest()
	if len(rest) == 0 {
		return usage(prog, u)
	}
	dir := rest[0]
	name, err := serviceName(dir)
	if err != nil {
		return fatalf(1, prog, "unable to read status for %s: %v", dir, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), ctxTimeout)
	defer cancel()
	st, err := status(ctx, client(), name)
	if err != nil {
		if errors.Is(err, errNoService) {
			return fatalf(1, prog, "unable to read status for %s: s6-supervise not running", dir)
		}
		return fatalf(111, prog, "unable to read status for %s: %v", dir, err)
	}
	_, derr := os.Stat(filepath.Join(dir, "down"))
	normallyUp := os.IsNotExist(derr)
	now := time.Now()
	var line string
	if len(fields) == 0 {
		line = svstatHuman(st, normallyUp, numeric, now)
	} else {
		vals := make([]string, len(fields))
		for i, f := range fields {
			vals[i] = svstatField(f, st, normallyUp, now)
		}
		line = strings.Join(vals, " ")
	}
	fmt.Println(line)
	return 0
}

var svstatFields = map[string]bool{
	"up": true, "wantedup": true, "normallyup": true, "ready": true, "paused": true, "pid": true,
	"pgid": true, "exitcode": true, "signal": true, "signum": true, "updownsince": true,
	"readysince": true, "updownfor": true, "readyfor": true,
}

// stamps returns when the service last went up or down, and when it
// became ready (for a down service: when it went down, as s6's finish
// done).
func stamps(st control.ServiceStatus) (updown, ready time.Time) {
	if isUp(st) {
		updown = st.Started
		ready = st.Since
	} else {
		updown = st.Stopped
		if updown.IsZero() {
			updown = st.Since
		}
		ready = updown
	}
	return updown, ready
}

func seconds(now, t time.Time) int64 {
	d := now.Sub(t)
	if d < 0 {
		return 0
	}
	return int64(d / time.Second)
}

// svstatHuman is s6-svstat's line without options, as in s6 2.13:
// "up (pid 123 pgid 123) 45 seconds, ready 44 seconds".
func svstatHuman(st control.ServiceStatus, normallyUp, numeric bool, now time.Time) string {
	var b strings.Builder
	up := isUp(st)
	updown, ready := stamps(st)
	if up {
		fmt.Fprintf(&b, "up (pid %d pgid %d) ", st.PID, st.PID)
	} else {
		b.WriteString("down (")
		switch {
		case notStartedYet(st):
			b.WriteString("not started yet")
		case st.LastExit != nil && st.LastExit.Signal != 0:
			if numeric {
				fmt.Fprintf(&b, "signal %d", int(st.LastExit.Signal))
			} else {
				fmt.Fprintf(&b, "signal %s", unix.SignalName(st.LastExit.Signal))
			}
		case st.LastExit != nil:
			fmt.Fprintf(&b, "exitcode %d", st.LastExit.Code)
		default:
			b.WriteString("exitcode 0")
		}
		b.WriteString(") ")
	}
	if !notStartedYet(st) {
		fmt.Fprintf(&b, "%d seconds", seconds(now, updown))
	}
	if up && !normallyUp {
		b.WriteString(", normally down")
	}
	if !up && normallyUp {
		b.WriteString(", normally up")
	}
	if !up && wantUp(st) {
		b.WriteString(", want up")
	}
	if up && !wantUp(st) {
		b.WriteString(", want down")
	}
	if !notStartedYet(st) && (isReady(st) || !up) {
		fmt.Fprintf(&b, ", ready %d seconds", seconds(now, ready))
	}
	return b.String()
}

// svstatField is one field of s6-svstat -o.
func svstatField(f string, st control.ServiceStatus, normallyUp bool, now time.Time) string {
	up := isUp(st)
	updown, ready := stamps(st)
	exited := !up && !notStartedYet(st) && st.LastExit != nil
	boolean := func(v bool) string {
		if v {
			return "true"
		}
		return "false"
	}
	switch f {
	case "up":
		return boolean(up)
	case "wantedup":
		return boolean(wantUp(st))
	case "normallyup":
		return boolean(normallyUp)
	case "ready":
		return boolean(isReady(st))
	case "paused":
		return "false"
	case "pid", "pgid":
		if up {
			return fmt.Sprint(st.PID)
		}
		return "-1"
	case "exitcode":
		if exited && st.LastExit.Signal == 0 {
			return fmt.Sprint(st.LastExit.Code)
		}
		return "-1"
	case "signal":
		if exited && st.LastExit.Signal != 0 {
			return unix.SignalName(st.LastExit.Signal)
		}
		return "NA"
	case "signum":
		if exited && st.LastExit.Signal != 0 {
			return fmt.Sprint(int(st.LastExit.Signal))
		}
		return "-1"
	case "updownsince":
		return tai64n(updown)
	case "readysince":
		return tai64n(ready)
	case "updownfor":
		return fmt.Sprint(seconds(now, updown))
	case "readyfor":
		return fmt.Sprint(seconds(now, ready))
	}
	return ""
}

// tai64n is a TAI64N label, as skalibs prints timestamps.
func tai64n(t time.Time) string {
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	return fmt.Sprintf("@%016x%08x", uint64(1)<<62+10+uint64(t.Unix()), t.Nanosecond())
}
