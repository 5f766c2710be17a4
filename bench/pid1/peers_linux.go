package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// workloadKind is what the services of a run do.
type workloadKind int

const (
	// sleepers are n services running `sleep infinity`.
	sleepers workloadKind = iota
	// stamp is one svc that records its start and waits.
	stamp
	// crash is one svc that records its start and exit and exits 1.
	crash
	// orphans is one svc that double-forks orphans and counts zombies.
	orphans
)

// String names the kind as svc's BENCH_MODE does.
func (k workloadKind) String() string {
	switch k {
	case sleepers:
		return "sleep"
	case stamp:
		return "stamp"
	case crash:
		return "crash"
	case orphans:
		return "orphans"
	}
	return fmt.Sprintf("workloadKind(%d)", int(k))
}

// workload is the set of services a run supervises.
type workload struct {
	kind workloadKind
	// n is the number of sleep services (sleepers only).
	n int
}

// service is one supervised program.
type service struct {
	name string
	argv []string
}

// services lists the workload's services.
func (w workload) services(t *tools) []service {
	if w.kind != sleepers {
		return []service{{name: "first", argv: []string{t.svc}}}
	}
	var out []service
	for i := 1; i <= w.n; i++ {
		out = append(out, service{name: fmt.Sprintf("s%02d", i), argv: []string{t.sleep, "infinity"}})
	}
	return out
}

// peer is one supervisor under test.
type peer struct {
	name string
	// maxServices is how many services it can run (0: any number).
	maxServices int
	// restarts tells whether it restarts a service that exited.
	restarts bool
	// configure lays out the configuration for w under dir and returns the
	// supervisor's argv.
	configure func(t *tools, dir string, w workload) ([]string, error)
	// setup describes the configuration, for the results notes.
	setup string
}

// supports reports whether p can run w.
func (p *peer) supports(w workload) bool {
	if w.kind == crash && !p.restarts {
		return false
	}
	n := 1
	if w.kind == sleepers {
		n = w.n
	}
	return p.maxServices == 0 || n <= p.maxServices
}

// peers are the supervisors the benchmark knows, by name (see peerNames).
var peers = map[string]*peer{
	"corral": {
		name:      "corral",
		restarts:  true,
		configure: configureCorral,
		setup: "one `*.toml` per service (`command = [...]`, every other key at its default: " +
			"restart always, backoff initial 0); control socket and per-service log files on, under the run's temp dir",
	},
	"s6": {
		name:      "s6",
		restarts:  true,
		configure: configureS6,
		setup: "`s6-svscan SCANDIR` as PID 1, one s6-supervise per service; `run` is the svc binary itself " +
			"(a symlink), or `#!/bin/sh` + `exec sleep infinity` for the sleep services; no loggers",
	},
	"tini": {
		name:        "tini",
		maxServices: 1,
		configure:   configureTini,
		setup:       "`tini -- PROGRAM` as PID 1: one child, no restarts",
	},
	"supervisord": {
		name:      "supervisord",
		restarts:  true,
		configure: configureSupervisord,
		setup: "`supervisord -n -c FILE` as PID 1, one `[program:x]` per service with `autorestart=true`, `startsecs=0` " +
			"(a quick exit is a crash to restart, not a failed start); unix_http_server + rpcinterface on; child logs to files (AUTO)",
	},
}

func configureCorral(t *tools, dir string, w workload) ([]string, error) {
	// A directory of its own for the service files: corral watches the
	// services directory and its parent, which must not be where the
	// run's output goes.
	sd := filepath.Join(dir, "etc", "services.d")
	if err := os.MkdirAll(sd, 0o755); err != nil {
		return nil, err
	}
	for _, s := range w.services(t) {
		quoted := make([]string, len(s.argv))
		for i, a := range s.argv {
			quoted[i] = fmt.Sprintf("%q", a)
		}
		body := fmt.Sprintf("command = [%s]\n", strings.Join(quoted, ", "))
		if err := os.WriteFile(filepath.Join(sd, s.name+".toml"), []byte(body), 0o644); err != nil {
			return nil, err
		}
	}
	return []string{t.corral,
		"--services-dir", sd,
		"--socket", filepath.Join(dir, "control.sock"),
		"--log-dir", filepath.Join(dir, "log"),
	}, nil
}

func configureS6(t *tools, dir string, w workload) ([]string, error) {
	scan := filepath.Join(dir, "scan")
	for _, s := range w.services(t) {
		sdir := filepath.Join(scan, s.name)
		if err := os.MkdirAll(sdir, 0o755); err != nil {
			return nil, err
		}
		run := filepath.Join(sdir, "run")
		if len(s.argv) == 1 {
			// s6-supervise runs ./run without arguments: the svc binary
			// itself, with no shell in between.
			if err := os.Symlink(s.argv[0], run); err != nil {
				return nil, err
			}
			continue
		}
		body := fmt.Sprintf("#!%s\nexec %s\n", t.sh, strings.Join(s.argv, " "))
		if err := os.WriteFile(run, []byte(body), 0o755); err != nil {
			return nil, err
		}
	}
	return []string{t.s6svscan, scan}, nil
}

func configureTini(t *tools, dir string, w workload) ([]string, error) {
	svcs := w.services(t)
	if len(svcs) != 1 {
		return nil, fmt.Errorf("tini runs one child, not %d", len(svcs))
	}
	return append([]string{t.tini, "--"}, svcs[0].argv...), nil
}

func configureSupervisord(t *tools, dir string, w workload) ([]string, error) {
	logs := filepath.Join(dir, "log")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[supervisord]\nnodaemon=true\nuser=root\nlogfile=%s\npidfile=%s\nchildlogdir=%s\n\n",
		filepath.Join(logs, "supervisord.log"), filepath.Join(dir, "supervisord.pid"), logs)
	fmt.Fprintf(&b, "[unix_http_server]\nfile=%s\n\n", filepath.Join(dir, "supervisor.sock"))
	b.WriteString("[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n")
	for _, s := range w.services(t) {
		fmt.Fprintf(&b, "[program:%s]\ncommand=%s\nautorestart=true\nstartsecs=0\n\n", s.name, strings.Join(s.argv, " "))
	}
	conf := filepath.Join(dir, "supervisord.conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		return nil, err
	}
	return []string{t.supervisord, "-n", "-c", conf}, nil
}

// corralVariant is corral with v's extra flags, named corral/NAME.
func corralVariant(v variant) *peer {
	base := peers["corral"]
	return &peer{
		name:     "corral/" + v.name,
		restarts: base.restarts,
		configure: func(t *tools, dir string, w workload) ([]string, error) {
			argv, err := base.configure(t, dir, w)
			return append(argv, v.flags...), err
		},
		setup: "corral as above, plus `" + strings.Join(v.flags, " ") + "`",
	}
}
