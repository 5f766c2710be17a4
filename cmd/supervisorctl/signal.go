package main

func init() {
	commands["signal"] = command{run: runSignal, help: []string{
		"signal <signal name> <name>\t\tSignal a process",
		"signal <signal name> <gname>:*\t\tSignal all processes in a group",
		"signal <signal name> <name> <name>\tSignal multiple processes or groups",
		"signal <signal name> all\t\tSignal all processes",
	}}
}

// runSignal is supervisorctl's signal.
func runSignal(c *ctl, args []string) int {
	if len(args) < 2 {
		c.println("Error: signal requires a signal name and a process name")
		c.printHelp("signal")
		return exitGeneric
	}
	res, err := c.client.Signal(c.ctx, args[0], args[1:]...)
	if err != nil {
		return c.connFail(err)
	}
	return c.printResults(res, "signalled", opSignal)
}
