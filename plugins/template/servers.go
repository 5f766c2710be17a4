package template

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// serverLine is one `server` line of the managed backend in a rendered
// HAProxy configuration: what runtime mode makes HAProxy run.
type serverLine struct {
	// Name is the server's name.
	Name string
	// Addr is its address and port.
	Addr netip.AddrPort
	// Args are the keywords after the address, single-space separated.
	Args string
}

// hasKeyword reports whether the server line has keyword kw.
func (s serverLine) hasKeyword(kw string) bool {
	for _, f := range strings.Fields(s.Args) {
		if f == kw {
			return true
		}
	}
	return false
}

// sectionKeywords start a section of an HAProxy configuration.
var sectionKeywords = map[string]bool{
	"global": true, "defaults": true, "frontend": true, "backend": true, "listen": true,
	"peers": true, "resolvers": true, "userlist": true, "mailers": true, "program": true,
	"http-errors": true, "ring": true, "cache": true, "fcgi-app": true,
}

// backendServers returns the server lines of backend (a "backend" or
// "listen" section of that name) in cfg, in order, and cfg without them:
// the rest, which a change of servers alone leaves as it is.
//
// Runtime mode adds servers through HAProxy's runtime API, which applies
// no default-server settings to them (HAProxy 2.6), so a default-server
// line in the backend or in a defaults section is an error: the file
// would give reloaded servers settings the added ones lack. So are
// server-template lines, a server whose address is not ip:port, a
// duplicate name, and characters the runtime API would read as syntax.
func backendServers(cfg []byte, backend string) ([]serverLine, []byte, error) {
	var (
		servers []serverLine
		rest    bytes.Buffer
		section string // the current section's keyword
		inside  bool   // in the managed backend
		found   bool
		seen    = map[string]bool{}
		errs    []error
	)
	for n, line := range bytes.SplitAfter(cfg, []byte("\n")) {
		f := strings.Fields(stripComment(string(line)))
		if len(f) > 0 && sectionKeywords[f[0]] {
			section = f[0]
			inside = (section == "backend" || section == "listen") && len(f) > 1 && f[1] == backend
			found = found || inside
		}
		if len(f) == 0 {
			rest.Write(line)
			continue
		}
		switch {
		case f[0] == "default-server" && (inside || section == "defaults"):
			errs = append(errs, fmt.Errorf("line %d: default-server in a %s section: servers added through the runtime API do not get its settings; put them on each server line of backend %s", n+1, section, backend))
		case f[0] == "server-template" && inside:
			errs = append(errs, fmt.Errorf("line %d: server-template in backend %s: render one server line per member", n+1, backend))
		case f[0] == "server" && inside:
			s, err := parseServerLine(f)
			if err != nil {
				errs = append(errs, fmt.Errorf("line %d: %w", n+1, err))
				continue
			}
			if seen[s.Name] {
				errs = append(errs, fmt.Errorf("line %d: server %s appears twice", n+1, s.Name))
				continue
			}
			seen[s.Name] = true
			servers = append(servers, s)
			continue
		}
		rest.Write(line)
	}
	if !found {
		errs = append(errs, fmt.Errorf("no backend %s in the rendered file", backend))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, fmt.Errorf("runtime mode: %w", err)
	}
	return servers, rest.Bytes(), nil
}

// parseServerLine reads the fields of "server <name> <ip:port> [args]".
func parseServerLine(f []string) (serverLine, error) {
	if len(f) < 3 {
		return serverLine{}, fmt.Errorf("server line %q has no address", strings.Join(f, " "))
	}
	if !safeToken(f[1]) {
		return serverLine{}, fmt.Errorf("server name %q is not of [A-Za-z0-9._:-]", f[1])
	}
	addr, err := netip.ParseAddrPort(f[2])
	if err != nil || addr.Addr().Zone() != "" {
		return serverLine{}, fmt.Errorf("server %s: address %q is not ip:port ([ipv6]:port)", f[1], f[2])
	}
	for _, a := range f[3:] {
		if strings.ContainsAny(a, ";\\\"'") {
			return serverLine{}, fmt.Errorf("server %s: argument %q has a character the runtime API would read as syntax", f[1], a)
		}
	}
	return serverLine{Name: f[1], Addr: addr, Args: strings.Join(f[3:], " ")}, nil
}

// stripComment drops a "#" comment from a configuration line.
func stripComment(line string) string {
	if i := strings.IndexByte(line, '#'); i >= 0 {
		return line[:i]
	}
	return line
}
