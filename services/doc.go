// Package services is corral's model of what to run: the service file schema,
// strict TOML decoding with errors that name file, line and key, validation,
// dependency order, and the live watch of the services directory.
//
// One service lives in one *.toml file; its name defaults to the file name
// without ".toml". The package does no process work: it turns files into a
// validated, ordered Set that the supervisor runs.
//
// # Service files
//
// corral reads every file ending in ".toml" in the services directory
// (/etc/services.d by default). Dotfiles, other names and directories are
// ignored; symlinks are followed, so a Kubernetes ConfigMap volume works. One
// file is one service. Example:
//
//	# /etc/services.d/web.toml
//	command = ["/usr/bin/web", "--listen", ":${PORT}"]
//	after = ["migrate"]
//	user = "www-data"
//	stop_timeout = "20s"
//
//	[env]
//	DATABASE_URL = "postgres://${DB_HOST}/app"
//
//	[ready]
//	http = "http://127.0.0.1:${PORT}/health"
//	timeout = "30s"
//
// # Keys
//
// Top-level keys:
//
//	name           string    Service name. Default: the file name without ".toml".
//	                         Letters, digits, '.', '_' and '-', starting with a letter or digit.
//	command        array     The argv to run, e.g. ["nginx", "-g", "daemon off;"].
//	               string    Or a shell line, run as ["/bin/sh", "-c", line].
//	plugin         string    Name of a compiled-in plugin to run instead of a command.
//	                         Exactly one of command and plugin is required. The plugin's
//	                         settings go in the table named after it, e.g. [serf].
//	type           string    "longrun" (default): stays up. "oneshot": runs to completion,
//	                         like s6-overlay's cont-init.d; what comes after it waits for
//	                         it to exit 0.
//	restart        string    "always" (default for longrun), "on-failure" (non-zero exit or
//	                         killed by a signal), "never" (default for oneshot).
//	after          array     Names of services this one requires and starts after: it waits
//	                         for them to be ready (a oneshot: to have exited 0); if one
//	                         fails for good, this one stays down (FATAL, with the reason).
//	wants          array     Names of services this one starts after without requiring
//	                         them: it starts once each is ready, has failed, or is not
//	                         starting. Their failure never keeps it down.
//	autostart      boolean   Default true. false: not started with corral nor by an update,
//	                         only by `supervisorctl start` (s6's ./down file).
//	finish         array     Runs after each exit of a longrun, with four arguments: the
//	               string    exit code (256 when killed by a signal), the signal number,
//	                         the service name and the process group id (s6's ./finish).
//	                         Its exit code 125 keeps the service down.
//	finish_timeout duration  Default "5s"; then the finish script is killed. "0s": no limit.
//	stop_command   array     A oneshot's undo (s6-rc's down script): run when the oneshot,
//	               string    having succeeded, is stopped; at shutdown in reverse order.
//	stdout_to      string    The service whose stdin reads this one's stdout (s6's log/run).
//	                         corral holds the pipe, so neither end's restart loses output;
//	                         that service starts before this one and stops after it.
//	clear_env      boolean   Start from PATH only (plus env) instead of the container's
//	                         environment, as s6-overlay starts its services.
//	env            table     Extra environment variables (strings). The container's
//	                         environment is inherited.
//	user           string    User name or numeric uid to run as. Default: corral's own.
//	                         Its primary group, supplementary groups and home ($HOME)
//	                         come from /etc/passwd and /etc/group.
//	group          string    Group name or numeric gid; overrides the user's primary group.
//	working_dir    string    Absolute directory to start in. Default: corral's.
//	stop_signal    string    Signal that asks the service to stop: "SIGTERM", "TERM",
//	               integer   "term" or a number. Default SIGTERM.
//	stop_timeout   duration  Wait after stop_signal before SIGKILL to the process group.
//	                         Default "10s".
//	reload_signal  signal    Sent on reload. Default SIGHUP.
//	essential      boolean   When it goes FATAL, the container stops (non-zero exit).
//	                         Default false.
//	timeout        duration  Oneshot only: the longest it may run; past it, it is killed
//	                         and counts as failed. Default none.
//	max_restarts   integer   Restarts allowed within restart_window before the service is
//	                         FATAL. Default 10; 0 means no limit.
//	restart_window duration  The window max_restarts counts in. Default "60s".
//
// Durations are strings in Go syntax: "500ms", "10s", "1m30s". Integers are
// refused for durations, to avoid guessing the unit.
//
// Table [ready] (longruns only) says when the service is ready; without it, a
// longrun is ready once started. Exactly one probe:
//
//	tcp        string    "host:port" that accepts a TCP connection.
//	http       string    URL that answers 2xx, e.g. "http://127.0.0.1:8080/health".
//	command    array     argv (or a shell line) that exits 0.
//	           string
//	notify_fd  integer   Descriptor number (3 or more) on which the service writes a
//	                     newline when ready, like s6's notification-fd.
//	timeout    duration  Longest wait; past it the start has failed. Default "60s";
//	                     "0s": no limit (the service is never killed for not being ready).
//	interval   duration  Polling period of tcp, http and command. Default "100ms".
//
// Table [backoff] shapes the delay between restarts:
//
//	initial     duration  Delay before the first restart. Default "0s" (immediate).
//	min         duration  Delay used after the first restart when initial is 0, so that
//	                      a crash loop never spins. Default "100ms".
//	multiplier  number    Each further delay is the last one times this (1 to 1000).
//	                      Default 2.
//	max         duration  Longest delay. Default "30s".
//	reset       duration  Uptime after which the delay goes back to initial.
//	                      Default "10s".
//
// Table [log] says where the output goes:
//
//	prefix      boolean          "[name] " before each console line. Default true.
//	console     boolean          Copy to corral's stdout/stderr. Default true.
//	files       boolean          Write rotating files under the log directory. Default true.
//	max_size    integer|string   Size at which the file rotates: bytes, or "1MB", "10MiB",
//	                             "512k" (k/M/G are powers of 1000, KiB/MiB/GiB of 1024).
//	                             Default 1000000.
//	keep        integer          Rotated files kept. Default 20.
//	timestamps  boolean          RFC 3339 time before each file line. Default true.
//
// Tables may also be written inline or with dotted keys:
// ready = { tcp = "127.0.0.1:80" } or ready.tcp = "127.0.0.1:80".
//
// # Variables
//
// Values in env are expanded from the container's environment: $NAME,
// ${NAME} and ${NAME:-default} (the default when NAME is unset or empty); an
// unset variable is empty; "$$" is a literal "$". A "$" followed by anything
// else is kept, so shell text such as "$1" or "$(date)" passes through.
// command, working_dir and the [ready] probes are expanded the same way, but
// see the service's own env over the container's. For a shell-line command
// this happens before the shell runs: write "$$VAR" to leave $VAR to the
// shell.
//
// # Errors
//
// Every problem is an *Error naming the file, the line and the key:
//
//	/etc/services.d/web.toml:3: key "restrat": unknown key (did you mean "restart"?)
//
// A file is rejected before it is decoded, with the line and key where it
// crosses a bound, when it is larger than 1 MiB (MaxFileSize), nested more
// than 32 levels deep (MaxDepth: each part of a table header or dotted key,
// each inline table and each array counts a level), has more than 4096 keys
// (MaxKeys: each part of a dotted key counted), more than 4096 arrays and
// inline tables (MaxContainers), an array of more than 4096 elements
// (MaxListLen), or a key longer than 256 bytes (MaxKeyLen). Such an error
// wraps ErrLimit. No service file needs to come near these bounds; they
// keep the decoding of any file to tens of milliseconds.
//
// A bad file is reported and left out; the other files load. A service is
// also left out, with an error naming the reason, when it is in a duplicate
// name, when its after names itself, an unknown service (with the nearest
// name suggested) or a service left out, or when it is in a dependency cycle
// (the cycle is named: a -> b -> a, with the files).
//
// # Changes
//
// Watch reports changes to the directory in bursts, and Compare tells which
// services were added, changed (by Hash: the definition after expansion and
// defaults) or removed, and which of the removed ones are only invalid now
// (a supervisor keeps those running with their old definition).
package services
