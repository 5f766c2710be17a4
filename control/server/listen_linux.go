package server

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Peer is who is on the other end of a unix socket connection, from
// SO_PEERCRED.
type Peer struct {
	// PID, UID and GID of the connecting process.
	PID, UID, GID int
}

// Listener is a unix socket listener that reads each connection's peer
// credentials and tells Serve whether the peer may use the API: root, or a
// member (primary or supplementary) of the configured group.
type Listener struct {
	ul   *net.UnixListener
	path string
	// gid is the allowed group, or -1 for root only.
	gid int
	// dirfd is the socket's directory (O_PATH), and dev and ino the
	// socket file's identity: Close removes that file only.
	dirfd    int
	base     string
	dev, ino uint64
	closing  sync.Once
}

var _ net.Listener = (*Listener)(nil)

// maxSocketPath is the longest path a unix socket address holds
// (sun_path, less its NUL).
const maxSocketPath = 107

// Listen creates the control socket at path: it creates the missing parent
// directories, removes a stale socket (one nobody answers on), and creates
// the socket mode 0600, or mode 0660 with group ownership when group (a
// name or a number) is not empty. Besides the file mode, every
// connection's SO_PEERCRED is checked (see Serve).
//
// No one but root and corral's user can interfere: every directory on the
// way must be one only they can change (else Listen fails, naming it; a
// sticky directory owned by root, such as /tmp, is fine), and the socket is
// bound inside a new private directory (mode 0700) in the socket's
// directory, given its mode and group there, and renamed into place, every
// step by descriptor, so that it appears with its final mode and no path
// can be swapped for a symbolic link on the way.
func Listen(path string, group string) (*Listener, error) {
	gid := -1
	if group != "" {
		g, err := lookupGroup(group)
		if err != nil {
			return nil, fmt.Errorf("control socket group %q: %w", group, err)
		}
		gid = g
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if len(abs) > maxSocketPath {
		return nil, fmt.Errorf("control socket %s: path longer than %d bytes", abs, maxSocketPath)
	}
	dir, base := filepath.Split(abs)
	if base == "" {
		return nil, fmt.Errorf("control socket %s: not a file name", path)
	}
	dirfd, resolved, err := openTrustedDir(dir)
	if err != nil {
		return nil, err
	}
	l := &Listener{path: abs, gid: gid, dirfd: dirfd, base: base}
	if err := l.removeStale(); err != nil {
		unix.Close(dirfd)
		return nil, err
	}
	cleanPrivate(dirfd, base)
	if err := l.bind(resolved); err != nil {
		unix.Close(dirfd)
		return nil, err
	}
	return l, nil
}

// privatePrefix starts the names of the private directories in which the
// socket base is bound: ".base.tmp-" then corral's pid and a random part.
func privatePrefix(base string) string { return "." + base + ".tmp-" }

// bind binds the socket in a new private directory of the socket's
// directory (dir, links resolved, open as l.dirfd), sets its group and
// mode, and renames it into place.
func (l *Listener) bind(dir string) error {
	var priv string
	for i := 0; ; i++ {
		priv = fmt.Sprintf("%s%d-%08x", privatePrefix(l.base), os.Getpid(), rand.Uint32())
		err := unix.Mkdirat(l.dirfd, priv, 0o700)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EEXIST) || i == 100 {
			return fmt.Errorf("creating a private directory for the control socket in %s: %w", dir, err)
		}
	}
	defer unix.Unlinkat(l.dirfd, priv, unix.AT_REMOVEDIR)
	pfd, err := unix.Openat(l.dirfd, priv, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening the control socket's private directory: %w", err)
	}
	defer unix.Close(pfd)
	// Bound by the private directory's path, which every directory on the
	// way (checked, links resolved) keeps from changing, or through its
	// descriptor when that path is too long for a unix address.
	addr := filepath.Join(dir, priv, l.base)
	if len(addr) > maxSocketPath {
		addr = fmt.Sprintf("/proc/self/fd/%d/%s", pfd, l.base)
	}
	ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: addr, Net: "unix"})
	if err != nil {
		return fmt.Errorf("creating control socket: %w", err)
	}
	ul.SetUnlinkOnClose(false)
	fail := func(what string, err error) error {
		ul.Close()
		_ = unix.Unlinkat(pfd, l.base, 0)
		return fmt.Errorf("%s control socket %s: %w", what, l.path, err)
	}
	// Only root and corral's user can enter pfd: these act on our socket.
	mode := uint32(0o600)
	if l.gid >= 0 {
		mode = 0o660
		if err := unix.Fchownat(pfd, l.base, -1, l.gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fail("chown", err)
		}
	}
	if err := unix.Fchmodat(pfd, l.base, mode, 0); err != nil {
		return fail("chmod", err)
	}
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, l.base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fail("checking", err)
	}
	if err := unix.Renameat(pfd, l.base, l.dirfd, l.base); err != nil {
		return fail("renaming", err)
	}
	l.ul, l.dev, l.ino = ul, st.Dev, st.Ino
	return nil
}

// cleanPrivate removes the private directories (and their socket) that a
// corral killed while binding left in the socket's directory.
func cleanPrivate(dirfd int, base string) {
	fd, err := unix.Openat(dirfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	d := os.NewFile(uintptr(fd), "socket directory")
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	for _, n := range names {
		rest, ok := strings.CutPrefix(n, privatePrefix(base))
		if !ok {
			continue
		}
		pid, _, _ := strings.Cut(rest, "-")
		if p, err := strconv.Atoi(pid); err != nil || p == os.Getpid() || unix.Kill(p, 0) == nil {
			continue // not ours, or its corral still runs
		}
		var st unix.Stat_t
		if unix.Fstatat(dirfd, n, &st, unix.AT_SYMLINK_NOFOLLOW) != nil ||
			st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Uid != uint32(os.Geteuid()) {
			continue
		}
		if pfd, err := unix.Openat(dirfd, n, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0); err == nil {
			_ = unix.Unlinkat(pfd, base, 0)
			unix.Close(pfd)
		}
		_ = unix.Unlinkat(dirfd, n, unix.AT_REMOVEDIR)
	}
}

// lookupGroup resolves a group name or number.
func lookupGroup(group string) (int, error) {
	if n, err := strconv.Atoi(group); err == nil && n >= 0 {
		return n, nil
	}
	g, err := user.LookupGroup(group)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(g.Gid)
}

// removeStale removes the socket's file if it is a socket nobody listens
// on. A live socket or a file that is not a socket is an error.
func (l *Listener) removeStale() error {
	var st unix.Stat_t
	err := unix.Fstatat(l.dirfd, l.base, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checking control socket %s: %w", l.path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return fmt.Errorf("control socket %s: exists and is not a socket", l.path)
	}
	c, err := net.DialTimeout("unix", l.path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("control socket %s: already in use by a running server", l.path)
	}
	if err := unix.Unlinkat(l.dirfd, l.base, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("removing stale control socket %s: %w", l.path, err)
	}
	return nil
}

// Accept waits for a connection and reads its peer credentials. A peer that
// may not use the API is still accepted, so that Serve can answer it 403
// with a reason rather than a bare reset.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.ul.AcceptUnix()
	if err != nil {
		return nil, err
	}
	pc := &peerConn{UnixConn: c}
	peer, err := peerOf(c)
	if err != nil {
		pc.refusal = fmt.Sprintf("reading peer credentials: %v", err)
		return pc, nil
	}
	pc.peer = peer
	pc.refusal = l.check(peer)
	return pc, nil
}

// check returns why peer may not use the API, or "" when it may: root,
// corral's own user (corral run as a non-root user, docker run --user), or
// a member of the socket's group.
func (l *Listener) check(p Peer) string {
	if p.UID == 0 || p.UID == os.Geteuid() {
		return ""
	}
	if l.gid < 0 {
		return fmt.Sprintf("uid %d is not root", p.UID)
	}
	if p.GID == l.gid || inSupplementary(p.PID, l.gid) {
		return ""
	}
	return fmt.Sprintf("uid %d is neither root nor in group %d", p.UID, l.gid)
}

// inSupplementary reports whether the process pid has gid among its
// supplementary groups (the "Groups:" line of /proc/pid/status).
func inSupplementary(pid, gid int) bool {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "Groups:")
		if !ok {
			continue
		}
		for _, g := range strings.Fields(rest) {
			if n, err := strconv.Atoi(g); err == nil && n == gid {
				return true
			}
		}
		return false
	}
	return false
}

// peerOf reads SO_PEERCRED.
func peerOf(c *net.UnixConn) (Peer, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return Peer{}, err
	}
	var cred *unix.Ucred
	var serr error
	err = raw.Control(func(fd uintptr) {
		cred, serr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return Peer{}, err
	}
	return Peer{PID: int(cred.Pid), UID: int(cred.Uid), GID: int(cred.Gid)}, nil
}

// Close stops listening and removes the socket file, if it is still the
// one Listen made.
func (l *Listener) Close() error {
	err := l.ul.Close()
	l.closing.Do(func() {
		var st unix.Stat_t
		if unix.Fstatat(l.dirfd, l.base, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Dev == l.dev && st.Ino == l.ino {
			if rerr := unix.Unlinkat(l.dirfd, l.base, 0); rerr != nil && !errors.Is(rerr, unix.ENOENT) && err == nil {
				err = fmt.Errorf("removing control socket %s: %w", l.path, rerr)
			}
		}
		unix.Close(l.dirfd)
	})
	return err
}

// Addr is the socket's address.
func (l *Listener) Addr() net.Addr { return &net.UnixAddr{Name: l.path, Net: "unix"} }

// Path is the socket's path.
func (l *Listener) Path() string { return l.path }

// peerConn is an accepted connection with its peer and verdict.
type peerConn struct {
	*net.UnixConn
	peer Peer
	// refusal is why the peer may not use the API ("" when it may).
	refusal string
}

// rootOnly wraps a plain unix listener (one not made by Listen) with the
// root-only check, so that Serve never serves an unchecked unix socket.
type rootOnly struct {
	*net.UnixListener
}

// Accept reads the peer and refuses anyone but root.
func (l rootOnly) Accept() (net.Conn, error) {
	c, err := l.UnixListener.AcceptUnix()
	if err != nil {
		return nil, err
	}
	pc := &peerConn{UnixConn: c}
	peer, err := peerOf(c)
	switch {
	case err != nil:
		pc.refusal = fmt.Sprintf("reading peer credentials: %v", err)
	case peer.UID != 0:
		pc.refusal = fmt.Sprintf("uid %d is not root", peer.UID)
	}
	pc.peer = peer
	return pc, nil
}
