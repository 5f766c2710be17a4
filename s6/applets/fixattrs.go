package applets

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// fixAttrs applies /etc/fix-attrs.d as s6-overlay's (deprecated)
// fix-attrs does: each file in name order, each line
// "path recurse account fmode dmode" (account: user[:group], optionally
// ",fallbackuid:fallbackgid"; path is a glob) chowns and chmods the paths,
// recursively when recurse is true (dotfiles only with
// S6_FIX_ATTRS_HIDDEN).
func fixAttrs(argv []string) int {
	const prog = "fix-attrs"
	if len(argv) != 2 {
		return usage(prog, "s6-fix-attrs dir")
	}
	dir := argv[1]
	v := s6num("S6_VERBOSITY", 2)
	hidden := s6num("S6_FIX_ATTRS_HIDDEN", 0) != 0
	got, failed := false, false
	for _, f := range listScripts(dir) {
		path := filepath.Join(dir, f)
		if v >= 2 {
			fmt.Fprintf(os.Stderr, "fix-attrs: info: applying %s\n", path)
		}
		got = true
		if err := applyFixFile(path, hidden); err != nil {
			fmt.Fprintf(os.Stderr, "fix-attrs: %v\n", err)
			failed = true
		}
	}
	if got && v >= 1 {
		fmt.Fprintln(os.Stderr, "fix-attrs: warning: fix-attrs is deprecated, please fix volume permissions in your container manager instead")
	}
	if b := s6num("S6_BEHAVIOUR_IF_STAGE2_FAILS", 0); failed && b != 0 {
		if v >= 1 {
			fmt.Fprintln(os.Stderr, "fix-attrs: warning: some fix files failed to apply")
		}
		if b >= 2 {
			return 1
		}
	}
	return 0
}

// applyFixFile applies one fix-attrs file; it stops at the first error, as
// the sh -e script does.
func applyFixFile(path string, hidden bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || fields[0] == "#" || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if len(fields) < 5 {
			return fmt.Errorf("%s:%d: want \"path recurse account fmode dmode\"", path, line)
		}
		uid, gid, err := fixAccount(fields[2])
		if err != nil {
			return fmt.Errorf("%s:%d: %w", path, line, err)
		}
		fmode, err1 := strconv.ParseUint(fields[3], 8, 32)
		dmode, err2 := strconv.ParseUint(fields[4], 8, 32)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("%s:%d: modes %q %q are not octal", path, line, fields[3], fields[4])
		}
		matches, _ := filepath.Glob(fields[0])
		if len(matches) == 0 {
			matches = []string{fields[0]}
		}
		for _, m := range matches {
			if err := applyRec(m, fields[1] == "true", uid, gid, os.FileMode(fmode), os.FileMode(dmode), hidden); err != nil {
				return fmt.Errorf("%s:%d: %w", path, line, err)
			}
		}
	}
	return sc.Err()
}

// fixAccount resolves "user[:group][,uid:gid]".
func fixAccount(entry string) (uid, gid int, err error) {
	account, fallback, hasFallback := strings.Cut(entry, ",")
	un, gn, hasGroup := strings.Cut(account, ":")
	a, err := lookupAccount(un, hasGroup)
	if err == nil {
		uid, gid = a.uid, a.gid
		if hasGroup {
			gid, err = lookupGroupID(gn, true)
		}
	}
	if err != nil && hasFallback {
		us, gs, _ := strings.Cut(fallback, ":")
		var e1, e2 error
		uid, e1 = strconv.Atoi(us)
		gid, e2 = strconv.Atoi(gs)
		if e1 == nil && e2 == nil {
			return uid, gid, nil
		}
	}
	return uid, gid, err
}

// applyRec chowns path and chmods it (dmode for a directory, fmode else),
// into directories when recurse is set.
func applyRec(path string, recurse bool, uid, gid int, fmode, dmode os.FileMode, hidden bool) error {
	if err := os.Lchown(path, uid, gid); err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return os.Chmod(path, fmode)
	}
	if err := os.Chmod(path, dmode); err != nil {
		return err
	}
	if !recurse {
		return nil
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !hidden && strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if err := applyRec(filepath.Join(path, e.Name()), recurse, uid, gid, fmode, dmode, hidden); err != nil {
			return err
		}
	}
	return nil
}
