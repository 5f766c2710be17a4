package main

import (
	"errors"

	"github.com/corralhq/corral/control"
)

func init() {
	commands["update"] = command{run: runUpdate, help: []string{
		"update\t\t\tReload config and add/remove as necessary, and will restart affected programs",
		"update all\t\tReload config and add/remove as necessary, and will restart affected programs",
	}}
}

// runUpdate is supervisorctl's update: apply the services directory and say
// what was removed, updated and added; bad files print "ERROR: ..." (their
// services keep running as they were) and exit 1.
func runUpdate(c *ctl, args []string) int {
	for _, a := range args {
		if a != "all" {
			c.println("Error: update of single groups is not supported; use update or update all")
			c.printHelp("update")
			return exitGeneric
		}
	}
	d, err := c.client.Update(c.ctx)
	if err != nil {
		return c.apiFail(err)
	}
	for _, l := range control.UpdateLines(d) {
		c.println(l)
	}
	if len(d.Errors) > 0 {
		return exitGeneric
	}
	return exitSuccess
}

// apiFail prints an error answer ("ERROR: already shutting down", "ERROR:
// msg") or a connection failure, and returns the exit code.
func (c *ctl) apiFail(err error) int {
	var ae *control.APIError
	if errors.As(err, &ae) {
		if ae.Code == control.CodeShuttingDown {
			c.println("ERROR: already shutting down")
		} else {
			c.println("ERROR: " + ae.Message)
		}
		return exitGeneric
	}
	return c.connFail(err)
}
