package hook

import (
	"fmt"
	"sort"
	"strings"

	"github.com/corralhq/corral/plugins"
)

// Env returns the environment Serf's agent gives an event handler for a
// member event: SERF_EVENT, SERF_SELF_NAME, SERF_SELF_ROLE, and one
// SERF_TAG_<NAME> per tag of the local node, NAME upper-cased with every
// character outside [A-Z0-9_] replaced by "_".
func Env(ev plugins.MembershipEvent) []string {
	env := []string{
		"SERF_EVENT=" + ev.Type,
		"SERF_SELF_NAME=" + ev.Self.Name,
		"SERF_SELF_ROLE=" + ev.Self.Tags["role"],
	}
	for _, k := range sortedKeys(ev.Self.Tags) {
		env = append(env, "SERF_TAG_"+envName(k)+"="+ev.Self.Tags[k])
	}
	return env
}

// envName upper-cases a tag name and maps characters outside [A-Z0-9_] to _.
func envName(tag string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			return r
		}
		return '_'
	}, strings.ToUpper(tag))
}

// Stdin returns what Serf writes on a handler's stdin for a member event:
// one "name\taddr\trole\ttags" line per member, tags as k=v,k=v (sorted
// here; Serf leaves them in map order), with tabs and newlines in the name,
// role and tags escaped as \t and \n.
func Stdin(members []plugins.Member) []byte {
	var b strings.Builder
	for _, m := range members {
		pairs := make([]string, 0, len(m.Tags))
		for _, k := range sortedKeys(m.Tags) {
			pairs = append(pairs, k+"="+m.Tags[k])
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\n", clean(m.Name), m.Addr, clean(m.Tags["role"]), clean(strings.Join(pairs, ",")))
	}
	return []byte(b.String())
}

// clean escapes tabs and newlines as Serf does.
func clean(s string) string {
	return strings.NewReplacer("\t", `\t`, "\n", `\n`).Replace(s)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
