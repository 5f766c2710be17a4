package template

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestBackendServers: the managed backend's server lines are read, in
// order, from a backend or listen section of that name only; the rest is
// the file without them.
func TestBackendServers(t *testing.T) {
	cfg := `global
    stats socket /run/admin.sock level admin
defaults
    mode http
backend other
    server web-a 10.0.0.9:80 check
backend web # the managed one
    balance roundrobin
    server web-b 10.0.0.2:8080 check inter 1s   # a comment
    server web-a [fd00::1]:8080
listen stats
    bind :1936
`
	got, rest, err := backendServers([]byte(cfg), "web")
	if err != nil {
		t.Fatal(err)
	}
	want := []serverLine{
		{Name: "web-b", Addr: netip.MustParseAddrPort("10.0.0.2:8080"), Args: "check inter 1s"},
		{Name: "web-a", Addr: netip.MustParseAddrPort("[fd00::1]:8080")},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("servers = %+v, want %+v", got, want)
	}
	wantRest := strings.Replace(strings.Replace(cfg, "    server web-b 10.0.0.2:8080 check inter 1s   # a comment\n", "", 1), "    server web-a [fd00::1]:8080\n", "", 1)
	if string(rest) != wantRest {
		t.Errorf("rest =\n%s\nwant\n%s", rest, wantRest)
	}
	if !got[0].hasKeyword("check") || got[0].hasKeyword("inter 1s") || got[1].hasKeyword("check") {
		t.Errorf("hasKeyword wrong on %+v", got)
	}
	if got, _, err := backendServers([]byte("listen web\n    bind :80\n    server a 10.0.0.1:80\n"), "web"); err != nil || len(got) != 1 {
		t.Errorf("listen section: %v, %v", got, err)
	}
}

// TestBackendServersRefused: what runtime mode cannot keep identical
// through the runtime API is an error naming the line.
func TestBackendServersRefused(t *testing.T) {
	for _, tc := range []struct{ cfg, want string }{
		{"defaults\n    default-server inter 1s\nbackend web\n", "line 2: default-server in a defaults section"},
		{"backend web\n    default-server check\n", "default-server in a backend section"},
		{"backend web\n    server-template web 1-4 10.0.0.1:80\n", "server-template"},
		{"backend web\n    server a 10.0.0.1:80\n    server a 10.0.0.2:80\n", "line 3: server a appears twice"},
		{"backend web\n    server a host.example:80\n", "not ip:port"},
		{"backend web\n    server a 10.0.0.1\n", "not ip:port"},
		{"backend web\n    server a\n", "no address"},
		{"backend web\n    server a 10.0.0.1:80 check;disable\n", "syntax"},
		{"backend other\n    server a 10.0.0.1:80\n", "no backend web"},
	} {
		_, _, err := backendServers([]byte(tc.cfg), "web")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

// TestPlan: the runtime API commands for joins, leaves, a move, a rejoin
// while draining, and a keyword change (which needs a reload).
func TestPlan(t *testing.T) {
	line := func(name, addr, args string) serverLine {
		return serverLine{Name: name, Addr: netip.MustParseAddrPort(addr), Args: args}
	}
	live := liveServers{
		"stay":  {addr: netip.MustParseAddrPort("10.0.0.1:80"), args: "check", argsKnown: true},
		"moved": {addr: netip.MustParseAddrPort("10.0.0.2:80"), args: "check", argsKnown: true},
		"gone":  {addr: netip.MustParseAddrPort("10.0.0.3:80"), args: "check", argsKnown: true},
		"back":  {addr: netip.MustParseAddrPort("10.0.0.4:80"), args: "check", argsKnown: true, draining: true},
		"left":  {addr: netip.MustParseAddrPort("10.0.0.5:80"), draining: true},
	}
	want := []serverLine{
		line("stay", "10.0.0.1:80", "check"),
		line("moved", "10.0.0.22:81", "check"),
		line("back", "10.0.0.4:80", "check"),
		line("new", "[fd00::6]:80", "check inter 1s"),
		line("off", "10.0.0.7:80", "disabled"),
	}
	ops, err := plan("web", live, want)
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	for _, op := range ops {
		cmds = append(cmds, op.cmd)
	}
	wantCmds := []string{
		"set server web/moved addr 10.0.0.22 port 81",
		"enable health web/back", "enable server web/back",
		"add server web/new [fd00::6]:80 check inter 1s", "enable health web/new", "enable server web/new",
		"add server web/off 10.0.0.7:80 disabled",
		"disable server web/gone", "del server web/gone",
		"del server web/left",
	}
	if !reflect.DeepEqual(cmds, wantCmds) {
		t.Errorf("plan =\n%s\nwant\n%s", strings.Join(cmds, "\n"), strings.Join(wantCmds, "\n"))
	}
	for _, tc := range []struct {
		op     int
		answer string
		ok     bool
	}{
		{3, "New server registered.\n\n", true},
		{3, "Already exists a server with the same name in backend.\n", false},
		{3, "'cookie' option is not accepted for dynamic server\n", false},
		{0, "IP changed from '10.0.0.2' to '10.0.0.22', port changed from '80' to '81' by 'stats socket command'\n", true},
		{0, "No such server.\n", false},
		{1, "\n", true},
		{1, "Health checks are not configured on this server, cannot enable.\n", false},
		{8, "Server deleted.\n", true},
		{8, "Server still has connections attached to it, cannot remove it.\n", true},
		{8, "No such server.\n", true},
		{8, "Only servers in maintenance mode can be deleted.\n", false},
	} {
		if got := ops[tc.op].ok(tc.answer); got != tc.ok {
			t.Errorf("%s answered %q: ok = %v, want %v", ops[tc.op].cmd, tc.answer, got, tc.ok)
		}
	}
	if _, err := plan("web", live, []serverLine{line("stay", "10.0.0.1:80", "check weight 50")}); err == nil || !strings.Contains(err.Error(), "keywords changed") {
		t.Errorf("keyword change: err = %v, want errNeedsReload", err)
	}
	// Keywords of servers read back from HAProxy are unknown: not a change.
	if ops, err := plan("web", liveServers{"left": live["left"]}, []serverLine{line("left", "10.0.0.5:80", "check")}); err != nil || len(ops) != 2 {
		t.Errorf("rejoin of a read-back server: %v, %v", ops, err)
	}
}

// TestParseServersState reads HAProxy 2.6.12's `show servers state`.
func TestParseServersState(t *testing.T) {
	out := "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n" +
		"3 web 2 v6 ::1 0 1 1 1 20 15 3 0 14 0 0 0 - 18092 - 0 0 - - 0\n" +
		"3 web 1 web-a 127.0.0.1 2 0 1 1 7 1 0 0 2 0 0 0 - 18094 - 0 0 - - 0\n" +
		"4 other 1 x 127.0.0.1 2 0 1 1 7 1 0 0 2 0 0 0 - 1 - 0 0 - - 0\n\n"
	live, err := parseServersState(out, "web")
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 2 || live["v6"].addr != netip.MustParseAddrPort("[::1]:18092") || !live["v6"].draining ||
		live["web-a"].addr != netip.MustParseAddrPort("127.0.0.1:18094") || live["web-a"].draining || live["web-a"].argsKnown {
		t.Errorf("live = %+v %+v", live["v6"], live["web-a"])
	}
	if _, err := parseServersState("Can't find backend.\n", "web"); err == nil {
		t.Error("no error for a missing backend")
	}
}

// TestRepurge: a server draining for repurgeAfter with idle connections
// only goes through drain and maintenance again before its deletion; one
// with a connection in use, or draining for less, is only deleted.
func TestRepurge(t *testing.T) {
	out := "# bkname/svname bkid/svid addr port - purge_delay used_cur used_max need_est unsafe_nb safe_nb idle_lim idle_cur idle_per_thr[2]\n" +
		"web/web-a 3/1 127.0.0.11 38753 - 5000 0 0 0 1 0 -1 1 1 0\n" +
		"web/web-b 3/2 127.0.0.12 37537 - 5000 1 1 1 2 0 -1 2 1 1\n" +
		"web/web-c 3/3 127.0.0.13 18094 - 0 0 0 0 0 0 0 0\n" +
		"other/web-d 4/1 127.0.0.14 1 - 5000 0 0 0 1 0 -1 1 1 0\n"
	idle, err := parseIdleOnly(out, "web")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(idle, map[string]bool{"web-a": true}) {
		t.Errorf("idle only = %v, want web-a", idle)
	}
	now := time.Now()
	live := liveServers{
		"web-a": {draining: true, drainingSince: now.Add(-2 * repurgeAfter)},
		"web-b": {draining: true, drainingSince: now.Add(-2 * repurgeAfter)},
		"web-e": {draining: true, drainingSince: now},
		"web-f": {},
	}
	idle["web-e"] = true
	var cmds []string
	for _, op := range repurgeOps("web", live, idle, now) {
		cmds = append(cmds, op.cmd)
	}
	want := []string{"set server web/web-a state drain", "set server web/web-a state maint", "del server web/web-a"}
	if !reflect.DeepEqual(cmds, want) {
		t.Errorf("repurge = %q, want %q", cmds, want)
	}
	if _, err := parseIdleOnly("Can't find backend.\n", "web"); err == nil {
		t.Error("no error without the columns")
	}
}
