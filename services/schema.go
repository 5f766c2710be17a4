package services

import (
	"time"

	"github.com/corralhq/corral/supervisor/logfile"
)

// Defaults filled in by Parse for keys a file leaves out.
const (
	DefaultStopTimeout    = 10 * time.Second
	DefaultFinishTimeout  = 5 * time.Second
	DefaultMaxRestarts    = 10
	DefaultRestartWindow  = 60 * time.Second
	DefaultReadyTimeout   = 60 * time.Second
	DefaultReadyInterval  = 100 * time.Millisecond
	DefaultBackoffInitial = 0
	DefaultBackoffMax     = 30 * time.Second
	DefaultBackoffMult    = 2.0
	DefaultBackoffReset   = 10 * time.Second
	DefaultBackoffMin     = 100 * time.Millisecond
	DefaultLogMaxSize     = logfile.DefaultMaxSize
	DefaultLogKeep        = logfile.DefaultKeep
)

// rawService is a service file as written: pointers and `any` mark keys
// whose absence or type matters. Parse turns it into a Service.
type rawService struct {
	Name          *string           `toml:"name"`
	Command       any               `toml:"command"`
	Plugin        *string           `toml:"plugin"`
	Type          *string           `toml:"type"`
	Restart       *string           `toml:"restart"`
	After         []string          `toml:"after"`
	Wants         []string          `toml:"wants"`
	Autostart     *bool             `toml:"autostart"`
	Finish        any               `toml:"finish"`
	FinishTimeout *time.Duration    `toml:"finish_timeout"`
	StopCommand   any               `toml:"stop_command"`
	StdoutTo      string            `toml:"stdout_to"`
	ClearEnv      bool              `toml:"clear_env"`
	Env           map[string]string `toml:"env"`
	User          any               `toml:"user"`
	Group         any               `toml:"group"`
	WorkingDir    string            `toml:"working_dir"`
	StopSignal    any               `toml:"stop_signal"`
	StopTimeout   *time.Duration    `toml:"stop_timeout"`
	ReloadSignal  any               `toml:"reload_signal"`
	Essential     bool              `toml:"essential"`
	Timeout       *time.Duration    `toml:"timeout"`
	MaxRestarts   *int              `toml:"max_restarts"`
	RestartWindow *time.Duration    `toml:"restart_window"`
	Ready         *rawReady         `toml:"ready"`
	Backoff       rawBackoff        `toml:"backoff"`
	Log           rawLog            `toml:"log"`
}

// rawReady is the [ready] table.
type rawReady struct {
	TCP      *string        `toml:"tcp"`
	HTTP     *string        `toml:"http"`
	Command  any            `toml:"command"`
	NotifyFD *int           `toml:"notify_fd"`
	Timeout  *time.Duration `toml:"timeout"`
	Interval *time.Duration `toml:"interval"`
}

// rawBackoff is the [backoff] table.
type rawBackoff struct {
	Initial    *time.Duration `toml:"initial"`
	Max        *time.Duration `toml:"max"`
	Multiplier *float64       `toml:"multiplier"`
	Reset      *time.Duration `toml:"reset"`
	Min        *time.Duration `toml:"min"`
}

// rawLog is the [log] table.
type rawLog struct {
	Prefix     *bool `toml:"prefix"`
	Console    *bool `toml:"console"`
	Files      *bool `toml:"files"`
	MaxSize    any   `toml:"max_size"`
	Keep       *int  `toml:"keep"`
	Timestamps *bool `toml:"timestamps"`
}
