package template

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"

	"github.com/corralhq/corral/plugins"
)

// maxTokenLen bounds names and tag values accepted from the network.
const maxTokenLen = 253

// Member is one alive, validated cluster member as the template sees it.
// Every string field holds only [A-Za-z0-9._:-], so it can be written into
// a config file without quoting.
type Member struct {
	// Name is the node name.
	Name string
	// Addr is the node's IP address.
	Addr string
	// Port is the service port, from the port tag (or default_port).
	Port int
	// HostPort is Addr:Port, with brackets around an IPv6 address.
	HostPort string
	// Tags are the node's tags.
	Tags map[string]string
}

// Data is what the template is executed with.
type Data struct {
	// Members are the accepted alive members, sorted by name.
	Members []Member
	// Backend is the backend setting.
	Backend string
	// Rejected is the number of members dropped as unsafe.
	Rejected int
}

// rejection is a member dropped from the data, and why.
type rejection struct {
	name   string // %q-quoted, safe to log
	reason string
}

// safeByte reports whether c may appear in a name, address or tag.
func safeByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == ':' || c == '-'
}

// safeToken reports whether s is non-empty, short, and of the safe charset.
func safeToken(s string) bool {
	if s == "" || len(s) > maxTokenLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !safeByte(s[i]) {
			return false
		}
	}
	return true
}

// safeValue is safeToken that also accepts the empty string (tag values).
func safeValue(s string) bool { return s == "" || safeToken(s) }

// members filters and validates the alive list: unsafe members are returned
// as rejections; members of another role are left out, and skipped says
// why (for a log line).
func (s *Config) members(alive []plugins.Member) (out []Member, rejected, skipped []rejection) {
	out = make([]Member, 0, len(alive))
	var rej []rejection
	for _, m := range alive {
		if m.Status != "" && m.Status != "alive" {
			continue
		}
		if s.Role != "" && m.Tags[s.RoleTag] != s.Role {
			skipped = append(skipped, rejection{name: strconv.Quote(m.Name),
				reason: fmt.Sprintf("tag %q is %q, not the role %q", s.RoleTag, m.Tags[s.RoleTag], s.Role)})
			continue
		}
		mm, reason := s.member(m)
		if reason != "" {
			rej = append(rej, rejection{name: strconv.Quote(m.Name), reason: reason})
			continue
		}
		out = append(out, mm)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	// Serf names are unique; a duplicate here is hostile or a bug: keep the first.
	dedup := out[:0]
	for i, m := range out {
		if i > 0 && m.Name == out[i-1].Name {
			rej = append(rej, rejection{name: strconv.Quote(m.Name), reason: "duplicate name"})
			continue
		}
		dedup = append(dedup, m)
	}
	return dedup, rej, skipped
}

// member validates one member; a non-empty reason rejects it.
func (s *Config) member(m plugins.Member) (Member, string) {
	if !safeToken(m.Name) {
		return Member{}, "name has characters outside [A-Za-z0-9._:-] or is empty or too long"
	}
	ip, err := netip.ParseAddr(m.Addr)
	if err != nil || ip.Zone() != "" {
		return Member{}, "address is not an IP address"
	}
	ip = ip.Unmap()
	tags := make(map[string]string, len(m.Tags))
	for k, v := range m.Tags {
		if !safeToken(k) || !safeValue(v) {
			return Member{}, fmt.Sprintf("tag %q has characters outside [A-Za-z0-9._:-]", k)
		}
		tags[k] = v
	}
	port := s.DefaultPort
	if v, ok := m.Tags[s.PortTag]; ok {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			return Member{}, fmt.Sprintf("tag %q is not a port 1-65535", s.PortTag)
		}
		port = p
	}
	if port == 0 {
		return Member{}, fmt.Sprintf("no %q tag and no default_port", s.PortTag)
	}
	addr := ip.String()
	return Member{
		Name:     m.Name,
		Addr:     addr,
		Port:     port,
		HostPort: netip.AddrPortFrom(ip, uint16(port)).String(),
		Tags:     tags,
	}, ""
}
