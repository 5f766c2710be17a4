package main

func init() {
	commands["start"] = command{run: runStart, help: []string{
		"start <name>\t\tStart a process",
		"start <gname>:*\t\tStart all processes in a group",
		"start <name> <name>\tStart multiple processes or groups",
		"start all\t\tStart all processes",
	}}
}

// runStart is supervisorctl's start.
func runStart(c *ctl, args []string) int {
	if len(args) == 0 {
		c.println("Error: start requires a process name")
		c.printHelp("start")
		return exitInvalidArgs
	}
	res, err := c.client.Start(c.ctx, args...)
	if err != nil {
		return c.connFail(err)
	}
	return c.printResults(res, "started", opStart)
}
