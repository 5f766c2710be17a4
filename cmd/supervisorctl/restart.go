package main

func init() {
	commands["restart"] = command{run: runRestart, help: []string{
		"restart <name>\t\tRestart a process",
		"restart <gname>:*\tRestart all processes in a group",
		"restart <name> <name>\tRestart multiple processes or groups",
		"restart all\t\tRestart all processes",
		"Note: restart does not reread config files. For that, see reread and update.",
	}}
}

// runRestart is supervisorctl's restart: stop, then start, with both
// outputs ("name: stopped", "name: started") and the exit code of the last
// failure.
func runRestart(c *ctl, args []string) int {
	if len(args) == 0 {
		c.println("Error: restart requires a process name")
		c.printHelp("restart")
		return exitGeneric
	}
	code := runStop(c, args)
	if c.ctx.Err() != nil {
		return code
	}
	if sc := runStart(c, args); sc != exitSuccess {
		code = sc
	}
	return code
}
