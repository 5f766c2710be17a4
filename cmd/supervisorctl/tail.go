package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/corralhq/corral/control"
)

func init() {
	commands["tail"] = command{run: runTail, help: []string{
		"tail [-f] [-n N] <name> [stdout|stderr] (default stdout)",
		"Ex:",
		"tail -f <name>\t\tContinuous tail of named process stdout",
		"\t\t\tCtrl-C to exit.",
		"tail -n 20 <name>\tlast 20 lines of process stdout",
		"tail -100 <name>\tlast 100 *bytes* of process stdout",
		"tail <name> stderr\tlast 1600 *bytes* of process stderr",
	}}
}

// runTail is supervisorctl's tail, plus -n N for lines: the last 1600 bytes
// by default, -N bytes, -n N lines, -f to follow until Ctrl-C.
func runTail(c *ctl, args []string) int {
	req := control.TailRequest{Bytes: 1600}
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-f":
			req.Follow = true
		case a == "-n" || strings.HasPrefix(a, "-n") && len(a) > 2:
			v := strings.TrimPrefix(a, "-n")
			if v == "" {
				if i+1 >= len(args) {
					c.println("Error: bad argument " + a)
					return exitGeneric
				}
				i++
				v = args[i]
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				c.println("Error: bad argument -n " + v)
				return exitGeneric
			}
			req.Lines = n
		case strings.HasPrefix(a, "-") && len(a) > 1:
			n, err := strconv.ParseInt(a[1:], 10, 64)
			if err != nil || n < 0 {
				c.println("Error: bad argument " + a)
				return exitGeneric
			}
			req.Bytes = n
		default:
			rest = append(rest, a)
		}
	}
	switch {
	case len(rest) < 1:
		c.println("Error: too few arguments")
		c.printHelp("tail")
		return exitGeneric
	case len(rest) > 2:
		c.println("Error: too many arguments")
		c.printHelp("tail")
		return exitGeneric
	}
	req.Name = rest[0]
	req.Stream = "stdout"
	if len(rest) == 2 {
		req.Stream = strings.ToLower(rest[1])
		if req.Stream != "stdout" && req.Stream != "stderr" {
			c.println("Error: bad channel " + pyRepr(req.Stream))
			return exitGeneric
		}
	}
	if req.Lines > 0 {
		req.Bytes = 0
	}
	if req.Follow {
		// supervisorctl's tail -f starts with the last 1600 bytes too,
		// unless -n asked for lines.
		err := c.client.Tail(c.ctx, req, c.out)
		if err != nil && c.ctx.Err() == nil {
			return tailFail(c, req.Name, err)
		}
		c.println("")
		return exitSuccess
	}
	var b strings.Builder
	if err := c.client.Tail(c.ctx, req, &b); err != nil {
		return tailFail(c, req.Name, err)
	}
	// supervisorctl adds a newline after the bytes; add one only when they
	// do not end a line, so that a tail of whole lines stays whole.
	out := b.String()
	if out != "" && !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	fmt.Fprint(c.out, out)
	return exitSuccess
}

// tailFail prints supervisorctl's tail errors.
func tailFail(c *ctl, name string, err error) int {
	var ae *control.APIError
	if errors.As(err, &ae) {
		switch ae.Code {
		case control.CodeNoSuchProcess:
			c.println(name + ": ERROR (no such process name)")
		case control.CodeNoLogFile:
			c.println(name + ": ERROR (no log file)")
		default:
			c.println(name + ": ERROR (" + ae.Message + ")")
		}
		return exitGeneric
	}
	return c.connFail(err)
}

// pyRepr quotes s as Python's repr of a plain string does.
func pyRepr(s string) string {
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}
