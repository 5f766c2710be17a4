package serf

import (
	"net"
	"os"
	"testing"
)

// TestHostAdvertiseAddr: the host name's address is advertised only when it
// is one of this host's, never a loopback one.
func TestHostAdvertiseAddr(t *testing.T) {
	if a := hostAdvertiseAddr("localhost"); a != "" {
		t.Fatalf("localhost gave %q, want none (loopback)", a)
	}
	if a := hostAdvertiseAddr("no-such-host.invalid"); a != "" {
		t.Fatalf("an unknown name gave %q", a)
	}
	h, _ := os.Hostname()
	a := hostAdvertiseAddr(h)
	if a == "" {
		return // this host's name maps to no address of its own
	}
	ip := net.ParseIP(a)
	if ip == nil || ip.To4() == nil || ip.IsLoopback() {
		t.Fatalf("%s gave %q", h, a)
	}
	ifaddrs, _ := net.InterfaceAddrs()
	for _, x := range ifaddrs {
		if ipn, ok := x.(*net.IPNet); ok && ipn.IP.Equal(ip) {
			return
		}
	}
	t.Fatalf("%s gave %q, which is not on an interface of this host", h, a)
}
