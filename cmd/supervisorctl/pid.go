package main

import (
	"strconv"

	"github.com/corralhq/corral/control"
)

func init() {
	commands["pid"] = command{run: runPID, help: []string{
		"pid\t\t\tGet the PID of supervisord.",
		"pid <name>\t\tGet the PID of a single child process by name.",
		"pid all\t\t\tGet the PID of every child process, one per line.",
	}}
}

// runPID is supervisorctl's pid: corral's pid, a service's (0 and exit 7
// when it has none), or every service's.
func runPID(c *ctl, args []string) int {
	if len(args) == 0 {
		pid, err := c.client.PID(c.ctx)
		if err != nil {
			return c.connFail(err)
		}
		c.println(strconv.Itoa(pid))
		return exitSuccess
	}
	sr, err := c.client.Status(c.ctx)
	if err != nil {
		return c.connFail(err)
	}
	control.SortByName(sr.Services)
	for _, a := range args {
		if a == "all" {
			for _, st := range sr.Services {
				c.println(strconv.Itoa(st.PID))
			}
			return exitSuccess
		}
	}
	code := exitSuccess
	for _, spec := range args {
		name, group := control.SplitName(spec)
		found := false
		for _, st := range sr.Services {
			if !group && st.Name == name {
				found = true
				c.println(strconv.Itoa(st.PID))
				if st.PID == 0 {
					code = exitNotRunning
				}
			}
		}
		if !found {
			c.println("No such process " + spec)
			code = exitGeneric
		}
	}
	return code
}
