package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// mib converts KiB to MiB.
func mib(kib int64) float64 { return float64(kib) / 1024 }

// ms converts a duration to milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// bench runs every measurement for the chosen peers and returns the samples.
// Peers are interleaved within each repetition, in an order shuffled anew
// for each (seeded: reproducible), so that noise from the machine and the
// aftermath of the previous run (a supervisord freeing 30 MB, its log
// files being written back) fall on all of them alike.
func bench(t *tools, o options, ps []*peer, floor *series, progress io.Writer) results {
	res := results{}
	keep := o.keep
	rng := rand.New(rand.NewPCG(o.seed, 0))
	for i := 0; i < o.reps; i++ {
		fmt.Fprintf(progress, "rep %d/%d:", i+1, o.reps)
		if d, err := firstStart(t, direct, keep); err != nil {
			floor.fail(err)
		} else {
			floor.add(ms(d))
		}
		for _, p := range shuffle(rng, ps) {
			fmt.Fprintf(progress, " %s", p.name)
			if d, err := firstStart(t, p, keep); err != nil {
				res.at("first", p.name).fail(err)
			} else {
				res.at("first", p.name).add(ms(d))
			}
			if p.supports(workload{kind: crash}) {
				if d, err := restartLatency(t, p, keep); err != nil {
					res.at("restart", p.name).fail(err)
				} else {
					res.at("restart", p.name).add(ms(d))
				}
			}
			for _, n := range []int{1, 20} {
				if !p.supports(workload{kind: sleepers, n: n}) {
					continue
				}
				sfx := fmt.Sprint(n)
				r, err := sleepRun(t, p, n, o.settle, keep)
				if err != nil {
					keys := []string{"rss" + sfx, "term" + sfx, "last" + sfx}
					if n == 20 {
						keys = append(keys, "tree20", "vmrss20", "anon20")
					}
					for _, k := range keys {
						res.at(k, p.name).fail(err)
					}
					continue
				}
				res.at("rss"+sfx, p.name).add(mib(r.hwm))
				if n == 20 {
					res.at("tree20", p.name).add(mib(r.treeHWM))
					res.at("vmrss20", p.name).add(mib(r.rss))
					res.at("anon20", p.name).add(mib(r.anon))
				}
				res.at("term"+sfx, p.name).add(ms(r.term))
				res.at("last"+sfx, p.name).add(ms(r.lastToExit))
			}
		}
		fmt.Fprintln(progress)
	}
	for i := 0; i < o.orphanReps; i++ {
		fmt.Fprintf(progress, "orphans %d/%d:", i+1, o.orphanReps)
		for _, p := range shuffle(rng, ps) {
			fmt.Fprintf(progress, " %s", p.name)
			r, err := orphanRun(t, p, o.orphans, o.orphanDeadline, keep)
			if err != nil {
				for _, k := range []string{"orphanrate", "orphandrain", "zombies"} {
					res.at(k, p.name).fail(err)
				}
				continue
			}
			reaped := float64(int64(o.orphans) - r.zombies)
			res.at("orphanrate", p.name).add(reaped / r.total.Seconds())
			res.at("orphandrain", p.name).add(ms(r.drain))
			res.at("zombies", p.name).add(float64(r.zombies))
		}
		fmt.Fprintln(progress)
	}
	return res
}

// shuffle returns a shuffled copy of ps.
func shuffle(rng *rand.Rand, ps []*peer) []*peer {
	out := append([]*peer(nil), ps...)
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func run(o options) error {
	var ps []*peer
	var names []string
	for _, n := range o.peers {
		p, ok := peers[n]
		if !ok {
			return fmt.Errorf("unknown peer %q (known: %s)", n, strings.Join(peerNames(), ", "))
		}
		ps = append(ps, p)
		names = append(names, n)
		if n != "corral" {
			continue
		}
		for _, v := range o.variants {
			vp := corralVariant(v)
			ps = append(ps, vp)
			names = append(names, vp.name)
		}
	}
	work, err := os.MkdirTemp("", "corral-bench-pid1-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Fprintln(os.Stderr, "work directory:", work)
	} else {
		defer os.RemoveAll(work)
	}
	t, err := findTools(work, o.corral)
	if err != nil {
		return err
	}
	t.gap = o.gap
	if o.nice != 0 {
		// Inherited by unshare, the supervisors and their services alike.
		if err := unix.Setpriority(unix.PRIO_PROCESS, 0, o.nice); err != nil {
			return fmt.Errorf("setting nice %d: %w", o.nice, err)
		}
	}
	m := describeMachine(t, o.corral != "")
	start := time.Now()
	floor := &series{}
	res := bench(t, o, ps, floor, os.Stderr)
	m.loadEnd = loadAvg()
	m.took = time.Since(start).Round(time.Second)

	var table strings.Builder
	writeTable(&table, res, names)
	fmt.Print(table.String())
	if o.out == "" {
		return nil
	}
	path := o.out
	if !filepath.IsAbs(path) {
		root, err := moduleRoot()
		if err != nil {
			return err
		}
		path = filepath.Join(root, path)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	writeResults(f, o, m, table.String(), floor, failures(res, names), ps)
	fmt.Fprintln(os.Stderr, "wrote", path)
	return f.Close()
}

// machine describes where and with what the benchmark ran.
type machine struct {
	date, kernel, cpu, mem string
	nproc                  int
	loadStart, loadEnd     string
	versions               []string
	took                   time.Duration
}

func describeMachine(t *tools, prebuilt bool) machine {
	m := machine{
		date:      time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		nproc:     runtime.NumCPU(),
		loadStart: loadAvg(),
	}
	m.kernel = cmdOut("uname", "-r")
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	if kib, err := statusKiBFile("/proc/meminfo", "MemTotal"); err == nil {
		m.mem = fmt.Sprintf("%.1f GiB", float64(kib)/(1<<20))
	}
	corral := "corral " + cmdOut("git", "describe", "--always", "--dirty") +
		" (built with " + runtime.Version() + ", CGO_ENABLED=0 -trimpath -ldflags='-s -w', as `make build`)"
	if prebuilt {
		corral = "corral: the prebuilt binary " + t.corral + " (the tree was at " + cmdOut("git", "describe", "--always", "--dirty") + ")"
	}
	if fi, err := os.Stat(t.corral); err == nil {
		corral += fmt.Sprintf("; binary %.1f MB", float64(fi.Size())/1e6)
	}
	m.versions = []string{
		corral,
		"s6 " + cmdOut("dpkg-query", "-W", "-f=${Version}", "s6"),
		cmdOut(t.tini, "--version"),
		"supervisord " + cmdOut(t.supervisord, "--version") + " (Debian " + cmdOut("dpkg-query", "-W", "-f=${Version}", "supervisor") + ")",
	}
	return m
}

func cmdOut(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// statusKiBFile reads a "Key: N kB" line of a /proc file.
func statusKiBFile(path, key string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && k == key {
			var n int64
			_, err := fmt.Sscan(v, &n)
			return n, err
		}
	}
	return 0, fmt.Errorf("no %s in %s", key, path)
}
