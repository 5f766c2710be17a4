package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DefaultSocket is where corral listens unless told otherwise.
const DefaultSocket = "/run/corral/control.sock"

// Client talks to a control server over its unix socket.
type Client struct {
	// Socket is the socket's path.
	Socket string
	http   *http.Client
}

// NewClient returns a client of the server listening on socket.
func NewClient(socket string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialChecked(ctx, socket)
		},
		MaxIdleConns:      2,
		IdleConnTimeout:   30 * time.Second,
		DisableKeepAlives: false,
	}
	return &Client{Socket: socket, http: &http.Client{Transport: tr}}
}

// ServerURL is the socket as supervisorctl names it: "unix:///path".
func (c *Client) ServerURL() string { return "unix://" + c.Socket }

// ConnError is a failure to reach the server: the socket is missing, nobody
// listens, the server refused this user, or this client refused the server
// (Untrusted: see UntrustedError).
type ConnError struct {
	// URL is the server URL tried ("unix:///run/corral/control.sock").
	URL string
	// Kind is NoSuchFile, Refused, PermissionDenied or Other.
	Kind ConnErrorKind
	// Err is the underlying error.
	Err error
}

// ConnErrorKind classifies a ConnError.
type ConnErrorKind int

const (
	// OtherConnError is any other failure to talk to the server.
	OtherConnError ConnErrorKind = iota
	// NoSuchFile: the socket does not exist (corral not running?).
	NoSuchFile
	// Refused: nothing listens on the socket.
	Refused
	// PermissionDenied: the socket's mode or the server's peer check
	// refused this user.
	PermissionDenied
	// Untrusted: the server runs as a user that may have replaced
	// corral's socket with its own; nothing was sent to it.
	Untrusted
)

// String names k.
func (k ConnErrorKind) String() string {
	switch k {
	case NoSuchFile:
		return "no such file"
	case Refused:
		return "refused connection"
	case PermissionDenied:
		return "permission denied"
	case Untrusted:
		return "untrusted server"
	}
	return "error"
}

// Error reads as supervisorctl's messages: "unix:///path no such file",
// "unix:///path refused connection", with the reason where there is more
// to say.
func (e *ConnError) Error() string {
	switch e.Kind {
	case NoSuchFile:
		return e.URL + " no such file"
	case Refused:
		return e.URL + " refused connection"
	case PermissionDenied:
		return e.URL + " refused connection (" + e.Err.Error() + ")"
	case Untrusted:
		return e.URL + " untrusted server: " + e.Err.Error()
	}
	return e.URL + " " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *ConnError) Unwrap() error { return e.Err }

// APIError is an error answer from the server.
type APIError struct {
	// Status is the HTTP status.
	Status int
	// Code classifies the error.
	Code Code
	// Message is the server's message.
	Message string
}

// Error returns the server's message.
func (e *APIError) Error() string { return e.Message }

// connError classifies a transport error.
func (c *Client) connError(err error) error {
	ce := &ConnError{URL: c.ServerURL(), Err: err}
	var ue *UntrustedError
	switch {
	case errors.As(err, &ue):
		ce.Kind, ce.Err = Untrusted, ue
	case errors.Is(err, syscall.ENOENT):
		ce.Kind = NoSuchFile
	case errors.Is(err, syscall.ECONNREFUSED):
		ce.Kind = Refused
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		ce.Kind = PermissionDenied
		ce.Err = errors.New("permission denied")
	}
	return ce
}

// do sends a request and returns the response of a 2xx answer; the caller
// closes its body. A 403 becomes a PermissionDenied ConnError, other errors
// an *APIError.
func (c *Client) do(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encoding request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://corral"+path, rd)
	if err != nil {
		return nil, fmt.Errorf("making request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, c.connError(err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	var er ErrorResponse
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if json.Unmarshal(b, &er) != nil || er.Error == "" {
		er = ErrorResponse{Code: CodeFailed, Error: strings.TrimSpace(resp.Status + " " + string(b))}
	}
	if resp.StatusCode == http.StatusForbidden {
		return nil, &ConnError{URL: c.ServerURL(), Kind: PermissionDenied, Err: errors.New(er.Error)}
	}
	return nil, &APIError{Status: resp.StatusCode, Code: er.Code, Message: er.Error}
}

// call does a request and decodes a JSON answer into out.
func (c *Client) call(ctx context.Context, method, path string, body, out any) error {
	resp, err := c.do(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decoding answer to %s: %w", path, err)
	}
	return nil
}

// Status returns the named services, or all when names is empty; State is
// filled in from StateName.
func (c *Client) Status(ctx context.Context, names ...string) (StatusResponse, error) {
	p := "/v1/status"
	if len(names) > 0 {
		p += "?" + url.Values{"name": names}.Encode()
	}
	var sr StatusResponse
	if err := c.call(ctx, http.MethodGet, p, nil, &sr); err != nil {
		return sr, err
	}
	for i := range sr.Services {
		if st, ok := ParseState(sr.Services[i].StateName); ok {
			sr.Services[i].State = st
		}
	}
	return sr, nil
}

// results posts a names request.
func (c *Client) results(ctx context.Context, path string, body any) ([]Result, error) {
	var rr ResultsResponse
	err := c.call(ctx, http.MethodPost, path, body, &rr)
	return rr.Results, err
}

// Start starts the named services ("all", "name", "name:*").
func (c *Client) Start(ctx context.Context, names ...string) ([]Result, error) {
	return c.results(ctx, "/v1/start", NamesRequest{Names: names})
}

// Request asks for the named services to be started (up) or stopped, and
// returns once corral took the request, not once it is done.
func (c *Client) Request(ctx context.Context, up bool, names ...string) ([]Result, error) {
	path := "/v1/stop"
	if up {
		path = "/v1/start"
	}
	return c.results(ctx, path, NamesRequest{Names: names, NoWait: true})
}

// Stop stops the named services.
func (c *Client) Stop(ctx context.Context, names ...string) ([]Result, error) {
	return c.results(ctx, "/v1/stop", NamesRequest{Names: names})
}

// Restart restarts the named services with the engine's Restart.
func (c *Client) Restart(ctx context.Context, names ...string) ([]Result, error) {
	return c.results(ctx, "/v1/restart", NamesRequest{Names: names})
}

// Signal sends sig (a name or number) to the named services.
func (c *Client) Signal(ctx context.Context, sig string, names ...string) ([]Result, error) {
	return c.results(ctx, "/v1/signal", SignalRequest{Signal: sig, Names: names})
}

// PID returns corral's pid.
func (c *Client) PID(ctx context.Context) (int, error) {
	var pr PIDResponse
	err := c.call(ctx, http.MethodGet, "/v1/pid", nil, &pr)
	return pr.PID, err
}

// Version returns corral's version.
func (c *Client) Version(ctx context.Context) (string, error) {
	var vr VersionResponse
	err := c.call(ctx, http.MethodGet, "/v1/version", nil, &vr)
	return vr.Version, err
}

// Reread reports how the services directory differs from what runs.
func (c *Client) Reread(ctx context.Context) (ConfigDiff, error) {
	var d ConfigDiff
	err := c.call(ctx, http.MethodPost, "/v1/reread", nil, &d)
	return d, err
}

// Update applies the services directory and reports what it changed.
func (c *Client) Update(ctx context.Context) (ConfigDiff, error) {
	var d ConfigDiff
	err := c.call(ctx, http.MethodPost, "/v1/update", nil, &d)
	return d, err
}

// Shutdown asks corral to shut down.
func (c *Client) Shutdown(ctx context.Context) error {
	var v struct{}
	return c.call(ctx, http.MethodPost, "/v1/shutdown", nil, &v)
}

// Metrics returns the text exposition of /metrics.
func (c *Client) Metrics(ctx context.Context) ([]byte, error) {
	resp, err := c.do(ctx, http.MethodGet, "/metrics", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// TailRequest says what to tail.
type TailRequest struct {
	// Name of the service.
	Name string
	// Stream is "stdout" (the default) or "stderr".
	Stream string
	// Lines, when > 0, asks for the last Lines lines; else Bytes applies.
	Lines int
	// Bytes is how many bytes from the end (supervisorctl's default 1600
	// when 0 and Lines is 0).
	Bytes int64
	// Follow keeps streaming what is appended until ctx is done.
	Follow bool
}

// Tail copies the end of a service's log to w and, with Follow, what is
// appended after, until ctx is done (then it returns nil).
func (c *Client) Tail(ctx context.Context, req TailRequest, w io.Writer) error {
	q := url.Values{"name": {req.Name}}
	if req.Stream != "" {
		q.Set("stream", req.Stream)
	}
	if req.Lines > 0 {
		q.Set("lines", strconv.Itoa(req.Lines))
	} else if req.Bytes > 0 {
		q.Set("bytes", strconv.FormatInt(req.Bytes, 10))
	}
	if req.Follow {
		q.Set("follow", "1")
	}
	resp, err := c.do(ctx, http.MethodGet, "/v1/tail?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	if err != nil && ctx.Err() != nil {
		return nil
	}
	return err
}
