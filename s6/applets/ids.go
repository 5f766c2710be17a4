package applets

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
)

// account is a resolved user: ids and supplementary groups.
type account struct {
	uid, gid int
	groups   []int
}

// lookupAccount resolves a user name (or numeric uid) from /etc/passwd and
// /etc/group at the moment it runs: an init script may just have changed
// the user's uid (linuxserver's init-adduser does, from PUID/PGID).
func lookupAccount(name string, numericFallback bool) (account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		if _, nerr := strconv.Atoi(name); nerr == nil {
			u, err = user.LookupId(name)
			if err != nil && numericFallback {
				n, _ := strconv.Atoi(name)
				return account{uid: n, gid: n}, nil
			}
		}
	}
	if err != nil {
		return account{}, fmt.Errorf("unknown user %q", name)
	}
	a := account{}
	a.uid, _ = strconv.Atoi(u.Uid)
	a.gid, _ = strconv.Atoi(u.Gid)
	ids, err := u.GroupIds()
	if err == nil {
		for _, g := range ids {
			if n, err := strconv.Atoi(g); err == nil {
				a.groups = append(a.groups, n)
			}
		}
	}
	return a, nil
}

// lookupGroupID resolves a group name (or number).
func lookupGroupID(name string, numericFallback bool) (int, error) {
	g, err := user.LookupGroup(name)
	if err == nil {
		return strconv.Atoi(g.Gid)
	}
	if n, nerr := strconv.Atoi(name); nerr == nil {
		if _, err := user.LookupGroupId(name); err == nil || numericFallback {
			return n, nil
		}
	}
	return 0, fmt.Errorf("unknown group %q", name)
}

// apply sets the supplementary groups, the gid and the uid, in that order
// (on every thread of the process).
func (a account) apply() error {
	groups := a.groups
	if groups == nil {
		groups = []int{}
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setgid(a.gid); err != nil {
		return fmt.Errorf("setgid %d: %w", a.gid, err)
	}
	if err := syscall.Setuid(a.uid); err != nil {
		return fmt.Errorf("setuid %d: %w", a.uid, err)
	}
	return nil
}

// setuidgid is s6-setuidgid account prog...: run prog as account (a user
// name, or uid:gid), looked up now. The environment is not touched.
func setuidgid(argv []string) int {
	const prog, u = "s6-setuidgid", "s6-setuidgid account prog..."
	if len(argv) < 3 {
		return usage(prog, u)
	}
	name, rest := argv[1], argv[2:]
	if name == "" {
		return execve(prog, rest, os.Environ())
	}
	var a account
	if uidS, gidS, ok := strings.Cut(name, ":"); ok {
		uid, err1 := strconv.Atoi(uidS)
		gid, err2 := strconv.Atoi(gidS)
		if err1 != nil || err2 != nil {
			return fatalf(100, prog, "bad uid:gid %q", name)
		}
		a = account{uid: uid, gid: gid}
	} else {
		var err error
		if a, err = lookupAccount(name, false); err != nil {
			return fatalf(1, prog, "%v", err)
		}
	}
	if err := a.apply(); err != nil {
		return fatalf(111, prog, "unable to %v", err)
	}
	return execve(prog, rest, os.Environ())
}

// envuidgid is s6-envuidgid [-u|-g|-B] [-n] [-i|-D uid:gid:gidlist]
// account prog...: export UID, GID and GIDLIST for account, then run prog.
func envuidgid(argv []string) int {
	const prog, u = "s6-envuidgid", "s6-envuidgid [ -u | -g | -B ] [ -n ] [ -i | -D defaultuid:defaultgid:defaultgidlist ] account prog..."
	what := byte('a') // a: user, u: uid only, g: group only, B: user:group
	numericFallback := false
	def := ""
	g := getopt{args: argv[1:], spec: "ugBniD:"}
	for {
		opt, arg, err := g.next()
		if err != nil {
			return usage(prog, u)
		}
		if opt == 0 {
			break
		}
		switch opt {
		case 'u', 'g', 'B':
			what = opt
		case 'n':
			numericFallback = true
		case 'i':
			def = ""
		case 'D':
			def = arg
		}
	}
	rest := g.rest()
	if len(rest) < 2 {
		return usage(prog, u)
	}
	name := rest[0]
	env := os.Environ()
	set := func(k, v string) { env = envSet(env, k, v, false) }
	defaults := func() bool {
		if def == "" {
			return false
		}
		parts := strings.SplitN(def, ":", 3)
		for len(parts) < 3 {
			parts = append(parts, "")
		}
		set("UID", parts[0])
		set("GID", parts[1])
		set("GIDLIST", parts[2])
		return true
	}
	switch what {
	case 'g':
		gid, err := lookupGroupID(name, numericFallback)
		if err != nil {
			if !defaults() {
				return fatalf(1, prog, "%v", err)
			}
			break
		}
		set("GID", strconv.Itoa(gid))
	case 'B':
		un, gn, _ := strings.Cut(name, ":")
		a, err := lookupAccount(un, numericFallback)
		if err != nil && un != "" {
			if !defaults() {
				return fatalf(1, prog, "%v", err)
			}
			break
		}
		if un != "" {
			set("UID", strconv.Itoa(a.uid))
		}
		if gn != "" {
			gid, err := lookupGroupID(gn, numericFallback)
			if err != nil {
				if !defaults() {
					return fatalf(1, prog, "%v", err)
				}
				break
			}
			set("GID", strconv.Itoa(gid))
		} else if un != "" {
			set("GID", strconv.Itoa(a.gid))
		}
		if un != "" {
			set("GIDLIST", joinInts(a.groups))
		}
	default:
		a, err := lookupAccount(name, numericFallback)
		if err != nil {
			if !defaults() {
				return fatalf(1, prog, "%v", err)
			}
			break
		}
		set("UID", strconv.Itoa(a.uid))
		if what == 'a' {
			set("GID", strconv.Itoa(a.gid))
			set("GIDLIST", joinInts(a.groups))
		}
	}
	return execve(prog, rest[1:], env)
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// applyuidgid is s6-applyuidgid [-z] [-u uid] [-g gid] [-G gidlist] [-U]
// prog...: set the given ids (-U: from UID, GID and GIDLIST; -z: remove
// those variables), then run prog.
func applyuidgid(argv []string) int {
	const prog, u = "s6-applyuidgid", "s6-applyuidgid [ -z ] [ -u uid ] [ -g gid ] [ -G gidlist ] [ -U ] prog..."
	uid, gid, gidlist := "", "", ""
	haveList, unexport := false, false
	g := getopt{args: argv[1:], spec: "zu:g:G:U"}
	for {
		opt, arg, err := g.next()
		if err != nil {
			return usage(prog, u)
		}
		if opt == 0 {
			break
		}
		switch opt {
		case 'z':
			unexport = true
		case 'u':
			uid = arg
		case 'g':
			gid = arg
		case 'G':
			gidlist, haveList = arg, true
		case 'U':
			uid, gid = os.Getenv("UID"), os.Getenv("GID")
			gidlist, haveList = os.LookupEnv("GIDLIST")
		}
	}
	rest := g.rest()
	if len(rest) < 1 {
		return usage(prog, u)
	}
	if haveList {
		var groups []int
		for _, s := range strings.Split(gidlist, ",") {
			if s == "" {
				continue
			}
			n, err := strconv.Atoi(s)
			if err != nil {
				return fatalf(100, prog, "bad gid list %q", gidlist)
			}
			groups = append(groups, n)
		}
		if groups == nil {
			groups = []int{}
		}
		if err := syscall.Setgroups(groups); err != nil {
			return fatalf(111, prog, "unable to setgroups: %v", err)
		}
	}
	if gid != "" {
		n, err := strconv.Atoi(gid)
		if err != nil {
			return fatalf(100, prog, "bad gid %q", gid)
		}
		if err := syscall.Setgid(n); err != nil {
			return fatalf(111, prog, "unable to setgid: %v", err)
		}
	}
	if uid != "" {
		n, err := strconv.Atoi(uid)
		if err != nil {
			return fatalf(100, prog, "bad uid %q", uid)
		}
		if err := syscall.Setuid(n); err != nil {
			return fatalf(111, prog, "unable to setuid: %v", err)
		}
	}
	env := os.Environ()
	if unexport {
		for _, k := range []string{"UID", "GID", "GIDLIST"} {
			env = envSet(env, k, "", true)
		}
	}
	return execve(prog, rest, env)
}
