package main

import (
	"encoding/json"
	"fmt"

	"github.com/corralhq/corral/control"
)

func init() {
	commands["status"] = command{run: runStatus, help: []string{
		"status <name>\t\tGet status for a single process",
		"status <gname>:*\tGet status for all processes in a group",
		"status <name> <name>\tGet status for multiple named processes",
		"status\t\t\tGet all process status info",
		"status --json [<name>...]\tThe same as JSON, with readiness, restarts, last exit",
	}}
}

// runStatus is supervisorctl's status: exit 0 when every listed service
// runs, 3 when one is STOPPED, EXITED or FATAL, 4 for an unknown name or no
// connection.
func runStatus(c *ctl, args []string) int {
	asJSON := false
	var names []string
	for _, a := range args {
		if a == "--json" || a == "-json" {
			asJSON = true
			continue
		}
		names = append(names, a)
	}
	sr, err := c.client.Status(c.ctx)
	if err != nil {
		c.connFail(err)
		return exitStatusUnknown
	}
	control.SortByName(sr.Services)
	code := exitSuccess
	matched, unknown := selectStatuses(sr.Services, names)
	for _, msg := range unknown {
		c.println(msg)
		code = exitStatusUnknown
	}
	if asJSON {
		b, err := json.MarshalIndent(matched, "", "  ")
		if err != nil {
			c.println("error: " + err.Error())
			return exitGeneric
		}
		c.println(string(b))
	} else {
		for _, l := range control.StatusLines(matched, sr.Now, c.loc) {
			c.println(l)
		}
		for _, st := range matched {
			if st.ConfigError != "" {
				fmt.Fprintf(c.errw, "%s: ERROR (service file not applied, the previous version keeps running: %s)\n",
					control.Namespec(st), st.ConfigError)
			}
		}
	}
	for _, st := range matched {
		switch st.State {
		case control.Stopped, control.Exited, control.Fatal:
			code = exitStatusDown
		}
	}
	return code
}

// selectStatuses picks the statuses names ask for, in the order asked, the
// way supervisorctl matches them (all when names is empty or holds "all"),
// and returns the error lines for names that matched nothing.
func selectStatuses(all []control.ServiceStatus, names []string) (matched []control.ServiceStatus, unknown []string) {
	if len(names) == 0 {
		return all, nil
	}
	for _, n := range names {
		if n == "all" {
			return all, nil
		}
	}
	matched = []control.ServiceStatus{}
	for _, spec := range names {
		name, group := control.SplitName(spec)
		found := false
		for _, st := range all {
			g := st.Group
			if g == "" {
				g = st.Name
			}
			if g == name && (group || st.Name == name) {
				matched = append(matched, st)
				found = true
			}
		}
		if !found {
			if group {
				unknown = append(unknown, name+": ERROR (no such group)")
			} else {
				unknown = append(unknown, spec+": ERROR (no such process)")
			}
		}
	}
	return matched, unknown
}
