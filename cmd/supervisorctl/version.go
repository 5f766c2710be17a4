package main

func init() {
	commands["version"] = command{run: runVersion, help: []string{
		"version\t\t\tShow the version of the remote supervisord process",
	}}
}

// runVersion prints corral's version.
func runVersion(c *ctl, args []string) int {
	if len(args) > 0 {
		c.println("Error: version accepts no arguments")
		c.printHelp("version")
		return exitGeneric
	}
	v, err := c.client.Version(c.ctx)
	if err != nil {
		return c.connFail(err)
	}
	c.println(v)
	return exitSuccess
}
