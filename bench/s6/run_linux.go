package main

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// options are the command line.
type options struct {
	reps, n int
	out     string
	corral  string
	keep    bool
	nice    int
}

// peer is one way of running the tree.
type peer struct {
	name string
	// what describes the peer in the report.
	what string
	// files lays out the root; pid1 is what runs as PID 1.
	files func(root string, n int) error
	pid1  []string
}

// sample is one run's figures.
type sample struct {
	ready, stop, tail time.Duration
}

// results are the samples by peer.
type results struct {
	peers   []peer
	samples map[string][]sample
	commit  string
}

// tools are the built helpers.
type tools struct {
	dir, corral, svc, stampexec string
}

func run(o options) (*results, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("needs root (namespaces, mounts, chroot)")
	}
	if o.nice != 0 {
		if err := unix.Setpriority(unix.PRIO_PROCESS, 0, o.nice); err != nil {
			return nil, fmt.Errorf("setpriority: %w", err)
		}
	}
	t, err := build(o)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(t.dir)
	peers := []peer{
		{name: "corral", what: "corral as /init, the services in /etc/services.d (s6-overlay's legacy layout)",
			files: legacyTree, pid1: []string{"/bench/stampexec", "/tmp/exec", "/init"}},
		{name: "corral s6-rc", what: "corral as /init, the services as s6-rc longruns in the user bundle after a chain of 5 oneshots",
			files: rcTree, pid1: []string{"/bench/stampexec", "/tmp/exec", "/init"}},
		{name: "s6-svscan", what: "Debian's s6-svscan on /run/service holding the same directories (what s6-overlay's PID 1 is, without its stage 2 and 3)",
			files: scanTree, pid1: []string{"/bench/stampexec", "/tmp/exec", "/usr/bin/s6-svscan", "/run/service"}},
	}
	res := &results{peers: peers, samples: map[string][]sample{}, commit: commit()}
	for rep := 0; rep < o.reps; rep++ {
		order := rand.Perm(len(peers))
		for _, i := range order {
			p := peers[i]
			s, err := once(t, p, o)
			if err != nil {
				return nil, fmt.Errorf("%s, repetition %d: %w", p.name, rep+1, err)
			}
			res.samples[p.name] = append(res.samples[p.name], s)
			time.Sleep(100 * time.Millisecond)
		}
	}
	return res, nil
}

// moduleRoot is the repository's root.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

func commit() string {
	root, _ := moduleRoot()
	out, err := exec.Command("git", "-C", root, "describe", "--always", "--dirty").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// build makes corral (unless given) and the two C helpers, all static.
func build(o options) (*tools, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, fmt.Errorf("finding the module: %w", err)
	}
	dir, err := os.MkdirTemp("", "bench-s6-")
	if err != nil {
		return nil, err
	}
	t := &tools{dir: dir, corral: o.corral, svc: filepath.Join(dir, "svc"), stampexec: filepath.Join(dir, "stampexec")}
	steps := [][]string{
		{"gcc", "-O2", "-static", "-o", t.svc, filepath.Join(root, "bench/s6/csrc/svc.c")},
		{"gcc", "-O2", "-static", "-o", t.stampexec, filepath.Join(root, "bench/pid1/csrc/stampexec.c")},
	}
	if t.corral == "" {
		t.corral = filepath.Join(dir, "corral")
		steps = append(steps, []string{"go", "build", "-trimpath", "-ldflags=-s -w", "-o", t.corral, "./cmd/corral"})
	}
	for _, s := range steps {
		cmd := exec.Command(s[0], s[1:]...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("%v: %w\n%s(gcc and libc6-dev are Debian packages)", s, err, out)
		}
	}
	return t, nil
}

// serviceDir writes one service directory: run (the svc binary) and
// notification-fd 3.
func serviceDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.Symlink("/bench/svc", filepath.Join(dir, "run")); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "notification-fd"), []byte("3\n"), 0o644)
}

func legacyTree(root string, n int) error {
	for i := 0; i < n; i++ {
		if err := serviceDir(filepath.Join(root, "etc/services.d", fmt.Sprintf("svc%02d", i))); err != nil {
			return err
		}
	}
	return nil
}

func scanTree(root string, n int) error {
	for i := 0; i < n; i++ {
		if err := serviceDir(filepath.Join(root, "run/service", fmt.Sprintf("svc%02d", i))); err != nil {
			return err
		}
	}
	return nil
}

func rcTree(root string, n int) error {
	src := filepath.Join(root, "etc/s6-overlay/s6-rc.d")
	write := func(p, s string) error {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, []byte(s), 0o644)
	}
	prev := ""
	for i := 0; i < 5; i++ {
		name := fmt.Sprintf("init-%d", i)
		if err := write(filepath.Join(src, name, "type"), "oneshot\n"); err != nil {
			return err
		}
		if err := write(filepath.Join(src, name, "up"), "# nothing to do\n"); err != nil {
			return err
		}
		if prev != "" {
			if err := write(filepath.Join(src, name, "dependencies.d", prev), ""); err != nil {
				return err
			}
		}
		if err := write(filepath.Join(src, "user/contents.d", name), ""); err != nil {
			return err
		}
		prev = name
	}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("svc%02d", i)
		d := filepath.Join(src, name)
		if err := serviceDir(d); err != nil {
			return err
		}
		if err := write(filepath.Join(d, "type"), "longrun\n"); err != nil {
			return err
		}
		if err := write(filepath.Join(d, "dependencies.d", prev), ""); err != nil {
			return err
		}
		if err := write(filepath.Join(src, "user/contents.d", name), ""); err != nil {
			return err
		}
	}
	return nil
}

// setup turns the new namespaces into the container (as test/s6 does).
const setup = `set -e
R=$1; shift
mount -t tmpfs tmpfs "$R/.ovl"
mkdir "$R/.ovl/u" "$R/.ovl/w"
mount -t overlay overlay -o "lowerdir=/usr,upperdir=$R/.ovl/u,workdir=$R/.ovl/w" "$R/usr"
mount -t proc proc "$R/proc"
mount --rbind /dev "$R/dev"
cd "$R"
exec chroot "$R" "$@"
`

// monotonic is CLOCK_MONOTONIC, the clock of the stamps.
func monotonic() time.Duration {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return time.Duration(ts.Nano())
}

// once runs the tree under p, waits until every service is ready, stops
// it with SIGTERM and returns the figures.
func once(t *tools, p peer, o options) (sample, error) {
	root, err := os.MkdirTemp("", "bench-s6-root-")
	if err != nil {
		return sample{}, err
	}
	if !o.keep {
		defer os.RemoveAll(root)
	}
	for _, d := range []string{"usr", "proc", "dev", "run", "tmp", "var", "bench", ".ovl"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return sample{}, err
		}
	}
	for _, l := range []string{"bin", "lib", "lib64", "sbin"} {
		if tgt, err := os.Readlink("/" + l); err == nil {
			os.Symlink(tgt, filepath.Join(root, l))
		}
	}
	if out, err := exec.Command("cp", "-a", "/etc", root+"/").CombinedOutput(); err != nil {
		return sample{}, fmt.Errorf("copying /etc: %v: %s", err, out)
	}
	for src, dst := range map[string]string{t.corral: "init", t.svc: "bench/svc", t.stampexec: "bench/stampexec"} {
		if out, err := exec.Command("cp", src, filepath.Join(root, dst)).CombinedOutput(); err != nil {
			return sample{}, fmt.Errorf("%v: %s", err, out)
		}
	}
	if err := p.files(root, o.n); err != nil {
		return sample{}, err
	}
	cmd := exec.Command("unshare", append([]string{"--pid", "--fork", "--mount", "--kill-child", "sh", "-c", setup, "sh", root}, p.pid1...)...)
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "S6_VERBOSITY=1"}
	var console strings.Builder
	cmd.Stdout, cmd.Stderr = &console, &console
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return sample{}, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	fail := func(err error) (sample, error) {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return sample{}, fmt.Errorf("%w\nconsole:\n%s", err, console.String())
	}
	stamps := filepath.Join(root, "tmp/stamps")
	var ready []time.Duration
	deadline := time.Now().Add(30 * time.Second)
	for {
		ready = readStamps(stamps, "ready")
		if len(ready) >= o.n {
			break
		}
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("%d of %d services ready after 30s", len(ready), o.n))
		}
		time.Sleep(2 * time.Millisecond)
	}
	execAt := readStamps(filepath.Join(root, "tmp/exec"), "exec")
	if len(execAt) != 1 {
		return fail(errors.New("no exec stamp"))
	}
	time.Sleep(200 * time.Millisecond) // let everything settle before stopping
	pid1 := pidOne(cmd.Process.Pid)
	if pid1 == 0 {
		return fail(errors.New("PID 1 not found"))
	}
	term := monotonic()
	if err := syscall.Kill(pid1, syscall.SIGTERM); err != nil {
		return fail(err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		return fail(errors.New("not stopped 30s after SIGTERM"))
	}
	end := monotonic()
	exits := readStamps(stamps, "exit")
	s := sample{ready: maxOf(ready) - execAt[0], stop: end - term}
	if len(exits) > 0 {
		s.tail = end - maxOf(exits)
	}
	return s, nil
}

// pidOne is the host pid of the namespace's PID 1 (unshare's child).
func pidOne(unsharePid int) int {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", unsharePid, unsharePid))
		if f := strings.Fields(string(b)); len(f) > 0 {
			n, _ := strconv.Atoi(f[0])
			return n
		}
		time.Sleep(time.Millisecond)
	}
	return 0
}

// readStamps reads the "what NS" lines of a stamp file.
func readStamps(path, what string) []time.Duration {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []time.Duration
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 && fields[0] == what {
			if n, err := strconv.ParseInt(fields[1], 10, 64); err == nil {
				out = append(out, time.Duration(n))
			}
		}
	}
	return out
}

func maxOf(ds []time.Duration) time.Duration {
	m := ds[0]
	for _, d := range ds[1:] {
		m = max(m, d)
	}
	return m
}

// median of ds.
func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
