package logforward

import (
	"strconv"
	"time"

	"github.com/corralhq/corral/supervisor/logfile"
	"github.com/corralhq/corral/supervisor/output"
)

// EnterpriseNumber is the private enterprise number in the structured data
// ID "corral@32473". 32473 is the number IANA reserves for documentation
// (RFC 5612): a placeholder until corral registers its own.
const EnterpriseNumber = 32473

// sdID is the SD-ID of the structured data element each message carries
// ("corral@" and EnterpriseNumber).
const sdID = "corral@32473"

// Severities of each stream's messages.
const (
	severityStdout = 6 // info
	severityStderr = 3 // err
)

// maxUDPMessage bounds a datagram's payload.
const maxUDPMessage = 65000

// formatter builds RFC 5424 messages.
type formatter struct {
	hostname []byte
	facility int
	udp      bool // cut messages to fit a datagram
	msg      []byte
}

// newFormatter returns a formatter for a host.
func newFormatter(hostname string, facility int, udp bool) *formatter {
	return &formatter{hostname: sanitize(hostname, 255), facility: facility, udp: udp}
}

// sanitize makes s a valid RFC 5424 header field: PRINTUSASCII only, at
// most max bytes, "-" when empty.
func sanitize(s string, max int) []byte {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s) && len(b) < max; i++ {
		c := s[i]
		if c < 33 || c > 126 {
			c = '_'
		}
		b = append(b, c)
	}
	if len(b) == 0 {
		b = append(b, '-')
	}
	return b
}

// appendSDValue appends v escaped as an SD-PARAM value: '"', '\' and ']'
// get a backslash (RFC 5424 section 6.3.3).
func appendSDValue[T string | []byte](b []byte, v T) []byte {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '"' || c == '\\' || c == ']' {
			b = append(b, '\\')
		}
		b = append(b, c)
	}
	return b
}

// appendTimestamp appends t as an RFC 5424 TIMESTAMP (UTC, microseconds,
// the most the RFC allows).
func appendTimestamp(b []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000Z")
}

// append appends one message for a line of app's stream, framed by octet
// counting (RFC 6587: the length, a space, the message); the UDP sender
// takes the frames apart. The line's timestamp prefix, when there is one,
// becomes the TIMESTAMP.
func (f *formatter) append(b []byte, app []byte, stream output.Stream, seq uint64, line []byte) []byte {
	m := f.msg[:0]
	sev := severityStdout
	if stream == output.Stderr {
		sev = severityStderr
	}
	m = append(m, '<')
	m = strconv.AppendInt(m, int64(f.facility*8+sev), 10)
	m = append(m, '>', '1', ' ')
	if t, rest, ok := logfile.SplitTimestamp(line); ok {
		m = appendTimestamp(m, t)
		line = rest
	} else {
		m = append(m, '-')
	}
	m = append(m, ' ')
	m = append(m, f.hostname...)
	m = append(m, ' ')
	m = append(m, app...)
	m = append(m, " - - ["...)
	m = append(m, sdID...)
	m = append(m, ` stream="`...)
	m = appendSDValue(m, stream.String())
	m = append(m, `" seq="`...)
	m = strconv.AppendUint(m, seq, 10)
	m = append(m, `"] `...)
	m = append(m, line...)
	f.msg = m
	if f.udp && len(m) > maxUDPMessage {
		m = m[:maxUDPMessage]
	}
	b = strconv.AppendInt(b, int64(len(m)), 10)
	b = append(b, ' ')
	return append(b, m...)
}
