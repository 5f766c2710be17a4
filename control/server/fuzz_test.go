package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/corralhq/corral/control"
)

// FuzzAPI sends arbitrary requests to the API's handlers (as an allowed
// peer) over a fake controller: no panic, a known status, and every JSON
// endpoint answers JSON.
func FuzzAPI(f *testing.F) {
	f.Add("POST", "/v1/start", `{"names":["web"]}`)
	f.Add("POST", "/v1/stop", `{"names":["all"]}`)
	f.Add("POST", "/v1/signal", `{"signal":"HUP","names":["web:*","db"]}`)
	f.Add("POST", "/v1/signal", `{"signal":"99","names":[""]}`)
	f.Add("GET", "/v1/status?name=web&name=nope", ``)
	f.Add("GET", "/v1/tail?name=web&lines=-1", ``)
	f.Add("GET", "/v1/tail?name=web:web&bytes=abc&stream=x", ``)
	f.Add("POST", "/v1/restart", `{"names":null}`)
	f.Add("POST", "/v1/start", `{"names":["web"],"extra":1}`)
	f.Add("GET", "/metrics", ``)
	f.Add("GET", "/v1/tail?name=web&bytes=100", ``)
	f.Add("GET", "/v1/tail?name=web&lines=7", ``)
	f.Add("GET", "/v1/tail?name=web&stream=stderr&bytes=99999999999", ``)
	// web's log: current and two archives, as after rotations.
	logDir := f.TempDir()
	for name, text := range map[string]string{
		"web/@400000006000000000000000.s": "line 1\nline 2\n",
		"web/@400000006000000100000000.s": "line 3\nline 4\n",
		"web/current":                     "line 5\nline 6",
		"web/stderr/current":              "",
	} {
		p := filepath.Join(logDir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, method, target, body string) {
		if !strings.HasPrefix(target, "/") || strings.Contains(target, "shutdown") || strings.Contains(target, "follow") {
			return
		}
		fake := newFake(logDir, svc("web", control.Running), svc("db", control.Stopped))
		s := &server{c: fake, opts: Options{PID: 1}, log: discard()}
		req, err := http.NewRequest(method, "http://corral"+target, strings.NewReader(body))
		if err != nil {
			return
		}
		// A tail -f (however its query is spelled) ends with the context.
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		req = req.WithContext(context.WithValue(ctx, ctxKey{}, &peerConn{}))
		rec := httptest.NewRecorder()
		s.routes().ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 301, 307, 308, 400, 404, 405, 409, 500:
		default:
			t.Fatalf("%s %s: status %d", method, target, rec.Code)
		}
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s: invalid JSON %q", method, target, rec.Body.String())
		}
	})
}

// FuzzConn writes arbitrary bytes on a real connection to a served socket
// (HTTP parsing, the connection bounds and the peer check in front of the
// API): whatever comes back, the server keeps serving, and answers a
// status request after each input (within seconds).
func FuzzConn(f *testing.F) {
	f.Add([]byte("GET /v1/status HTTP/1.1\r\nHost: corral\r\n\r\n"))
	f.Add([]byte("GET /v1/status HTTP/1.1\r\nHost: corral\r\n\r\nGET /v1/pid HTTP/1.1\r\nHost: corral\r\n\r\n"))
	f.Add([]byte("POST /v1/start HTTP/1.1\r\nHost: corral\r\nContent-Length: 18\r\n\r\n{\"names\":[\"web\"]}"))
	f.Add([]byte("POST /v1/stop HTTP/1.1\r\nHost: corral\r\nTransfer-Encoding: chunked\r\n\r\nffffffff\r\n"))
	f.Add([]byte("GET /v1/tail?name=web&follow=1 HTTP/1.1\r\nHost: corral\r\n\r\n"))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: corral\r\nX: " + strings.Repeat("a", 70000) + "\r\n\r\n"))
	f.Add([]byte("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"))
	dir := f.TempDir()
	sock := filepath.Join(dir, "control.sock")
	ln, err := Listen(sock, "")
	if err != nil {
		f.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fake := newFake(filepath.Join(dir, "log"), svc("web", control.Running), svc("db", control.Stopped))
	go Serve(ctx, ln, fake, Options{IdleTimeout: 100 * time.Millisecond, MaxConns: 8})
	client := control.NewClient(sock)
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.Contains(bytes.ToLower(data), []byte("shutdown")) {
			return
		}
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		_ = c.SetDeadline(time.Now().Add(time.Second))
		_, _ = c.Write(data)
		_ = c.(*net.UnixConn).CloseWrite()
		_, _ = io.Copy(io.Discard, c)
		c.Close()
		// Connections being closed count against MaxConns for a moment
		// (net/http lingers 500 ms after an error answer), and the excess
		// is refused: the server must answer again soon, not at once.
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			_, err := client.Status(context.Background())
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("status after %.200q: %v", data, err)
			}
		}
	})
}
