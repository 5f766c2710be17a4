// Command supervisorctl controls a running corral the way supervisord's
// supervisorctl controls supervisord: same verbs, same output, same exit
// codes, over corral's control socket.
//
//	supervisorctl [-s PATH | --serverurl unix:///PATH] COMMAND [ARGS...]
//
// The socket is, in order: -s/--serverurl, $CORRAL_SOCKET, then the first
// control.sock found along control.RuntimeDirs (/run/corral first). Run
// "supervisorctl help" for the commands.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/corralhq/corral/control"
)

// Exit codes, as supervisorctl's LSBInitExitStatuses and
// LSBStatusExitStatuses.
const (
	exitSuccess       = 0
	exitGeneric       = 1
	exitInvalidArgs   = 2
	exitStatusDown    = 3 // status: some listed service is not running
	exitStatusUnknown = 4 // status: unknown name or no connection
	exitNoPrivileges  = 4
	exitNotRunning    = 7
)

// ctl is one invocation's context, shared by the subcommands.
type ctl struct {
	client *control.Client
	out    io.Writer
	errw   io.Writer
	// loc is where stop times are shown (the local zone, as supervisord).
	loc *time.Location
	// ctx is cancelled on SIGINT/SIGTERM.
	ctx context.Context
}

// println writes one line to stdout, as supervisorctl's output().
func (c *ctl) println(s string) { fmt.Fprintln(c.out, s) }

// command is one subcommand.
type command struct {
	// run executes the command and returns the exit code.
	run func(c *ctl, args []string) int
	// help is the lines of "help <name>".
	help []string
}

// commands is filled by each subcommand's file.
var commands = map[string]command{}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses the global flags and dispatches; it returns the exit code.
func run(ctx context.Context, args []string, out, errw io.Writer) int {
	socket := os.Getenv("CORRAL_SOCKET")
	if socket == "" {
		socket = control.FindSocket()
	}
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		flag, val, hasVal := strings.Cut(args[0], "=")
		switch flag {
		case "-s", "--serverurl", "-serverurl":
			if !hasVal {
				if len(args) < 2 {
					fmt.Fprintf(errw, "Error: option %s requires an argument\n", flag)
					return exitInvalidArgs
				}
				val, args = args[1], args[1:]
			}
			socket = strings.TrimPrefix(val, "unix://")
		case "-h", "--help", "-help":
			usage(out)
			return exitSuccess
		default:
			fmt.Fprintf(errw, "Error: unknown option %s\n", args[0])
			usage(errw)
			return exitInvalidArgs
		}
		args = args[1:]
	}
	c := &ctl{client: control.NewClient(socket), out: out, errw: errw, loc: time.Local, ctx: ctx}
	if len(args) == 0 {
		// supervisorctl's shell starts by showing the status; without a
		// shell, show it and stop.
		args = []string{"status"}
	}
	cmd, ok := commands[args[0]]
	if !ok {
		c.println("*** Unknown syntax: " + strings.Join(args, " "))
		return exitGeneric
	}
	return cmd.run(c, args[1:])
}

// usage prints the global usage.
func usage(w io.Writer) {
	fmt.Fprint(w, `supervisorctl -- control corral's services

Usage: supervisorctl [-s PATH | --serverurl unix:///PATH] COMMAND [ARGS...]

Options:
  -s, --serverurl  the control socket (default: $CORRAL_SOCKET, else `+control.DefaultSocket+` or its fallbacks)
  -h, --help       print this message

Commands: run "supervisorctl help" and "supervisorctl help COMMAND".
`)
}

// connFail prints a failure to reach the server as supervisorctl's upcheck
// does and returns its exit code: 4 when refused (or not allowed, or the
// server is not trusted: see control.UntrustedError), 7 when
// the socket does not exist, 1 otherwise. Errors that are not ConnErrors
// print as "error: ...".
func (c *ctl) connFail(err error) int {
	if ce, ok := err.(*control.ConnError); ok {
		c.println(ce.Error())
		switch ce.Kind {
		case control.Refused, control.PermissionDenied, control.Untrusted:
			return exitNoPrivileges
		case control.NoSuchFile:
			return exitNotRunning
		}
		return exitGeneric
	}
	if c.ctx.Err() != nil {
		c.println("")
		return exitGeneric
	}
	c.println("error: " + err.Error())
	return exitGeneric
}

// printHelp prints a command's help lines.
func (c *ctl) printHelp(name string) {
	for _, l := range commands[name].help {
		c.println(l)
	}
}
