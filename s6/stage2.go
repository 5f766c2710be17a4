package s6

import (
	"fmt"
	"sort"
	"strings"

	"github.com/corralhq/corral/control"
)

// Stage2 tells whether every service started at boot has settled (a
// oneshot exited, a longrun is ready or crash-looping) and which failed: a
// oneshot that exited non-zero, a service that gave up. Services that only
// gave up because a dependency failed are not listed (unless nothing
// else is). A longrun with notification-fd that is not ready yet has not
// settled: s6-rc waits for it without a time limit, as corral does.
func Stage2(sts []control.ServiceStatus) (failed []string, settled bool) {
	settled = true
	for _, st := range sts {
		switch {
		case st.State == control.Fatal:
			failed = append(failed, fmt.Sprintf("%s (%s)", st.Name, st.Reason))
		case st.Type == "oneshot" && st.State == control.Exited:
			if st.LastExit != nil && !st.LastExit.Success() {
				failed = append(failed, fmt.Sprintf("%s (%s)", st.Name, st.LastExit))
			}
		case st.Type == "oneshot" && st.State == control.Stopped:
		case st.Type == "oneshot":
			settled = false
		case st.State == control.Running && st.Ready, st.State == control.Backoff, st.State == control.Stopped:
		case st.State == control.Exited:
			failed = append(failed, fmt.Sprintf("%s (exited)", st.Name))
		default:
			settled = false
		}
	}
	var first []string
	for _, f := range failed {
		if !strings.Contains(f, "(dependency ") {
			first = append(first, f)
		}
	}
	if len(first) > 0 {
		failed = first
	}
	sort.Strings(failed)
	return failed, settled
}
