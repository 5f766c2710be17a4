// Command s6 measures corral running an s6-overlay tree next to s6's own
// s6-svscan running the same service directories, each as PID 1 of a
// fresh PID and mount namespace chrooted into a root made for the run:
// the time from PID 1's exec until every service is ready, and the time
// from SIGTERM (what `docker stop` sends) until PID 1 has exited, with the
// part after the last service exited. See README.md.
//
//	sudo go run ./bench/s6 [-reps 10] [-n 20] [-o bench/s6/RESULTS.md]
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	o := options{}
	flag.IntVar(&o.reps, "reps", 10, "repetitions per peer (interleaved)")
	flag.IntVar(&o.n, "n", 20, "services")
	flag.StringVar(&o.out, "o", "bench/s6/RESULTS.md", "results file ('' for stdout only)")
	flag.StringVar(&o.corral, "corral", "", "a prebuilt corral binary (default: build ./cmd/corral)")
	flag.BoolVar(&o.keep, "keep", false, "keep the roots")
	flag.IntVar(&o.nice, "nice", -20, "nice value for the benchmark and what it starts (0 leaves it), against other jobs on a shared machine")
	flag.Parse()
	res, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/s6:", err)
		os.Exit(1)
	}
	report := res.markdown(o)
	fmt.Print(report)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(report), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench/s6:", err)
			os.Exit(1)
		}
	}
}
