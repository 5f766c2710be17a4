package template

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cliCommand sends one line of commands (";"-separated) to a HAProxy CLI
// socket, the master's or a stats socket, and returns the answer. It
// half-closes the connection after the line so HAProxy answers and closes.
func cliCommand(ctx context.Context, path, line string) (string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) {
			return "", fmt.Errorf("%w: %v", errNotRunning, err)
		}
		return "", err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	} else {
		conn.SetDeadline(time.Now().Add(10 * time.Second))
	}
	if _, err := io.WriteString(conn, line+"\n"); err != nil {
		return "", fmt.Errorf("writing to %s: %w", path, err)
	}
	if uc, ok := conn.(*net.UnixConn); ok {
		uc.CloseWrite()
	}
	b, err := io.ReadAll(conn)
	if err != nil {
		return string(b), fmt.Errorf("reading from %s: %w", path, err)
	}
	return string(b), nil
}

// masterCounters are the master's line of `show proc`.
type masterCounters struct {
	reloads, failed int
}

// parseShowProc finds the master's reload counters in `show proc` output:
//
//	#<PID>          <type>          <reloads>       <uptime>        <version>
//	7141            master          0 [failed: 0]   0d00h10m10s     2.6.12
func parseShowProc(out string) (masterCounters, error) {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || f[1] != "master" {
			continue
		}
		var c masterCounters
		var err error
		if c.reloads, err = strconv.Atoi(f[2]); err != nil {
			return c, fmt.Errorf("parsing show proc: reloads %q", f[2])
		}
		if len(f) >= 5 && f[3] == "[failed:" {
			c.failed, _ = strconv.Atoi(strings.TrimSuffix(f[4], "]"))
		}
		return c, nil
	}
	return masterCounters{}, errors.New("parsing show proc: no master line")
}

// errNotRunning means HAProxy's socket does not exist: HAProxy is not
// running, and will read the installed file when it starts.
var errNotRunning = errors.New("haproxy is not running (no socket)")

// retryDelay is the pause between attempts on a refusing master socket.
const retryDelay = 10 * time.Millisecond

// readMaster reads the master's counters, retrying while the socket
// refuses (the master is re-executing) until ctx ends.
func readMaster(ctx context.Context, sock string) (masterCounters, error) {
	for {
		out, err := cliCommand(ctx, sock, "show proc")
		if err == nil {
			return parseShowProc(out)
		}
		if errors.Is(err, errNotRunning) {
			return masterCounters{}, err
		}
		if ctx.Err() != nil {
			return masterCounters{}, fmt.Errorf("reading master counters: %w", err)
		}
		select {
		case <-ctx.Done():
			return masterCounters{}, fmt.Errorf("reading master counters: %w", err)
		case <-time.After(retryDelay):
		}
	}
}

// unconfirmedReload remembers a reload command that was sent but whose effect
// was not confirmed (its answer was lost while the master re-executed, or
// the deadline passed while confirming), so that the next attempt counts it
// instead of reloading a second time.
type unconfirmedReload struct {
	set    bool
	before masterCounters
}

// masterReload reloads HAProxy through its master CLI and waits until the
// master's reload counter moved past its value before the command; it
// fails if the failed-reload counter moved too, or on ctx's deadline. pend
// carries an unconfirmed earlier command from one call to the next.
func masterReload(ctx context.Context, sock string, pend *unconfirmedReload) error {
	before, err := readMaster(ctx, sock)
	if err != nil {
		return err
	}
	if pend.set {
		earlier := pend.before
		pend.set = false
		if before.failed > earlier.failed {
			return fmt.Errorf("haproxy reload failed (master counts %d failed reloads)", before.failed)
		}
		if before.reloads > earlier.reloads {
			return nil // the earlier command took effect
		}
	}
	pend.set, pend.before = true, before
	for {
		_, err := cliCommand(ctx, sock, "reload")
		if err == nil {
			break
		}
		// The command may have been taken although its answer was lost (the
		// master re-executes while it reloads): look before sending again,
		// or one change would reload twice.
		if now, rerr := readMaster(ctx, sock); rerr == nil && (now.reloads > before.reloads || now.failed > before.failed) {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sending reload: %w", err)
		case <-time.After(retryDelay):
		}
	}
	for {
		after, err := readMaster(ctx, sock)
		if err != nil {
			return fmt.Errorf("confirming reload: %w", err)
		}
		if after.failed > before.failed {
			pend.set = false
			return fmt.Errorf("haproxy reload failed (master counts %d failed reloads)", after.failed)
		}
		if after.reloads > before.reloads {
			pend.set = false
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("confirming reload: counter still %d: %w", after.reloads, ctx.Err())
		case <-time.After(retryDelay):
		}
	}
}
