package server

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
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
}

var _ net.Listener = (*Listener)(nil)

// Listen creates the control socket at path: it creates the parent
// directory, removes a stale socket (one nobody answers on), and creates the
// socket mode 0600, or mode 0660 with group ownership when group (a name or a
// number) is not empty. The socket appears with its final mode: it is bound
// under a temporary name and renamed into place. Besides the file mode, every
// connection's SO_PEERCRED is checked (see Serve).
func Listen(path string, group string) (*Listener, error) {
	gid := -1
	if group != "" {
		g, err := lookupGroup(group)
		if err != nil {
			return nil, fmt.Errorf("control socket group %q: %w", group, err)
		}
		gid = g
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("creating control socket directory: %w", err)
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	_ = os.Remove(tmp)
	ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("creating control socket: %w", err)
	}
	ul.SetUnlinkOnClose(false)
	fail := func(what string, err error) (*Listener, error) {
		ul.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("%s control socket: %w", what, err)
	}
	mode := os.FileMode(0o600)
	if gid >= 0 {
		mode = 0o660
		if err := os.Chown(tmp, os.Geteuid(), gid); err != nil {
			return fail("chown", err)
		}
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return fail("chmod", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail("renaming", err)
	}
	return &Listener{ul: ul, path: path, gid: gid}, nil
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

// removeStale removes path if it is a socket nobody listens on. A live socket
// or a file that is not a socket is an error.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checking control socket: %w", err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("control socket %s: exists and is not a socket", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("control socket %s: already in use by a running server", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing stale control socket: %w", err)
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

// Close stops listening and removes the socket file.
func (l *Listener) Close() error {
	err := l.ul.Close()
	if rerr := os.Remove(l.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
		err = rerr
	}
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
