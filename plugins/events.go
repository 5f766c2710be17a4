package plugins

import "context"

// Bus topics published by corral and its built-in plugins.
const (
	// TopicMembership carries MembershipEvent values (published by the serf plugin).
	TopicMembership = "membership"
	// TopicHandlers carries a HandlerRegistry: the membership agent's list
	// of event handlers (published by the serf plugin when it starts;
	// joined by the hook plugin).
	TopicHandlers = "serf.handlers"
)

// Member is one node of the cluster as a membership plugin sees it.
type Member struct {
	// Name is the node name. It comes from the network: never trust it in a
	// config without validation or quoting.
	Name string
	// Addr is the node's advertised IP address (IPv4 dotted or IPv6).
	Addr string
	// Port is the node's gossip port.
	Port uint16
	// Tags are the node's tags (role, port, weight...), also untrusted.
	Tags map[string]string
	// Status is "alive", "leaving", "left" or "failed".
	Status string
}

// MembershipEvent is the payload of TopicMembership.
type MembershipEvent struct {
	// Type is Serf's event name: "member-join", "member-leave",
	// "member-failed", "member-update" or "member-reap".
	Type string
	// Members are the members the event is about.
	Members []Member
	// Alive is the full list of alive members after the event, sorted by name.
	Alive []Member
	// Self is the local node.
	Self Member
}

// HandlerFunc runs one event handler for one event, as a stock Serf agent
// runs a handler script: event is Serf's event name ("member-join",
// "member-leave", "member-failed", "member-update", "member-reap", "user"
// or "query"), name the user event's or query's name ("" otherwise), env
// and stdin what the stock agent gives its scripts. It returns the
// handler's output, which answers a query when not empty. A handler the
// event does not concern returns nil at once. ctx is cancelled when the
// agent stops.
type HandlerFunc = func(ctx context.Context, event, name string, env []string, stdin []byte) []byte

// HandlerRegistry is the payload of TopicHandlers: the agent runs its
// handlers one at a time, in event order, as a stock Serf agent does.
type HandlerRegistry interface {
	// AddHandler registers fn under name and returns what removes it.
	AddHandler(name string, fn HandlerFunc) (remove func())
}
