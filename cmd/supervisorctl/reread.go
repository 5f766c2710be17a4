package main

import "github.com/corralhq/corral/control"

func init() {
	commands["reread"] = command{run: runReread, help: []string{
		"reread \t\t\tReload the daemon's configuration files without add/remove",
	}}
}

// runReread is supervisorctl's reread: what changed in the services
// directory ("name: available", "name: changed", "name: disappeared"),
// changing nothing; bad files print "ERROR: ..." and exit 1.
func runReread(c *ctl, args []string) int {
	if len(args) > 0 {
		c.println("Error: reread accepts no arguments")
		c.printHelp("reread")
		return exitGeneric
	}
	d, err := c.client.Reread(c.ctx)
	if err != nil {
		return c.apiFail(err)
	}
	for _, l := range control.RereadLines(d) {
		c.println(l)
	}
	if len(d.Errors) > 0 {
		return exitGeneric
	}
	return exitSuccess
}
