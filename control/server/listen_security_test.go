package server

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/corralhq/corral/test/testutil"
)

// TestListenRefusesDirectoriesOthersCanChange: a socket directory (or any
// directory above it) that another user could change is refused with its
// path named; a sticky one owned by root is fine.
func TestListenRefusesDirectoriesOthersCanChange(t *testing.T) {
	testutil.Require(t, testutil.Root) // it chowns to other users
	root := t.TempDir()
	mk := func(rel string, mode os.FileMode, uid int) string {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, uid, 0); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, dir, bad, want string
	}{
		{"world-writable", mk("ww", 0o777, 0), "ww", "is writable by others (mode 0777"},
		{"group-writable", mk("gw", 0o775, 0), "", ""}, // group root
		{"sticky root", mk("sticky", 0o777|os.ModeSticky, 0), "", ""},
		{"owned by nobody", mk("nob", 0o755, 65534), "nob", "belongs to uid 65534"},
		{"world-writable parent", filepath.Join(mk("wwp", 0o777, 0), "run"), "wwp", "is writable by others"},
		{"sticky but not root's", mk("stickynob", 0o777|os.ModeSticky, 65534), "stickynob", "belongs to uid 65534"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sock := filepath.Join(tc.dir, "control.sock")
			ln, err := Listen(sock, "")
			if tc.bad == "" {
				if err != nil {
					t.Fatalf("Listen: %v", err)
				}
				ln.Close()
				return
			}
			if err == nil {
				ln.Close()
				t.Fatalf("Listen in %s succeeded", tc.dir)
			}
			if !strings.Contains(err.Error(), filepath.Join(root, tc.bad)+" ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to name %s and say %q", err, filepath.Join(root, tc.bad), tc.want)
			}
			if _, err := os.Lstat(sock); err == nil {
				t.Errorf("a socket was made in %s", tc.dir)
			}
		})
	}
	// A group-writable directory of another group is refused too.
	gw := mk("gwother", 0o775, 0)
	if err := os.Chown(gw, 0, 65534); err != nil {
		t.Fatal(err)
	}
	if ln, err := Listen(filepath.Join(gw, "control.sock"), ""); err == nil || !strings.Contains(err.Error(), "gid 65534") {
		if ln != nil {
			ln.Close()
		}
		t.Errorf("group-writable directory of group 65534: %v", err)
	}
}

// TestListenFollowsTrustedLinksOnly: a symbolic link on the way is
// followed when it lives in a trusted directory, and the directories it
// leads to are checked as well.
func TestListenFollowsTrustedLinksOnly(t *testing.T) {
	testutil.Require(t, testutil.Root) // it chowns to other users
	root := t.TempDir()
	real := filepath.Join(root, "real")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	ln, err := Listen(filepath.Join(root, "link", "sub", "control.sock"), "")
	if err != nil {
		t.Fatalf("Listen through a link: %v", err)
	}
	fi, err := os.Lstat(filepath.Join(real, "sub", "control.sock"))
	if err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("socket not made in the link's target: %v", err)
	}
	ln.Close()

	// A link to a directory others can write to leads nowhere.
	ww := filepath.Join(root, "ww")
	if err := os.Mkdir(ww, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(ww, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(ww, filepath.Join(root, "tow")); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(filepath.Join(root, "tow", "control.sock"), ""); err == nil || !strings.Contains(err.Error(), ww+" is writable by others") {
		t.Errorf("Listen through a link to %s: %v", ww, err)
	}
	// A loop of links ends.
	if err := os.Symlink("loop", filepath.Join(root, "loop")); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(filepath.Join(root, "loop", "control.sock"), ""); err == nil || !strings.Contains(err.Error(), "symbolic links") {
		t.Errorf("Listen through a loop of links: %v", err)
	}
}

// TestListenLeavesNoPrivateDirectory: the private directory the socket is
// bound in is gone once Listen returns, and one a killed corral left
// behind is removed.
func TestListenLeavesNoPrivateDirectory(t *testing.T) {
	testutil.Require(t, testutil.Root) // it chowns to other users
	dir := t.TempDir()
	// A leftover from a corral that no longer runs (pid 2^22+1 is above
	// pid_max's largest value).
	stale := filepath.Join(dir, fmt.Sprintf("%s%d-00000000", privatePrefix("control.sock"), 1<<22+1))
	if err := os.Mkdir(stale, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stale, "control.sock"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := Listen(filepath.Join(dir, "control.sock"), "65534")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != "control.sock" {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want the socket only", names)
	}
	fi, err := os.Lstat(filepath.Join(dir, "control.sock"))
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o660 || st.Uid != 0 || st.Gid != 65534 {
		t.Errorf("socket %v uid %d gid %d, want socket 0660 root:65534", fi.Mode(), st.Uid, st.Gid)
	}
}

// TestListenLongPathAndForeignFile: a path too long for a unix address is
// refused; Close leaves alone a file that replaced the socket.
func TestListenLongPathAndForeignFile(t *testing.T) {
	testutil.Require(t, testutil.Root) // it chowns to other users
	dir := t.TempDir()
	long := filepath.Join(dir, strings.Repeat("d", 120), "control.sock")
	if _, err := Listen(long, ""); err == nil || !strings.Contains(err.Error(), "longer than 107 bytes") {
		t.Errorf("Listen(%d-byte path): %v", len(long), err)
	}
	// Near the bound: the private directory's longer path is never bound.
	near := filepath.Join(dir, strings.Repeat("n", 107-len(dir)-len("/control.sock")-1), "control.sock")
	ln, err := Listen(near, "")
	if err != nil {
		t.Fatalf("Listen(%d-byte path): %v", len(near), err)
	}
	ln.Close()

	sock := filepath.Join(dir, "control.sock")
	ln, err = Listen(sock, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(sock); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sock, []byte("not ours"), 0o600); err != nil {
		t.Fatal(err)
	}
	ln.Close()
	if b, err := os.ReadFile(sock); err != nil || string(b) != "not ours" {
		t.Errorf("Close removed a file it did not make: %q, %v", b, err)
	}
	// A symbolic link in the socket's place is not a socket either.
	if err := os.Remove(sock); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", sock); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(sock, ""); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("Listen over a symbolic link: %v", err)
	}
}
