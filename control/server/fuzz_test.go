package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
	f.Fuzz(func(t *testing.T, method, target, body string) {
		if !strings.HasPrefix(target, "/") || strings.Contains(target, "shutdown") {
			return
		}
		fake := newFake("/nonexistent/corral-fuzz", svc("web", control.Running), svc("db", control.Stopped))
		s := &server{c: fake, opts: Options{PID: 1}, log: discard()}
		req, err := http.NewRequest(method, "http://corral"+target, strings.NewReader(body))
		if err != nil {
			return
		}
		req = req.WithContext(context.WithValue(context.Background(), ctxKey{}, &peerConn{}))
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
