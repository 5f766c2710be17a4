package control

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// checkServer checks who serves the socket at path on conn, before
// anything is sent or believed. Trusted are a server run by root or by
// this client's own user, and one run by another user that owns the socket
// file in a directory that only it (or root) can write to: then no one
// else could have bound that socket (corral running as a user other than
// root). Anyone else may have replaced corral's socket with their own,
// where the directory lets them.
func checkServer(conn net.Conn, path string) error {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return errors.New("not a unix socket connection")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return fmt.Errorf("reading the server's credentials: %w", err)
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		cerr = err
	}
	if cerr != nil {
		return fmt.Errorf("reading the server's credentials: %w", cerr)
	}
	uid := cred.Uid
	if uid == 0 || int(uid) == os.Geteuid() {
		return nil
	}
	if reason := notOwnedBy(path, uid); reason != "" {
		return &UntrustedError{PID: int(cred.Pid), UID: int(uid), Reason: reason}
	}
	return nil
}

// notOwnedBy says why the socket file at path could have been put there by
// someone other than uid (or root), or "".
func notOwnedBy(path string, uid uint32) string {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return fmt.Sprintf("its socket %s cannot be checked (%v)", path, err)
	}
	if st.Uid != uid {
		return fmt.Sprintf("the socket %s belongs to uid %d", path, st.Uid)
	}
	dir := filepath.Dir(path)
	if err := unix.Stat(dir, &st); err != nil {
		return fmt.Sprintf("its directory %s cannot be checked (%v)", dir, err)
	}
	if st.Uid != uid && st.Uid != 0 {
		return fmt.Sprintf("the socket's directory %s belongs to uid %d", dir, st.Uid)
	}
	if st.Mode&0o022 != 0 {
		return fmt.Sprintf("the socket's directory %s is writable by others (mode %04o)", dir, st.Mode&0o7777)
	}
	return ""
}

// dialChecked dials the socket at path and checks its server.
func dialChecked(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, err
	}
	if err := checkServer(conn, path); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}
