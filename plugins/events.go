package plugins

// Bus topics published by corral and its built-in plugins.
const (
	// TopicMembership carries MembershipEvent values (published by the serf plugin).
	TopicMembership = "membership"
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
