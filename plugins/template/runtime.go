package template

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// liveServer is what the plugin knows of one server of the managed
// backend in the running HAProxy.
type liveServer struct {
	addr netip.AddrPort
	// args are the keywords it was added or loaded with; argsKnown is false
	// for servers read back from HAProxy, which does not tell them.
	args      string
	argsKnown bool
	// draining: in maintenance, deleted once its connections are gone;
	// since when.
	draining      bool
	drainingSince time.Time
}

// setDraining marks the server in maintenance (or in service) from now.
func (s *liveServer) setDraining(d bool) {
	if d && !s.draining {
		s.drainingSince = time.Now()
	}
	s.draining = d
}

// liveServers are the managed backend's servers in HAProxy, by name.
type liveServers map[string]*liveServer

// fromLines is the state HAProxy has right after loading lines.
func fromLines(lines []serverLine) liveServers {
	l := make(liveServers, len(lines))
	for _, s := range lines {
		l[s.Name] = &liveServer{addr: s.Addr, args: s.Args, argsKnown: true}
	}
	return l
}

// count returns the servers in service and the draining ones.
func (l liveServers) count() (active, draining int) {
	for _, s := range l {
		if s.draining {
			draining++
		} else {
			active++
		}
	}
	return active, draining
}

// errNeedsReload means a server's keywords changed: the runtime API can
// only add a server with new keywords, and the old one is still there.
var errNeedsReload = errors.New("a server's keywords changed")

// cliOp is one runtime API command and the test of its answer.
type cliOp struct {
	cmd string
	// ok tells whether the answer means success.
	ok func(answer string) bool
	// server is the server the command is about.
	server string
}

func emptyAnswer(a string) bool { return strings.TrimSpace(a) == "" }

// plan returns the commands that make HAProxy's servers (live) those of
// want: new servers added (add server, enable health when they have
// "check", enable agent with "agent-check", enable server unless they are
// "disabled"), moved ones given their new address (set server addr),
// draining ones wanted again re-enabled, and those no longer wanted put in
// maintenance (disable server) and deleted. Additions come first, so the
// backend never runs short. A server whose keywords changed needs a
// reload: errNeedsReload.
func plan(backend string, live liveServers, want []serverLine) ([]cliOp, error) {
	var adds, removes []cliOp
	wanted := make(map[string]bool, len(want))
	for _, w := range want {
		wanted[w.Name] = true
		srv := backend + "/" + w.Name
		l := live[w.Name]
		if l == nil {
			adds = append(adds, cliOp{cmd: "add server " + srv + " " + strings.TrimSpace(w.Addr.String()+" "+w.Args),
				ok: func(a string) bool { return strings.Contains(a, "New server registered") }, server: w.Name})
			adds = append(adds, enableOps(srv, w)...)
			continue
		}
		if l.argsKnown && l.args != w.Args {
			return nil, fmt.Errorf("%w: %s from %q to %q", errNeedsReload, srv, l.args, w.Args)
		}
		if l.addr != w.Addr {
			adds = append(adds, cliOp{cmd: fmt.Sprintf("set server %s addr %s port %d", srv, w.Addr.Addr(), w.Addr.Port()),
				ok: func(a string) bool { return strings.Contains(a, "changed") || strings.Contains(a, "no need to change") }, server: w.Name})
		}
		if l.draining {
			adds = append(adds, enableOps(srv, w)...)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(live)) {
		if wanted[n] {
			continue
		}
		srv := backend + "/" + n
		if !live[n].draining {
			removes = append(removes, cliOp{cmd: "disable server " + srv, ok: emptyAnswer, server: n})
		}
		removes = append(removes, delOp(srv, n))
	}
	return append(adds, removes...), nil
}

// enableOps puts an added or draining server w in service.
func enableOps(srv string, w serverLine) []cliOp {
	var ops []cliOp
	if w.hasKeyword("check") {
		ops = append(ops, cliOp{cmd: "enable health " + srv, ok: emptyAnswer, server: w.Name})
	}
	if w.hasKeyword("agent-check") {
		ops = append(ops, cliOp{cmd: "enable agent " + srv, ok: emptyAnswer, server: w.Name})
	}
	if !w.hasKeyword("disabled") {
		ops = append(ops, cliOp{cmd: "enable server " + srv, ok: emptyAnswer, server: w.Name})
	}
	return ops
}

// Answers of `del server` that do not mean failure.
const (
	answerDeleted  = "Server deleted."
	answerNoServer = "No such server."
	answerBusy     = "still has connections"
)

// delOp deletes server n, which must be in maintenance.
func delOp(srv, n string) cliOp {
	return cliOp{cmd: "del server " + srv, server: n, ok: func(a string) bool {
		return strings.Contains(a, answerDeleted) || strings.Contains(a, answerNoServer) || strings.Contains(a, answerBusy)
	}}
}

// runOps sends ops on the stats socket, one connection each (so every
// answer is read whole), and keeps live in step: an added server is live,
// one whose deletion HAProxy refuses for its connections is draining, a
// deleted one is gone. It stops at the first answer that is not success.
func runOps(ctx context.Context, sock string, live liveServers, want []serverLine, ops []cliOp) error {
	byName := make(map[string]serverLine, len(want))
	for _, w := range want {
		byName[w.Name] = w
	}
	for _, op := range ops {
		answer, err := cliCommand(ctx, sock, op.cmd)
		if err != nil {
			return fmt.Errorf("runtime api: %s: %w", op.cmd, err)
		}
		if !op.ok(answer) {
			return fmt.Errorf("runtime api: %s: %s", op.cmd, oneLine(answer))
		}
		switch {
		case strings.HasPrefix(op.cmd, "add server "):
			w := byName[op.server]
			live[op.server] = &liveServer{addr: w.Addr, args: w.Args, argsKnown: true}
			live[op.server].setDraining(true)
		case strings.HasPrefix(op.cmd, "set server ") && strings.Contains(op.cmd, " addr "):
			live[op.server].addr = byName[op.server].Addr
		case strings.HasPrefix(op.cmd, "enable server "):
			live[op.server].setDraining(false)
		case strings.HasPrefix(op.cmd, "disable server "):
			live[op.server].setDraining(true)
		case strings.HasPrefix(op.cmd, "del server "):
			if strings.Contains(answer, answerBusy) {
				live[op.server].setDraining(true)
			} else {
				delete(live, op.server)
			}
		}
	}
	// A wanted server left "disabled" by its keyword is in service as the
	// file has it, not draining.
	for _, w := range want {
		if l := live[w.Name]; l != nil && w.hasKeyword("disabled") {
			l.setDraining(false)
		}
	}
	return nil
}

// sweepOps are the deletions still owed: draining servers not wanted.
func sweepOps(backend string, live liveServers) []cliOp {
	var ops []cliOp
	for _, n := range live.drainingNames() {
		ops = append(ops, delOp(backend+"/"+n, n))
	}
	return ops
}

// drainingNames returns the draining servers' names, sorted.
func (l liveServers) drainingNames() []string {
	var names []string
	for n, s := range l {
		if s.draining {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// repurgeAfter is how long a server drains before the sweep looks at its
// connections. A connection in use when the server entered maintenance
// can go back to its idle pool afterwards, and HAProxy 2.6's periodic
// purge may keep a lone idle connection for good: `del server` is then
// refused as long as the server keeps it open. Entering maintenance drops
// the pool, so repurgeOps enters it again.
const repurgeAfter = time.Second

// repurgeOps puts the servers named, draining for repurgeAfter with only
// idle connections left (idleOnly), through "drain" (weight 0: no new
// request) and maintenance again, then deletes them.
func repurgeOps(backend string, live liveServers, idleOnly map[string]bool, now time.Time) []cliOp {
	var ops []cliOp
	for _, n := range live.drainingNames() {
		if !idleOnly[n] || now.Sub(live[n].drainingSince) < repurgeAfter {
			continue
		}
		srv := backend + "/" + n
		ops = append(ops,
			cliOp{cmd: "set server " + srv + " state drain", ok: emptyAnswer, server: n},
			cliOp{cmd: "set server " + srv + " state maint", ok: emptyAnswer, server: n},
			delOp(srv, n))
	}
	return ops
}

// parseIdleOnly reads `show servers conn <backend>` and returns the
// servers with idle connections and none in use:
//
//	# bkname/svname bkid/svid addr port - purge_delay used_cur used_max need_est unsafe_nb safe_nb idle_lim idle_cur idle_per_thr[2]
//	web/web-a 3/1 127.0.0.11 38753 - 5000 0 0 0 1 0 -1 1 1 0
func parseIdleOnly(out, backend string) (map[string]bool, error) {
	col := map[string]int{}
	idle := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "# ") {
			for i, h := range strings.Fields(l[2:]) {
				col[h] = i
			}
			continue
		}
		f := strings.Fields(l)
		used, ok1 := col["used_cur"]
		cur, ok2 := col["idle_cur"]
		if len(f) == 0 {
			continue
		}
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("show servers conn: no used_cur or idle_cur column in %q", oneLine(out))
		}
		be, name, found := strings.Cut(f[0], "/")
		if !found || be != backend || len(f) <= max(used, cur) {
			continue
		}
		if f[used] == "0" && f[cur] != "0" {
			idle[name] = true
		}
	}
	return idle, nil
}

// readLive reads the backend's servers from HAProxy (`show servers state`):
// a server in maintenance counts as draining. Their keywords are unknown.
func readLive(ctx context.Context, sock, backend string) (liveServers, error) {
	out, err := cliCommand(ctx, sock, "show servers state "+backend)
	if err != nil {
		return nil, err
	}
	return parseServersState(out, backend)
}

// Bits of srv_admin_state that mean maintenance: forced, inherited,
// from the configuration ("disabled"), by resolution, by a health check
// through a tracked server.
const adminMaint = 0x01 | 0x02 | 0x04 | 0x20 | 0x40

// parseServersState reads the output of `show servers state <backend>`:
//
//	1
//	# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state ... srv_port ...
//	3 web 1 web-a 10.0.0.1 2 0 1 1 0 1 0 0 2 0 0 0 - 8080 - 0 0 - - 0
func parseServersState(out, backend string) (liveServers, error) {
	lines := strings.Split(out, "\n")
	col := map[string]int{}
	live := liveServers{}
	for _, l := range lines {
		if strings.HasPrefix(l, "# ") {
			for i, h := range strings.Fields(l[2:]) {
				col[h] = i
			}
			continue
		}
		f := strings.Fields(l)
		if len(col) == 0 || len(f) < len(col) {
			if len(f) == 1 || len(f) == 0 {
				continue // the format version, blank lines
			}
			return nil, fmt.Errorf("show servers state: unexpected line %q", oneLine(l))
		}
		if f[col["be_name"]] != backend {
			continue
		}
		ip, err1 := netip.ParseAddr(f[col["srv_addr"]])
		port, err2 := strconv.ParseUint(f[col["srv_port"]], 10, 16)
		admin, err3 := strconv.ParseUint(f[col["srv_admin_state"]], 10, 32)
		if err := errors.Join(err1, err2, err3); err != nil {
			return nil, fmt.Errorf("show servers state: line %q: %w", oneLine(l), err)
		}
		s := &liveServer{addr: netip.AddrPortFrom(ip, uint16(port))}
		s.setDraining(admin&adminMaint != 0)
		live[f[col["srv_name"]]] = s
	}
	for _, h := range []string{"be_name", "srv_name", "srv_addr", "srv_port", "srv_admin_state"} {
		if _, ok := col[h]; !ok {
			if strings.Contains(out, "Can't find backend") || strings.Contains(out, "No such backend") {
				return nil, fmt.Errorf("show servers state: no backend %s in the running HAProxy", backend)
			}
			return nil, fmt.Errorf("show servers state: no %s column in %q", h, oneLine(out))
		}
	}
	return live, nil
}

// oneLine shortens a runtime API answer for a message.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}
