package supervisor

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/corralhq/corral/plugins"
	"github.com/corralhq/corral/services"
)

// readiness waits until a started service is ready by its [ready] check.
// It returns nil once ready, or an error when ctx ends or the check's
// timeout passes first (a zero timeout waits as long as the service runs,
// as s6 does with notification-fd).
type readiness struct {
	env []string
}

func (r *readiness) wait(ctx context.Context, rd *services.Ready, notify *os.File) error {
	timeout := rd.Timeout
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if rd.NotifyFD > 0 {
		return waitNotify(ctx, notify)
	}
	interval := rd.Interval
	if interval <= 0 {
		interval = services.DefaultReadyInterval
	}
	probe := r.probe(rd)
	t := time.NewTimer(0)
	defer t.Stop()
	var last error
	for {
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("not ready after %s: %w", timeout, last)
			}
			return fmt.Errorf("not ready after %s: %w", timeout, ctx.Err())
		case <-t.C:
		}
		if last = probe(ctx); last == nil {
			return nil
		}
		t.Reset(interval)
	}
}

func (r *readiness) probe(rd *services.Ready) func(context.Context) error {
	switch {
	case rd.TCP != "":
		return func(ctx context.Context) error {
			d := net.Dialer{Timeout: time.Second}
			c, err := d.DialContext(ctx, "tcp", rd.TCP)
			if err != nil {
				return err
			}
			return c.Close()
		}
	case rd.HTTP != "":
		client := &http.Client{Timeout: 2 * time.Second}
		return func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, rd.HTTP, nil)
			if err != nil {
				return err
			}
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			if resp.StatusCode < 200 || resp.StatusCode > 299 {
				return fmt.Errorf("%s answered %s", rd.HTTP, resp.Status)
			}
			return nil
		}
	case len(rd.Command) > 0:
		return func(ctx context.Context) error {
			res, err := runToCompletion(ctx, plugins.ExecSpec{Argv: rd.Command, Timeout: 10 * time.Second}, r.env)
			if err != nil {
				return err
			}
			if !res.Status.Success() {
				return fmt.Errorf("ready command: %s", res.Status)
			}
			return nil
		}
	}
	return func(context.Context) error { return nil }
}

// waitNotify reads the notification pipe until a newline (ready) or EOF.
func waitNotify(ctx context.Context, f *os.File) error {
	if f == nil {
		return fmt.Errorf("no notification pipe")
	}
	res := make(chan error, 1)
	go func() {
		buf := make([]byte, 512)
		for {
			n, err := f.Read(buf)
			for _, c := range buf[:n] {
				if c == '\n' {
					res <- nil
					return
				}
			}
			if err != nil {
				// Closed before a newline (s6-notifyoncheck gave up, or the
				// daemon closes what it inherits): as with s6-supervise,
				// the service stays up and is never ready. Only a
				// readiness timeout, if one is set, fails it.
				return
			}
		}
	}()
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		_ = f.SetReadDeadline(time.Now()) // unblock the reader goroutine
		return fmt.Errorf("no readiness notification: %w", ctx.Err())
	}
}
