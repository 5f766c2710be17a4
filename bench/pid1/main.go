// Command pid1 benchmarks corral as PID 1 against its peers in the same
// run: s6 (s6-svscan), tini and supervisord, each started as PID 1 of a fresh
// PID namespace (unshare --pid --fork --mount-proc). It measures peak RSS
// with 1 and 20 sleep services, the time from the supervisor's exec to its
// first service's exec, the crash-to-restart latency, the rate at which
// orphans are reaped and the SIGTERM-to-exit time, and prints a markdown
// table (also written to bench/pid1/RESULTS.md).
//
// Run it as root from the repository root:
//
//	go run ./bench/pid1 [-reps 20] [-orphans 10000] [-peers corral,s6,tini,supervisord]
//
// It needs the Debian packages s6, tini, supervisor, gcc (with libc6-dev
// for static linking) and util-linux (unshare); it installs nothing.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

// options is the benchmark's command line.
type options struct {
	// reps is how many times each measurement runs.
	reps int
	// orphanReps is how many times the orphan measurement runs.
	orphanReps int
	// orphans is how many orphans the service double-forks per run.
	orphans int
	// orphanDeadline bounds the wait for the last zombie to be reaped.
	orphanDeadline time.Duration
	// settle is the wait after every service runs, before RSS is read.
	settle time.Duration
	// peers are the supervisors to run, by name.
	peers []string
	// corral is a prebuilt corral binary; empty builds ./cmd/corral.
	corral string
	// out is the results file; empty writes none.
	out string
	// keep leaves the work directory in place.
	keep bool
	// nice is the scheduling niceness of the benchmark and all it starts.
	nice int
	// seed orders the peers within each repetition.
	seed uint64
	// gap is the pause after each run, for the kernel's background work.
	gap time.Duration
	// variants are extra corral columns: name -> extra command-line flags.
	variants []variant
}

// variant is corral run with extra flags, as a column of its own.
type variant struct {
	name  string
	flags []string
}

// variantFlag collects -variant NAME=FLAGS.
type variantFlag struct{ vs *[]variant }

func (v variantFlag) String() string { return "" }

func (v variantFlag) Set(s string) error {
	name, flags, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return fmt.Errorf("want NAME=FLAGS, e.g. nowatch=--no-watch")
	}
	*v.vs = append(*v.vs, variant{name: name, flags: strings.Fields(flags)})
	return nil
}

func parseOptions(args []string) (options, error) {
	var o options
	var peers string
	fs := flag.NewFlagSet("pid1", flag.ContinueOnError)
	fs.IntVar(&o.reps, "reps", 20, "runs of each measurement")
	fs.IntVar(&o.orphanReps, "orphan-reps", 5, "runs of the orphan measurement")
	fs.IntVar(&o.orphans, "orphans", 10000, "orphans double-forked by the service per run")
	fs.DurationVar(&o.orphanDeadline, "orphan-deadline", 15*time.Second, "longest wait for the last orphan to be reaped")
	fs.DurationVar(&o.settle, "settle", 300*time.Millisecond, "wait after all services run, before reading RSS and sending SIGTERM")
	fs.StringVar(&peers, "peers", strings.Join(peerNames(), ","), "supervisors to compare, comma-separated")
	fs.StringVar(&o.corral, "corral", "", "prebuilt corral binary (default: build ./cmd/corral like `make build`)")
	fs.StringVar(&o.out, "o", "bench/pid1/RESULTS.md", "markdown results file, relative to the module root; empty writes none")
	fs.IntVar(&o.nice, "nice", -20, "niceness of the benchmark, the supervisors and their services (shields them from other jobs on the machine; 0 leaves it)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the order of the peers within each repetition")
	fs.DurationVar(&o.gap, "gap", 100*time.Millisecond, "pause after each run (the kernel frees the last namespace's memory, writes its logs back)")
	fs.Var(variantFlag{&o.variants}, "variant", "also run corral with extra flags as a column named corral/NAME: NAME=FLAGS (repeatable), e.g. -variant nowatch=--no-watch")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (configs, service output, supervisor logs)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.reps < 1 || o.orphanReps < 1 || o.orphans < 1 {
		return o, fmt.Errorf("-reps, -orphan-reps and -orphans must be at least 1")
	}
	for _, p := range strings.Split(peers, ",") {
		if p = strings.TrimSpace(p); p != "" {
			o.peers = append(o.peers, p)
		}
	}
	return o, nil
}

// peerNames lists the supervisors the benchmark knows, in table order.
func peerNames() []string { return []string{"corral", "s6", "tini", "supervisord"} }

func main() {
	o, err := parseOptions(os.Args[1:])
	if err != nil {
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "pid1:", err)
		os.Exit(1)
	}
}
