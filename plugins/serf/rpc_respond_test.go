package serf

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/corralhq/corral/plugins/plugintest"
	"github.com/hashicorp/go-msgpack/v2/codec"
)

// TestRPCRespond: an RPC client that streams queries (as `serf monitor`
// and agent-side tools do) gets each query with an ID and answers it with
// "respond"; Debian's serf query shows the answer. The client is written
// here from the protocol (handshake, stream, respond).
func TestRPCRespond(t *testing.T) {
	if _, err := exec.LookPath("serf"); err != nil {
		t.Fatalf("the serf CLI is missing (install Debian package serf): %v", err)
	}
	rpc := fmt.Sprintf("127.0.0.1:%d", plugintest.FreePort(t))
	startLocal(t, Config{NodeName: "solo", Bind: fmt.Sprintf("127.0.0.1:%d", plugintest.FreePort(t)), Profile: "local", RPCAddr: rpc})
	conn, err := net.Dial("tcp", rpc)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	w := bufio.NewWriter(conn)
	enc, dec := codec.NewEncoder(w, rpcHandle()), codec.NewDecoder(bufio.NewReader(conn), rpcHandle())
	send := func(cmd string, seq uint64, body any) {
		t.Helper()
		if err := enc.Encode(rpcRequestHeader{Command: cmd, Seq: seq}); err != nil {
			t.Fatal(err)
		}
		if err := enc.Encode(body); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	header := func() rpcResponseHeader {
		t.Helper()
		var h rpcResponseHeader
		if err := dec.Decode(&h); err != nil {
			t.Fatal(err)
		}
		return h
	}
	send(cmdHandshake, 1, rpcHandshakeRequest{Version: rpcVersion})
	if h := header(); h.Seq != 1 || h.Error != "" {
		t.Fatalf("handshake: %+v", h)
	}
	send(cmdStream, 2, rpcStreamRequest{Type: "query:ask"})
	if h := header(); h.Seq != 2 || h.Error != "" {
		t.Fatalf("stream: %+v", h)
	}

	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := exec.Command("serf", "query", "-rpc-addr="+rpc, "-timeout=3s", "ask", "hi").CombinedOutput()
		done <- result{string(out), err}
	}()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if h := header(); h.Seq != 2 || h.Error != "" {
		t.Fatalf("stream record: %+v", h)
	}
	var q rpcQueryEventRecord
	if err := dec.Decode(&q); err != nil {
		t.Fatal(err)
	}
	if q.Event != "query" || q.Name != "ask" || string(q.Payload) != "hi" || q.ID == 0 {
		t.Fatalf("query record %+v", q)
	}
	send(cmdRespond, 3, rpcRespondRequest{ID: q.ID, Payload: []byte("answer")})
	if h := header(); h.Seq != 3 || h.Error != "" {
		t.Fatalf("respond: %+v", h)
	}
	send(cmdRespond, 4, rpcRespondRequest{ID: q.ID + 100, Payload: []byte("x")})
	if h := header(); h.Seq != 4 || h.Error != errInvalidQueryID {
		t.Fatalf("respond to an unknown ID: %+v", h)
	}
	r := <-done
	if r.err != nil || !strings.Contains(r.out, "Response from 'solo': answer") {
		t.Fatalf("serf query: %v\n%s", r.err, r.out)
	}
}
