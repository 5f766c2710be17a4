package logfile

import (
	"log/slog"
)

// Defaults used for zero Options fields.
const (
	// DefaultDir is corral's log root unless --log-dir says otherwise.
	DefaultDir = "/var/log/corral"
	// DefaultMaxSize is the size at which current rotates (s6-log's s1000000).
	DefaultMaxSize = 1000000
	// DefaultKeep is how many archives are kept per stream (s6-log's n20).
	DefaultKeep = 20
	// DefaultBufferSize bounds the bytes waiting to be written per stream.
	DefaultBufferSize = 1 << 20
)

// Options configure the files of one service.
type Options struct {
	// Dir is the log root (corral's --log-dir).
	Dir string
	// MaxSize is the size in bytes past which current is rotated (0: DefaultMaxSize).
	MaxSize int64
	// Keep is how many archives are kept per stream (0: DefaultKeep; negative: none).
	Keep int
	// Timestamps prefixes each line with its RFC 3339 nanosecond time.
	Timestamps bool
	// BufferSize bounds the bytes waiting to be written per stream; lines
	// that do not fit are dropped from the file (0: DefaultBufferSize).
	BufferSize int
	// Logger receives write errors (nil: slog.Default()).
	Logger *slog.Logger
}

// With returns o overridden by a service's [log] settings (services.Log,
// defaults filled in): maxSize when positive, keep as is (0 means no
// archives: current is cut and the old part deleted), and timestamps.
func (o Options) With(maxSize int64, keep int, timestamps bool) Options {
	if maxSize > 0 {
		o.MaxSize = maxSize
	}
	o.Keep = keep
	if keep == 0 {
		o.Keep = -1
	}
	o.Timestamps = timestamps
	return o
}

func (o Options) withDefaults() Options {
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultMaxSize
	}
	if o.Keep == 0 {
		o.Keep = DefaultKeep
	}
	if o.Keep < 0 {
		o.Keep = 0
	}
	if o.BufferSize <= 0 {
		o.BufferSize = DefaultBufferSize
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}
