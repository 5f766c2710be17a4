package main

import (
	"errors"

	"github.com/corralhq/corral/control"
)

func init() {
	commands["shutdown"] = command{run: runShutdown, help: []string{
		"shutdown \tShut the remote supervisord down.",
	}}
}

// runShutdown is supervisorctl's shutdown.
func runShutdown(c *ctl, args []string) int {
	if len(args) > 0 {
		c.println("Error: shutdown accepts no arguments")
		c.printHelp("shutdown")
		return exitGeneric
	}
	err := c.client.Shutdown(c.ctx)
	var ce *control.ConnError
	switch {
	case err == nil:
		c.println("Shut down")
		return exitSuccess
	case errors.As(err, &ce) && ce.Kind == control.Refused:
		c.println("ERROR: " + ce.URL + " refused connection (already shut down?)")
		return exitGeneric
	case errors.As(err, &ce) && ce.Kind == control.NoSuchFile:
		c.println("ERROR: " + ce.URL + " no such file (already shut down?)")
		return exitGeneric
	}
	return c.apiFail(err)
}
