package s6

import (
	"fmt"
	"syscall"
	"time"

	"github.com/corralhq/corral/s6/execline"
)

// Kind is an s6-rc service type.
type Kind int

const (
	// Oneshot runs its up command once, and its down command at stop.
	Oneshot Kind = iota
	// Longrun is a supervised process.
	Longrun
	// Bundle names a set of services.
	Bundle
)

// String returns the spelling of k in a type file.
func (k Kind) String() string {
	switch k {
	case Oneshot:
		return "oneshot"
	case Longrun:
		return "longrun"
	case Bundle:
		return "bundle"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Definition is one service as an s6 tree defines it: an s6-rc source
// definition, a legacy /etc/services.d longrun, or its log/ logger.
type Definition struct {
	// Name is the service name (the directory's name; "<name>-log" for the
	// logger of a legacy longrun).
	Name string
	// Dir is the definition's directory.
	Dir string
	// Kind is its type.
	Kind Kind
	// Legacy is set for /etc/services.d longruns and their loggers.
	Legacy bool
	// Synthesised is set for the user and user2 bundles when the image has
	// no type file for them (s6-overlay's tarball provided it).
	Synthesised bool

	// Contents are a bundle's members (contents.d or contents).
	Contents []string
	// Deps are the direct dependencies (dependencies.d or dependencies);
	// they may name bundles.
	Deps []string

	// Up and Down are a oneshot's command files, lexed; Down may be nil.
	Up, Down *execline.Script
	// UpPath and DownPath are their paths.
	UpPath, DownPath string

	// Run and Finish are a longrun's scripts (Finish may be "").
	Run, Finish string
	// NotificationFD is the readiness descriptor (0: none).
	NotificationFD int
	// NormallyDown is set by a legacy longrun's down file.
	NormallyDown bool
	// Logger is the name of the service reading this one's output (a
	// legacy log/ logger, or the consumer of producer-for).
	Logger string
	// LoggerOf is set on a legacy log/ logger: the service it logs.
	LoggerOf string

	// Timeouts; zero means none (TimeoutFinish: see HasTimeoutFinish).
	TimeoutUp, TimeoutDown, TimeoutKill, TimeoutFinish time.Duration
	// HasTimeoutFinish is set when a timeout-finish file exists (the
	// default is s6's 5 s).
	HasTimeoutFinish bool
	// DownSignal and ReloadSignal; zero means the default.
	DownSignal, ReloadSignal syscall.Signal

	// ProducerFor is the longrun that reads this one's stdout.
	ProducerFor string
	// ConsumerFor are the longruns whose stdout this one reads.
	ConsumerFor []string

	// Digest identifies the definition's content (every file under Dir),
	// so that an edited run script is a changed service; set by Translate.
	Digest string
}
