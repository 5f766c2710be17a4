package main

func init() {
	commands["stop"] = command{run: runStop, help: []string{
		"stop <name>\t\tStop a process",
		"stop <gname>:*\t\tStop all processes in a group",
		"stop <name> <name>\tStop multiple processes or groups",
		"stop all\t\tStop all processes",
	}}
}

// runStop is supervisorctl's stop.
func runStop(c *ctl, args []string) int {
	if len(args) == 0 {
		c.println("Error: stop requires a process name")
		c.printHelp("stop")
		return exitGeneric
	}
	res, err := c.client.Stop(c.ctx, args...)
	if err != nil {
		return c.connFail(err)
	}
	return c.printResults(res, "stopped", opStop)
}
