package main

import (
	"fmt"
	"runtime"
	"strings"
	"time"
)

// ms formats a duration in milliseconds.
func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// spread is "median (min–max)".
func spread(ds []time.Duration) string {
	lo, hi := ds[0], ds[0]
	for _, d := range ds {
		lo, hi = min(lo, d), max(hi, d)
	}
	return fmt.Sprintf("%s (%s–%s)", ms(median(ds)), strings.TrimSuffix(ms(lo), " ms"), ms(hi))
}

func (r *results) markdown(o options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# bench/s6 results\n\n")
	fmt.Fprintf(&b, "`go run ./bench/s6 -reps %d -n %d` at %s, %s, %d CPUs, %s; %d services, each writing its\n",
		o.reps, o.n, r.commit, time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), runtime.Version(), o.n)
	fmt.Fprintf(&b, "readiness on notification-fd 3 at once. Medians (min–max) of %d runs per peer, interleaved.\n\n", o.reps)
	fmt.Fprintf(&b, "| peer | PID 1 exec → all ready | SIGTERM → PID 1 gone | last service exit → PID 1 gone |\n|---|---|---|---|\n")
	for _, p := range r.peers {
		var ready, stop, tail []time.Duration
		for _, s := range r.samples[p.name] {
			ready, stop, tail = append(ready, s.ready), append(stop, s.stop), append(tail, s.tail)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", p.name, spread(ready), spread(stop), spread(tail))
	}
	fmt.Fprintf(&b, "\nPeers:\n\n")
	for _, p := range r.peers {
		fmt.Fprintf(&b, "- **%s**: %s.\n", p.name, p.what)
	}
	fmt.Fprintf(&b, "\ns6-overlay itself cannot run here (its tarballs are not in Debian): on top of s6-svscan's\n"+
		"figures it adds its stage 3, whose documented defaults sleep S6_KILL_GRACETIME (3 s) after the\n"+
		"final SIGTERM even when nothing is left (spec §8.3), and up to S6_SERVICES_GRACETIME (3 s) for\n"+
		"/etc/services.d longruns.\n")
	return b.String()
}
