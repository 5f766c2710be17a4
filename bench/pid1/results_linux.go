package main

import (
	"fmt"
	"io"
	"strings"
)

// writeResults writes RESULTS.md: where it ran, the table, and how each
// figure was taken.
func writeResults(w io.Writer, o options, m machine, table string, floor *series, fails []string, ps []*peer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("# corral as PID 1 next to s6, tini and supervisord\n\n")
	var extra strings.Builder
	for _, v := range o.variants {
		fmt.Fprintf(&extra, " -variant '%s=%s'", v.name, strings.Join(v.flags, " "))
	}
	p("Produced by `go run ./bench/pid1 -reps %d -orphan-reps %d -orphans %d%s` (as root); do not edit by hand.\n\n",
		o.reps, o.orphanReps, o.orphans, extra.String())
	p("- Date: %s; the run took %s.\n", m.date, m.took)
	p("- Machine: `nproc` = %d, kernel %s, %s, %s RAM.\n", m.nproc, m.kernel, m.cpu, m.mem)
	p("- Load average (1/5/15 min) at start: %s; at end: %s. The machine was shared with other jobs: "+
		"read the medians, and the p90s as the noise they carry.\n", m.loadStart, m.loadEnd)
	for _, v := range m.versions {
		p("- %s\n", v)
	}
	p("\nEach cell is the median over %d runs (%d for the orphan rows) and, in brackets, the p90 "+
		"(the p10 for the rate: both are the slow end). Every run is a fresh supervisor as PID 1 of a new PID "+
		"namespace (`unshare --pid --fork --mount-proc`), peers interleaved within each repetition in an order shuffled anew for each (`-seed`), with a pause of %s after each run.\n\n", o.reps, o.orphanReps, o.gap)
	p("%s\n", table)
	if len(floor.vals) > 0 {
		p("Floor for the exec → first service row: the service exec'd directly by the stamping wrapper, with no supervisor "+
			"in between, takes %.2f ms (p90 %.2f ms).\n\n", median(floor.vals), quantile(floor.vals, 0.9))
	}
	if len(fails) > 0 {
		p("Failed runs (first error of each):\n\n")
		for _, f := range fails {
			p("- %s\n", f)
		}
		p("\n")
	}
	p("## How each figure is taken\n\n")
	p("- **Peak RSS**: `VmHWM` of the supervisor process (PID 1) from `/proc/PID/status`, read %s after every "+
		"`sleep infinity` service is running. corral runs with its default per-service log files on (under a temp "+
		"`--log-dir`) and its control socket on. The *supervision tree* row adds the VmHWM of the supervisor's helper "+
		"processes (s6: one `s6-supervise` per service; the others have none); it over-counts shared pages.\n", o.settle)
	p("- **Exec → first service**: a static C wrapper (`csrc/stampexec.c`) writes `CLOCK_MONOTONIC` to a file and " +
		"execs the supervisor; the only service is a static C program (`csrc/svc.c`) that writes `CLOCK_MONOTONIC` " +
		"first thing in `main`. The difference includes one exec of that small program (see the floor above).\n")
	p("- **Crash → first restart**: the service writes its start time, then its exit time just before `_exit(1)`; " +
		"the figure is the second instance's start minus the first instance's exit. corral's first restart is " +
		"immediate by default (backoff initial 0); s6-supervise waits at least 1 s between two starts; supervisord " +
		"restarts on its next main-loop pass.\n")
	p("- **Orphans**: the service double-forks %d children that exit at once (their parent exits first, so each "+
		"is re-parented to PID 1), then scans the namespace's `/proc` every 0.2 ms until no process is a zombie "+
		"(or %s passed). The rate is the orphans reaped over the time from the first fork to that moment; it is "+
		"bounded by how fast one process can double-fork, so the *drain* row (last fork → no zombie) shows how "+
		"far the reaper trails.\n", o.orphans, o.orphanDeadline)
	p("- **SIGTERM → exit**: after the RSS reading, `kill -TERM` to PID 1 from the host; the exits of the supervisor " +
		"and of each `sleep` are timed with pidfds (`pidfd_open` + `poll`). *Last service exit → supervisor exit* " +
		"is corral's 50 ms target: the time it needs after its services are gone.\n")
	p("- n/a: tini runs one child and never restarts it.\n\n")
	p("## Peer configurations\n\n")
	for _, pe := range ps {
		p("- **%s**: %s.\n", pe.name, pe.setup)
	}
	p("\nAll get the same environment (PATH, HOME, LANG and the BENCH_* settings of the service) and write their " +
		"output to a file.\n")
	if o.reps < 10 || o.orphanReps < 3 {
		p("\n%s\n", strings.TrimSpace("Few runs: treat the p90s as rough."))
	}
}
