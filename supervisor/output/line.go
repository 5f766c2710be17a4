// Package output is the path of a service's output inside corral: the two
// pipes of a process, the reader that cuts them into whole Lines (over-long
// lines in MaxLine pieces), the LineSink interface every destination
// implements (the console with its "[name] " prefix here, the rotating files
// in package logfile), and Stream.
package output

import "time"

// Stream says which output a line came from.
type Stream int

const (
	// Stdout is the service's standard output.
	Stdout Stream = iota
	// Stderr is the service's standard error.
	Stderr
)

// String returns "stdout" or "stderr".
func (s Stream) String() string {
	if s == Stderr {
		return "stderr"
	}
	return "stdout"
}

// Line is one line of a service's output, without its newline. Lines longer
// than MaxLine are cut into several Lines, each with Partial set but the last.
type Line struct {
	Service string
	Stream  Stream
	Time    time.Time
	// Text is only valid during the WriteLine call; copy it to keep it.
	Text []byte
	// Partial marks a piece of an over-long line that continues in the next Line.
	Partial bool
}

// MaxLine is the longest line passed whole to sinks (64 KiB).
const MaxLine = 64 << 10

// LineSink receives service output. WriteLine is called from the service's
// reader goroutine and must not block for long: a sink that can stall (a full
// disk, a slow network) buffers or drops and reports, never blocks the
// service. Sinks are called in the order they were added.
type LineSink interface {
	WriteLine(l *Line)
	// Close flushes and releases the sink for that service.
	Close() error
}
