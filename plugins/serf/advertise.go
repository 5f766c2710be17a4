package serf

import (
	"context"
	"net"
	"time"
)

// hostAdvertiseAddr returns the address to advertise when the agent binds
// to every interface and no advertise address is set: the IPv4 address the
// host name resolves to (Docker maps it in /etc/hosts: the task's overlay
// address in a Swarm, the bridge address otherwise), provided it is on one
// of this host's interfaces and not loopback; "" when there is none.
// memberlist's own choice, the interface of the default route, is
// docker_gwbridge in a Swarm task, which no other task can reach.
func hostAdvertiseAddr(hostname string) string {
	if hostname == "" {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, hostname)
	if err != nil {
		return ""
	}
	local := map[string]bool{}
	ifaddrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range ifaddrs {
		if ipn, ok := a.(*net.IPNet); ok {
			local[ipn.IP.String()] = true
		}
	}
	for _, a := range addrs {
		if ip4 := a.IP.To4(); ip4 != nil && !ip4.IsLoopback() && local[ip4.String()] {
			return ip4.String()
		}
	}
	return ""
}
