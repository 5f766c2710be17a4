// Package netns builds isolated test networks out of Linux network
// namespaces, for tests that need several hosts with their own addresses
// (Serf agents, web app nodes, a load balancer).
//
// A Network is a private /24, 10.213.<k>.0/24 with k chosen by the caller
// (one k per test package, so packages running in parallel never collide).
// Its switch is a bridge living in a namespace of its own (the "hub"), so the
// root namespace's firewall and bridge-netfilter settings never see the
// traffic. Every node is a namespace with loopback up and one veth, eth0,
// plugged into the bridge, with address 10.213.<k>.<10+i>. The root
// namespace, where the test process runs, is plugged in too with
// 10.213.<k>.1 (HostAddr), so the test can dial the nodes and the nodes can
// dial the test.
//
// One network per k may live at a time in a process. Indexes taken so far:
// 71 and 72 (plugins/serf tests and benchmarks), 73 (test/cluster), 74
// (plugins/hook), 201
// (this package's test);
// add yours here.
//
// Everything is removed in t.Cleanup. Names carry k and the test process id,
// and leftovers of a dead process with the same k are swept on New.
//
// It needs root and the ip command (Debian package iproute2).
package netns

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/corralhq/corral/test/testutil"
)

// firstNodeHost is the last octet of node 0's address.
const firstNodeHost = 10

// Network is an isolated test network: a bridge in its own namespace, the
// root namespace plugged into it, and any number of node namespaces.
type Network struct {
	k      int
	prefix string // "10.213.<k>"
	base   string // "crl<k>-<pid>"
	hub    string // hub namespace name
	root   string // root-side veth name

	mu    sync.Mutex
	nodes []*Node
	hosts map[string]string
}

// Node is one network namespace plugged into the network.
type Node struct {
	// Index is the node's position, from 0.
	Index int
	// NS is the namespace name (as `ip netns list` shows it).
	NS string
	// Addr is the node's IPv4 address on the bridge.
	Addr string

	net *Network
}

// RequireRoot fails the test unless it runs as root with the ip command
// available.
func RequireRoot(t testing.TB) {
	t.Helper()
	testutil.Require(t, testutil.Root, testutil.Command("ip", "iproute2"))
}

// New creates a network 10.213.<k>.0/24 with n nodes. k (1..254) must be
// unique per test package.
func New(t testing.TB, k, n int) *Network {
	t.Helper()
	RequireRoot(t)
	if k < 1 || k > 254 {
		t.Fatalf("netns: subnet index %d out of range 1..254", k)
	}
	pid := os.Getpid()
	nw := &Network{
		k:      k,
		prefix: fmt.Sprintf("10.213.%d", k),
		base:   fmt.Sprintf("crl%d-%d", k, pid),
		root:   fmt.Sprintf("crl%dh%d", k, pid),
		hosts:  map[string]string{},
	}
	nw.hub = nw.base + "-hub"
	sweep(t, k)
	t.Cleanup(nw.destroy)

	ip(t, "netns", "add", nw.hub)
	ip(t, "-n", nw.hub, "link", "set", "lo", "up")
	ip(t, "-n", nw.hub, "link", "add", "br0", "type", "bridge")
	ip(t, "-n", nw.hub, "link", "set", "br0", "up")
	ip(t, "link", "add", nw.root, "type", "veth", "peer", "name", "uplink", "netns", nw.hub)
	ip(t, "-n", nw.hub, "link", "set", "uplink", "master", "br0", "up")
	ip(t, "addr", "add", nw.HostAddr()+"/24", "dev", nw.root)
	ip(t, "link", "set", nw.root, "up")
	for i := 0; i < n; i++ {
		nw.AddNode(t)
	}
	return nw
}

// HostAddr is the root namespace's address on the network (10.213.<k>.1).
func (nw *Network) HostAddr() string { return nw.prefix + ".1" }

// Prefix is the network's first three octets, "10.213.<k>".
func (nw *Network) Prefix() string { return nw.prefix }

// Nodes returns the nodes, in order of creation.
func (nw *Network) Nodes() []*Node {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	return append([]*Node(nil), nw.nodes...)
}

// Node returns node i.
func (nw *Network) Node(i int) *Node {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	return nw.nodes[i]
}

// AddNode creates one more node namespace and plugs it in.
func (nw *Network) AddNode(t testing.TB) *Node {
	t.Helper()
	nw.mu.Lock()
	i := len(nw.nodes)
	nd := &Node{Index: i, NS: fmt.Sprintf("%s-%d", nw.base, i), Addr: fmt.Sprintf("%s.%d", nw.prefix, firstNodeHost+i), net: nw}
	nw.nodes = append(nw.nodes, nd)
	nw.mu.Unlock()
	if firstNodeHost+i > 254 {
		t.Fatalf("netns: too many nodes (%d)", i+1)
	}
	port := "n" + strconv.Itoa(i)
	ip(t, "netns", "add", nd.NS)
	ip(t, "-n", nd.NS, "link", "set", "lo", "up")
	ip(t, "-n", nw.hub, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", nd.NS)
	ip(t, "-n", nw.hub, "link", "set", port, "master", "br0", "up")
	ip(t, "-n", nd.NS, "addr", "add", nd.Addr+"/24", "dev", "eth0")
	ip(t, "-n", nd.NS, "link", "set", "eth0", "up")
	nw.writeHosts(t, nd)
	return nd
}

// SetHosts adds host name entries (name -> address) seen by every node's
// resolver through /etc/netns/<ns>/hosts, which `ip netns exec` mounts over
// /etc/hosts. Each node also resolves its own "node<i>" name. The root
// namespace's /etc/hosts is left alone.
func (nw *Network) SetHosts(t testing.TB, entries map[string]string) {
	t.Helper()
	nw.mu.Lock()
	for name, addr := range entries {
		nw.hosts[name] = addr
	}
	nodes := append([]*Node(nil), nw.nodes...)
	nw.mu.Unlock()
	for _, nd := range nodes {
		nw.writeHosts(t, nd)
	}
}

// writeHosts writes nd's hosts file.
func (nw *Network) writeHosts(t testing.TB, nd *Node) {
	t.Helper()
	nw.mu.Lock()
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n")
	fmt.Fprintf(&b, "%s\tnode%d\n", nd.Addr, nd.Index)
	names := make([]string, 0, len(nw.hosts))
	for name := range nw.hosts {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(&b, "%s\t%s\n", nw.hosts[name], name)
	}
	nw.mu.Unlock()
	dir := filepath.Join("/etc/netns", nd.NS)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("netns: creating %s: %v", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "hosts"), []byte(b.String()), 0o644); err != nil {
		t.Fatalf("netns: writing hosts of %s: %v", nd.NS, err)
	}
}

// Command returns a command that runs argv inside the node's namespace
// (`ip netns exec`). `ip netns exec` execs argv in place, so the command's
// process is argv itself: a signal sent to cmd.Process reaches it.
func (nd *Node) Command(ctx context.Context, argv ...string) *exec.Cmd {
	args := append([]string{"netns", "exec", nd.NS}, argv...)
	return exec.CommandContext(ctx, "ip", args...)
}

// Run runs argv inside the node's namespace to completion and returns its
// combined output; it fails the test if the command fails.
func (nd *Node) Run(t testing.TB, argv ...string) string {
	t.Helper()
	out, err := nd.Command(context.Background(), argv...).CombinedOutput()
	if err != nil {
		t.Fatalf("netns: %s: running %q: %v\n%s", nd.NS, argv, err, out)
	}
	return string(out)
}

// SetLink brings the node's eth0 down or up, cutting it off the network
// without stopping anything that runs in it.
func (nd *Node) SetLink(t testing.TB, up bool) {
	t.Helper()
	state := "down"
	if up {
		state = "up"
	}
	ip(t, "-n", nd.NS, "link", "set", "eth0", state)
}

// AddrPort returns "addr:port" for the node.
func (nd *Node) AddrPort(port uint16) string {
	return netip.AddrPortFrom(netip.MustParseAddr(nd.Addr), port).String()
}

// destroy removes the namespaces (which takes their veths with them) and
// the hosts files.
func (nw *Network) destroy() {
	nw.mu.Lock()
	nodes := append([]*Node(nil), nw.nodes...)
	nw.mu.Unlock()
	for _, nd := range nodes {
		_ = exec.Command("ip", "netns", "del", nd.NS).Run()
		_ = os.RemoveAll(filepath.Join("/etc/netns", nd.NS))
	}
	_ = exec.Command("ip", "link", "del", nw.root).Run()
	_ = exec.Command("ip", "netns", "del", nw.hub).Run()
}

// sweep removes namespaces left by a dead test process that used the same
// subnet index k, so that a crashed run does not break the next one.
func sweep(t testing.TB, k int) {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatalf("netns: ip netns list: %v", err)
	}
	prefix := fmt.Sprintf("crl%d-", k)
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], prefix) {
			continue
		}
		rest := strings.SplitN(strings.TrimPrefix(f[0], prefix), "-", 2)
		pid, err := strconv.Atoi(rest[0])
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			continue // still running: not ours to touch
		}
		_ = exec.Command("ip", "netns", "del", f[0]).Run()
		_ = os.RemoveAll(filepath.Join("/etc/netns", f[0]))
		_ = exec.Command("ip", "link", "del", fmt.Sprintf("crl%dh%d", k, pid)).Run()
	}
}

// ip runs the ip command and fails the test on error.
func ip(t testing.TB, args ...string) {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command("ip", args...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("netns: ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
}
