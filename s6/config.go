package s6

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Config holds the S6_* variables corral honours, with s6-overlay's
// meanings and defaults (see the README for the differences).
type Config struct {
	// KeepEnv (S6_KEEP_ENV, default 0): services, oneshots and the main
	// command get the whole container environment, there is no dump and
	// with-contenv does nothing. Otherwise they get PATH only.
	KeepEnv bool
	// Behaviour (S6_BEHAVIOUR_IF_STAGE2_FAILS, default 0): 0 continue
	// silently, 1 continue with warnings, 2 stop the container.
	Behaviour int
	// StageHook (S6_STAGE2_HOOK): a command run before the trees are read.
	StageHook string
	// CmdWaitForServices (S6_CMD_WAIT_FOR_SERVICES, default 0): what comes
	// after legacy-services (user2, the main command) waits for the
	// /etc/services.d longruns to be up (ready with notification-fd).
	CmdWaitForServices bool
	// CmdWaitMaxTime (S6_CMD_WAIT_FOR_SERVICES_MAXTIME, default 0 = none):
	// the longest the main command waits for the services.
	CmdWaitMaxTime time.Duration
	// ServicesReadyTime (S6_SERVICES_READYTIME, default 50 ms): accepted;
	// corral needs no race workaround (it knows when a service is up).
	ServicesReadyTime time.Duration
	// ServicesGraceTime (S6_SERVICES_GRACETIME, default 3 s): what a legacy
	// longrun gets after SIGTERM, plus KillGraceTime, before SIGKILL.
	ServicesGraceTime time.Duration
	// KillGraceTime (S6_KILL_GRACETIME, default 3 s): what the main command
	// gets after SIGTERM before SIGKILL. Never slept when nothing is left.
	KillGraceTime time.Duration
	// KillFinishMaxTime (S6_KILL_FINISH_MAXTIME, default 0 = none): the
	// longest a /etc/cont-finish.d script may run.
	KillFinishMaxTime time.Duration
	// CmdArg0 (S6_CMD_ARG0): words put before the main command.
	CmdArg0 []string
	// CmdReceiveSignals (S6_CMD_RECEIVE_SIGNALS, default 0).
	CmdReceiveSignals bool
	// CmdUseTerminal (S6_CMD_USE_TERMINAL, default 0).
	CmdUseTerminal bool
	// Verbosity (S6_VERBOSITY, default 2): 0 errors, 1 warnings, 2 info,
	// 3 and more debug.
	Verbosity int
	// Logging (S6_LOGGING, default 0): 0 services write to the console as
	// they are (no [name] prefix, no log files); 1 prefixed console and
	// log files; 2 log files only.
	Logging int
	// ReadOnlyRoot (S6_READ_ONLY_ROOT, default 0): mount a tmpfs on /run
	// when it is not writable.
	ReadOnlyRoot bool
	// SyncDisks (S6_SYNC_DISKS, default 0): sync(2) before exiting.
	SyncDisks bool
	// RuntimeProfile (S6_RUNTIME_PROFILE): read the trees from
	// /etc/cont-profile.d/<profile>.
	RuntimeProfile string
	// FixAttrsHidden (S6_FIX_ATTRS_HIDDEN, default 0): fix-attrs recursion
	// includes dotfiles.
	FixAttrsHidden bool
}

// Honoured lists the S6_* variables corral reads; any other S6_* variable
// set in the container is reported as not supported.
var Honoured = []string{
	"S6_KEEP_ENV", "S6_BEHAVIOUR_IF_STAGE2_FAILS", "S6_STAGE2_HOOK", "S6_CMD_WAIT_FOR_SERVICES",
	"S6_CMD_WAIT_FOR_SERVICES_MAXTIME", "S6_SERVICES_READYTIME", "S6_SERVICES_GRACETIME",
	"S6_KILL_GRACETIME", "S6_KILL_FINISH_MAXTIME", "S6_CMD_ARG0", "S6_CMD_RECEIVE_SIGNALS",
	"S6_CMD_USE_TERMINAL", "S6_VERBOSITY", "S6_LOGGING", "S6_READ_ONLY_ROOT", "S6_SYNC_DISKS",
	"S6_RUNTIME_PROFILE", "S6_FIX_ATTRS_HIDDEN",
}

// Unsupported says why corral ignores the S6_* variables it does not honour.
var Unsupported = map[string]string{
	"S6_LOGGING_SCRIPT":      "there is no catch-all logger: S6_LOGGING=1 or 2 writes corral's rotating log files (--log-dir) instead",
	"S6_CATCHALL_USER":       "there is no catch-all logger process to run as another user",
	"S6_RUNTIME_BUNDLEDIR":   "the bundles are read from /etc/s6-overlay/user-bundles.d (or s6-rc.d)",
	"S6_WAIT_FOR_CLOSING_FD": "not supported",
	"S6_YES_I_WANT_A_WORLD_WRITABLE_RUN_BECAUSE_KUBERNETES": "corral does not check /run's ownership",
}

// numeric matches s6-overlay's test for numeric variables.
var numeric = regexp.MustCompile(`^[0-9]+$`)

// ReadConfig reads the S6_* variables. env is the container environment
// as corral received it (read at boot by s6-overlay's /init and stage0);
// contEnv is the container environment as stage 2 reads it (printcontenv:
// after S6_STAGE2_HOOK, which may change it). contEnv may be env.
func ReadConfig(env, contEnv func(string) (string, bool)) Config {
	num := func(get func(string) (string, bool), name string, def int) int {
		v, ok := get(name)
		if !ok || !numeric.MatchString(v) {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return def
		}
		return n
	}
	// flag is s6-overlay's `test "0$VAR" -ne 0`: non-numbers are 0.
	flag := func(get func(string) (string, bool), name string) bool {
		return num(get, name, 0) != 0
	}
	ms := func(get func(string) (string, bool), name string, def int) time.Duration {
		return time.Duration(num(get, name, def)) * time.Millisecond
	}
	c := Config{
		KeepEnv:           flag(env, "S6_KEEP_ENV"),
		Logging:           num(env, "S6_LOGGING", 0),
		KillGraceTime:     ms(env, "S6_KILL_GRACETIME", 3000),
		SyncDisks:         flag(env, "S6_SYNC_DISKS"),
		ReadOnlyRoot:      flag(env, "S6_READ_ONLY_ROOT"),
		CmdReceiveSignals: flag(env, "S6_CMD_RECEIVE_SIGNALS"),

		Behaviour:          num(contEnv, "S6_BEHAVIOUR_IF_STAGE2_FAILS", 0),
		CmdWaitForServices: flag(contEnv, "S6_CMD_WAIT_FOR_SERVICES"),
		CmdWaitMaxTime:     ms(contEnv, "S6_CMD_WAIT_FOR_SERVICES_MAXTIME", 0),
		ServicesReadyTime:  ms(contEnv, "S6_SERVICES_READYTIME", 50),
		ServicesGraceTime:  ms(contEnv, "S6_SERVICES_GRACETIME", 3000),
		KillFinishMaxTime:  ms(contEnv, "S6_KILL_FINISH_MAXTIME", 0),
		CmdUseTerminal:     flag(contEnv, "S6_CMD_USE_TERMINAL"),
		Verbosity:          num(contEnv, "S6_VERBOSITY", 2),
		FixAttrsHidden:     flag(contEnv, "S6_FIX_ATTRS_HIDDEN"),
	}
	c.StageHook, _ = contEnv("S6_STAGE2_HOOK")
	if a, ok := contEnv("S6_CMD_ARG0"); ok {
		c.CmdArg0 = strings.Fields(a)
	}
	c.RuntimeProfile, _ = contEnv("S6_RUNTIME_PROFILE")
	return c
}
