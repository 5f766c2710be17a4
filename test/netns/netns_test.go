package netns

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary serve as a tiny TCP server inside a node:
// with NETNS_TEST_LISTEN=addr it answers "hello" to one connection and exits.
func TestMain(m *testing.M) {
	if addr := os.Getenv("NETNS_TEST_LISTEN"); addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("listening")
		c, err := ln.Accept()
		if err != nil {
			os.Exit(1)
		}
		c.Write([]byte("hello\n"))
		c.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// dial connects from nd to addr:port with bash's /dev/tcp and returns what
// the server sent.
func dial(nd *Node, addr string, port int) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := nd.Command(ctx, "bash", "-c", "exec 3<>/dev/tcp/"+addr+"/"+strconv.Itoa(port)+"; cat <&3").CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// TestNetwork checks that nodes reach each other and the root namespace,
// resolve the names given to SetHosts, and that cleanup removes everything.
func TestNetwork(t *testing.T) {
	RequireRoot(t)
	var names []string
	t.Run("build", func(t *testing.T) {
		nw := New(t, 201, 2)
		names = append(names, nw.hub)
		for _, nd := range nw.Nodes() {
			names = append(names, nd.NS)
		}
		a, b := nw.Node(0), nw.Node(1)
		if a.Addr != "10.213.201.10" || b.Addr != "10.213.201.11" {
			t.Fatalf("addresses %s %s", a.Addr, b.Addr)
		}

		// Node to root namespace.
		ln, err := net.Listen("tcp", nw.HostAddr()+":0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			c, err := ln.Accept()
			if err == nil {
				c.Write([]byte("hello\n"))
				c.Close()
			}
		}()
		if out, err := dial(a, nw.HostAddr(), ln.Addr().(*net.TCPAddr).Port); err != nil || out != "hello" {
			t.Fatalf("node to root: %v %q", err, out)
		}

		// Root namespace to node, then node to node by host name.
		startServer := func() *exec.Cmd {
			cmd := b.Command(context.Background(), os.Args[0])
			cmd.Env = append(os.Environ(), "NETNS_TEST_LISTEN="+b.AddrPort(7001))
			out, _ := cmd.StdoutPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			buf := make([]byte, 10)
			out.Read(buf)
			return cmd
		}
		startServer()
		c, err := net.DialTimeout("tcp", b.AddrPort(7001), 5*time.Second)
		if err != nil {
			t.Fatalf("root to node: %v", err)
		}
		c.Close()

		nw.SetHosts(t, map[string]string{"seed.test": b.Addr})
		if out := a.Run(t, "getent", "hosts", "seed.test"); !strings.Contains(out, b.Addr) {
			t.Fatalf("getent seed.test: %q", out)
		}
		startServer()
		if out, err := dial(a, "seed.test", 7001); err != nil || out != "hello" {
			t.Fatalf("node to node by name: %v %q", err, out)
		}

		a.SetLink(t, false)
		if out, err := dial(a, b.Addr, 7001); err == nil {
			t.Fatalf("dial succeeded with eth0 down: %q", out)
		}
		a.SetLink(t, true)
	})
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if strings.Contains(string(out), name) {
			t.Errorf("namespace %s left after cleanup", name)
		}
	}
	if len(names) != 3 {
		t.Errorf("names %q", names)
	}
}
