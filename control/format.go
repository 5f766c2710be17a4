package control

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Namespec is the name supervisorctl shows: the name, or "group:name" when
// the group differs.
func Namespec(st ServiceStatus) string {
	if st.Group == "" || st.Group == st.Name {
		return st.Name
	}
	return st.Group + ":" + st.Name
}

// FormatUptime formats a duration the way Python formats a timedelta of
// whole seconds: "0:01:02", "1 day, 2:03:04", "2 days, 0:00:00".
func FormatUptime(d time.Duration) string {
	secs := int64(d / time.Second)
	if secs < 0 {
		secs = 0
	}
	days, secs := secs/86400, secs%86400
	hms := fmt.Sprintf("%d:%02d:%02d", secs/3600, secs%3600/60, secs%60)
	switch days {
	case 0:
		return hms
	case 1:
		return "1 day, " + hms
	}
	return fmt.Sprintf("%d days, %s", days, hms)
}

// StopTimeLayout is supervisord's '%b %d %I:%M %p' ("Nov 24 09:15 PM").
const StopTimeLayout = "Jan 02 03:04 PM"

// Description is supervisord's description column for st, at time now (the
// server's clock) with stop times shown in loc:
//
//	RUNNING            pid 123, uptime 0:01:02
//	RUNNING (plugin)   uptime 0:01:02[, the plugin's description]
//	BACKOFF, FATAL     the reason, or unknown error (try "tail name")
//	STOPPED, EXITED    the stop time (Nov 24 09:15 PM), or Not started
//	STARTING, STOPPING empty
func Description(st ServiceStatus, now time.Time, loc *time.Location) string {
	switch st.State {
	case Running:
		up := time.Duration(now.Unix()-st.Started.Unix()) * time.Second
		if st.Started.IsZero() {
			up = 0
		}
		if st.PID > 0 {
			return fmt.Sprintf("pid %d, uptime %s", st.PID, FormatUptime(up))
		}
		d := "uptime " + FormatUptime(up)
		if st.Reason != "" {
			d += ", " + st.Reason
		}
		return d
	case Backoff, Fatal:
		if st.Reason != "" {
			return st.Reason
		}
		return fmt.Sprintf("unknown error (try \"tail %s\")", st.Name)
	case Stopped, Exited:
		if st.Started.IsZero() {
			return "Not started"
		}
		t := st.Stopped
		if t.IsZero() {
			t = st.Since
		}
		d := t.In(loc).Format(StopTimeLayout)
		if st.State == Exited && st.Reason != "" {
			// Why it stays down (a finish script's 125, serf leave).
			d += ", " + st.Reason
		}
		return d
	}
	return ""
}

// SortByName orders statuses by name, as supervisord's getAllProcessInfo does.
func SortByName(sts []ServiceStatus) {
	slices.SortStableFunc(sts, func(a, b ServiceStatus) int {
		return strings.Compare(Namespec(a), Namespec(b))
	})
}

// StatusLines renders supervisorctl's status table, one line per service in
// the order given: the name padded to max(30, longest name)+3, the state
// padded to 10, then the description.
func StatusLines(sts []ServiceStatus, now time.Time, loc *time.Location) []string {
	width := 30
	for _, st := range sts {
		width = max(width, utf8.RuneCountInString(Namespec(st)))
	}
	lines := make([]string, 0, len(sts))
	for _, st := range sts {
		lines = append(lines, pad(Namespec(st), width+3)+pad(st.State.String(), 10)+Description(st, now, loc))
	}
	return lines
}

// pad right-pads s with spaces to n runes, as Python's %-Ns.
func pad(s string, n int) string {
	if k := utf8.RuneCountInString(s); k < n {
		return s + strings.Repeat(" ", n-k)
	}
	return s
}

// RereadLines renders supervisorctl's reread answer: "name: available",
// "name: changed", "name: disappeared" sorted by name, or "No config updates
// to processes" when nothing changed and no file is in error; then one
// "ERROR: ..." line per bad file.
func RereadLines(d ConfigDiff) []string {
	type change struct{ name, what string }
	var cs []change
	for _, n := range d.Added {
		cs = append(cs, change{n, "available"})
	}
	for _, n := range d.Changed {
		cs = append(cs, change{n, "changed"})
	}
	for _, n := range d.Removed {
		cs = append(cs, change{n, "disappeared"})
	}
	slices.SortStableFunc(cs, func(a, b change) int { return strings.Compare(a.name, b.name) })
	var lines []string
	for _, c := range cs {
		lines = append(lines, c.name+": "+c.what)
	}
	if len(cs) == 0 && len(d.Errors) == 0 {
		lines = append(lines, "No config updates to processes")
	}
	return append(lines, errorLines(d.Errors)...)
}

// UpdateLines renders supervisorctl's update output for an applied diff:
// removed ("name: stopped", "name: removed process group"), then changed
// ("name: stopped", "name: updated process group"), then added ("name: added
// process group"), then one "ERROR: ..." line per bad file.
func UpdateLines(d ConfigDiff) []string {
	var lines []string
	for _, n := range d.Removed {
		lines = append(lines, n+": stopped", n+": removed process group")
	}
	for _, n := range d.Changed {
		lines = append(lines, n+": stopped", n+": updated process group")
	}
	for _, n := range d.Added {
		lines = append(lines, n+": added process group")
	}
	return append(lines, errorLines(d.Errors)...)
}

// errorLines prefixes each config error with "ERROR: ".
func errorLines(errs []string) []string {
	var lines []string
	for _, e := range errs {
		lines = append(lines, "ERROR: "+e)
	}
	return lines
}

// SplitName reads a supervisorctl name: "name", "name:name" (each service is
// its own group) or the group forms "name:" and "name:*". It returns the
// service name and whether a group was named; "group:other" names no service
// and returns "".
func SplitName(spec string) (name string, group bool) {
	g, p, ok := strings.Cut(spec, ":")
	if !ok {
		return spec, false
	}
	if p == "" || p == "*" {
		return g, true
	}
	if p != g {
		return "", false
	}
	return g, false
}
