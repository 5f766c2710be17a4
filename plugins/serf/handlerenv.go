package serf

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/corralhq/corral/plugins"
	hserf "github.com/hashicorp/serf/serf"
)

// handlerEvent is one event as the handlers get it.
type handlerEvent struct {
	// typ is Serf's event name: member-join ... member-reap, user, query.
	typ string
	// name is the user event's or query's name.
	name string
	// members are the members a member event is about.
	members []plugins.Member
	// self is this node when the event was queued.
	self plugins.Member
	// ltime is the user event's or query's Lamport time.
	ltime uint64
	// payload is the user event's or query's payload.
	payload []byte
	// query is the query to answer, for a query.
	query *hserf.Query
}

// env returns the environment the stock agent gives a handler script:
// SERF_EVENT, SERF_SELF_NAME, SERF_SELF_ROLE, one SERF_TAG_<NAME> per tag
// of this node (NAME upper-cased, every character outside [A-Z0-9_] made
// "_"; sorted here, in map order there), and SERF_USER_EVENT and
// SERF_USER_LTIME for a user event, SERF_QUERY_NAME and SERF_QUERY_LTIME
// for a query.
func (e handlerEvent) env() []string {
	env := []string{
		"SERF_EVENT=" + e.typ,
		"SERF_SELF_NAME=" + e.self.Name,
		"SERF_SELF_ROLE=" + e.self.Tags["role"],
	}
	for _, k := range slices.Sorted(maps.Keys(e.self.Tags)) {
		env = append(env, "SERF_TAG_"+envName(k)+"="+e.self.Tags[k])
	}
	switch e.typ {
	case "user":
		env = append(env, "SERF_USER_EVENT="+e.name, "SERF_USER_LTIME="+strconv.FormatUint(e.ltime, 10))
	case "query":
		env = append(env, "SERF_QUERY_NAME="+e.name, "SERF_QUERY_LTIME="+strconv.FormatUint(e.ltime, 10))
	}
	return env
}

// stdin returns what the stock agent writes on a handler's standard input:
// for a member event one "name\taddr\trole\ttags" line per member, tags as
// k=v,k=v (sorted here; in map order there), tabs and newlines in the
// name, role and tags written as \t and \n; for a user event or query its
// payload, with a newline added when it lacks one.
func (e handlerEvent) stdin() []byte {
	switch e.typ {
	case "user", "query":
		if len(e.payload) > 0 && e.payload[len(e.payload)-1] != '\n' {
			return append(append([]byte(nil), e.payload...), '\n')
		}
		return e.payload
	}
	var b strings.Builder
	for _, m := range e.members {
		pairs := make([]string, 0, len(m.Tags))
		for _, k := range slices.Sorted(maps.Keys(m.Tags)) {
			pairs = append(pairs, k+"="+m.Tags[k])
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\n", clean(m.Name), m.Addr, clean(m.Tags["role"]), clean(strings.Join(pairs, ",")))
	}
	return []byte(b.String())
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

// serfEscaper escapes tabs and newlines as Serf does.
var serfEscaper = strings.NewReplacer("\t", `\t`, "\n", `\n`)

// clean escapes tabs and newlines as Serf does.
func clean(s string) string { return serfEscaper.Replace(s) }
