package serf

import (
	"net"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/hashicorp/serf/coordinate"
	hserf "github.com/hashicorp/serf/serf"
)

// Serf's RPC ("IPC") protocol, version 1, as spoken by the serf CLI: over a
// TCP connection the client sends msgpack values, a request header followed
// by the command's body (if it has one); the server answers with a response
// header carrying the same Seq, followed by the command's result (if it has
// one). Streams (monitor, stream) keep sending header+record pairs with the
// Seq of the request that opened them until the client sends "stop".

// rpcVersion is the only protocol version served.
const rpcVersion = 1

// Commands.
const (
	cmdHandshake       = "handshake"
	cmdAuth            = "auth"
	cmdEvent           = "event"
	cmdForceLeave      = "force-leave"
	cmdJoin            = "join"
	cmdMembers         = "members"
	cmdMembersFiltered = "members-filtered"
	cmdStream          = "stream"
	cmdStop            = "stop"
	cmdMonitor         = "monitor"
	cmdLeave           = "leave"
	cmdInstallKey      = "install-key"
	cmdUseKey          = "use-key"
	cmdRemoveKey       = "remove-key"
	cmdListKeys        = "list-keys"
	cmdTags            = "tags"
	cmdStats           = "stats"
	cmdGetCoordinate   = "get-coordinate"
	cmdQuery           = "query"
	cmdRespond         = "respond"
)

// Query record types of a query's response stream.
const (
	queryRecordAck      = "ack"
	queryRecordResponse = "response"
	queryRecordDone     = "done"
)

// Error strings the CLI knows (it compares some of them).
const (
	errUnsupportedCommand = "Unsupported command"
	errUnsupportedVersion = "Unsupported IPC version"
	errDuplicateHandshake = "Handshake already performed"
	errHandshakeRequired  = "Handshake required"
	errMonitorExists      = "Monitor already exists"
	errInvalidFilter      = "Invalid event filter"
	errStreamExists       = "Stream with given sequence exists"
	errAuthRequired       = "Authentication required"
	errInvalidAuthToken   = "Invalid authentication token"
	errInvalidQueryID     = "No pending queries matching ID"
)

// rpcRequestHeader precedes every request.
type rpcRequestHeader struct {
	Command string
	Seq     uint64
}

// rpcResponseHeader precedes every response and stream record.
type rpcResponseHeader struct {
	Seq   uint64
	Error string
}

type rpcHandshakeRequest struct {
	Version int32
}

type rpcAuthRequest struct {
	AuthKey string
}

type rpcEventRequest struct {
	Name     string
	Payload  []byte
	Coalesce bool
}

type rpcForceLeaveRequest struct {
	Node  string
	Prune bool
}

type rpcJoinRequest struct {
	Existing []string
	Replay   bool
}

type rpcJoinResponse struct {
	Num int32
}

type rpcMembersFilteredRequest struct {
	Tags   map[string]string
	Status string
	Name   string
}

type rpcMembersResponse struct {
	Members []rpcMember
}

type rpcKeyRequest struct {
	Key string
}

type rpcKeyResponse struct {
	Messages map[string]string
	Keys     map[string]int
	NumNodes int
	NumErr   int
	NumResp  int
}

type rpcMonitorRequest struct {
	LogLevel string
}

type rpcStreamRequest struct {
	Type string
}

type rpcStopRequest struct {
	Stop uint64
}

type rpcTagsRequest struct {
	Tags       map[string]string
	DeleteTags []string
}

type rpcCoordinateRequest struct {
	Node string
}

type rpcCoordinateResponse struct {
	Coord coordinate.Coordinate
	Ok    bool
}

type rpcQueryRequest struct {
	FilterNodes []string
	FilterTags  map[string]string
	RequestAck  bool
	RelayFactor uint8
	Timeout     time.Duration
	Name        string
	Payload     []byte
}

type rpcRespondRequest struct {
	ID      uint64
	Payload []byte
}

// rpcQueryRecord is one record of a query's response stream: an ack, a
// response, or the end.
type rpcQueryRecord struct {
	Type    string
	From    string
	Payload []byte
}

// rpcQueryEventRecord is a query on an event stream; the client answers
// it with "respond" and the ID.
type rpcQueryEventRecord struct {
	Event   string
	ID      uint64
	LTime   hserf.LamportTime
	Name    string
	Payload []byte
}

// rpcLogRecord is one line of a monitor stream.
type rpcLogRecord struct {
	Log string
}

// rpcUserEventRecord is a user event on an event stream.
type rpcUserEventRecord struct {
	Event    string
	LTime    hserf.LamportTime
	Name     string
	Payload  []byte
	Coalesce bool
}

// rpcMemberEventRecord is a member event on an event stream.
type rpcMemberEventRecord struct {
	Event   string
	Members []rpcMember
}

// rpcMember is a member as the CLI decodes it.
type rpcMember struct {
	Name        string
	Addr        net.IP
	Port        uint16
	Tags        map[string]string
	Status      string
	ProtocolMin uint8
	ProtocolMax uint8
	ProtocolCur uint8
	DelegateMin uint8
	DelegateMax uint8
	DelegateCur uint8
}

// toRPCMember converts a Serf member.
func toRPCMember(m hserf.Member) rpcMember {
	return rpcMember{
		Name: m.Name, Addr: m.Addr, Port: m.Port, Tags: m.Tags, Status: m.Status.String(),
		ProtocolMin: m.ProtocolMin, ProtocolMax: m.ProtocolMax, ProtocolCur: m.ProtocolCur,
		DelegateMin: m.DelegateMin, DelegateMax: m.DelegateMax, DelegateCur: m.DelegateCur,
	}
}

// toRPCMembers converts a list of Serf members.
func toRPCMembers(ms []hserf.Member) []rpcMember {
	out := make([]rpcMember, 0, len(ms))
	for _, m := range ms {
		out = append(out, toRPCMember(m))
	}
	return out
}

// rpcHandle is the msgpack handle of a connection. Times are encoded the
// way serf CLIs before 0.10 (Debian's) expect, which current ones accept
// too.
func rpcHandle() *codec.MsgpackHandle {
	h := &codec.MsgpackHandle{WriteExt: true}
	h.TimeNotBuiltin = true
	return h
}

// errString is "" for nil, else the error's text.
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
