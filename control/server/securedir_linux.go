package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// maxSymlinks bounds the symbolic links followed on the way to a directory,
// as the kernel does (ELOOP).
const maxSymlinks = 40

// openTrustedDir opens the directory dir (absolute) and returns its
// descriptor (O_PATH) and its path with symbolic links resolved. Missing
// directories are created (mode 0755). Every directory on the way, the
// last included, must be one that only root and this process's user can
// change: owned by one of them, and writable by no one else (by group,
// only group root), or else sticky and owned by root, as /tmp is, where no
// one can move another's entries. Otherwise someone else could swap a
// directory or the socket for a symbolic link of theirs. Each step opens
// the next directory relative to the one checked before, without
// following a link in the last part; links are followed by hand, from a
// directory already checked, so the path is never walked twice.
func openTrustedDir(dir string) (int, string, error) {
	if !filepath.IsAbs(dir) {
		return -1, "", fmt.Errorf("control socket directory %s: not an absolute path", dir)
	}
	fd, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, "", fmt.Errorf("opening /: %w", err)
	}
	at := "/"
	if err := checkTrusted(fd, at); err != nil {
		unix.Close(fd)
		return -1, "", err
	}
	parts := strings.Split(dir, "/")
	links := 0
	for len(parts) > 0 {
		p := parts[0]
		parts = parts[1:]
		if p == "" || p == "." {
			continue
		}
		next, err := openStep(fd, p)
		if errors.Is(err, unix.ENOTDIR) {
			// A symbolic link (or not a directory at all).
			target, lerr := readlinkat(fd, p)
			if lerr != nil {
				unix.Close(fd)
				return -1, "", fmt.Errorf("control socket directory: %s is not a directory", filepath.Join(at, p))
			}
			if links++; links > maxSymlinks {
				unix.Close(fd)
				return -1, "", fmt.Errorf("control socket directory %s: too many levels of symbolic links", dir)
			}
			parts = append(strings.Split(target, "/"), parts...)
			if filepath.IsAbs(target) {
				unix.Close(fd)
				if fd, err = unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
					return -1, "", fmt.Errorf("opening /: %w", err)
				}
				at = "/"
			}
			continue
		}
		if err != nil {
			unix.Close(fd)
			return -1, "", fmt.Errorf("control socket directory %s: %w", filepath.Join(at, p), err)
		}
		unix.Close(fd)
		fd = next
		if p == ".." {
			at = filepath.Dir(at)
		} else {
			at = filepath.Join(at, p)
		}
		if err := checkTrusted(fd, at); err != nil {
			unix.Close(fd)
			return -1, "", err
		}
	}
	return fd, at, nil
}

// openStep opens the directory name in dirfd without following a link,
// creating it when missing.
func openStep(dirfd int, name string) (int, error) {
	const flags = unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Openat(dirfd, name, flags, 0)
	if errors.Is(err, unix.ENOENT) {
		if err := unix.Mkdirat(dirfd, name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
			return -1, fmt.Errorf("creating: %w", err)
		}
		fd, err = unix.Openat(dirfd, name, flags, 0)
	}
	return fd, err
}

// readlinkat reads the symbolic link name in dirfd.
func readlinkat(dirfd int, name string) (string, error) {
	buf := make([]byte, 4096)
	n, err := unix.Readlinkat(dirfd, name, buf)
	if err != nil {
		return "", err
	}
	if n == len(buf) {
		return "", unix.ENAMETOOLONG
	}
	return string(buf[:n]), nil
}

// checkTrusted checks that only root and this user can change the
// directory fd (at path, for messages).
func checkTrusted(fd int, path string) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("control socket directory %s: %w", path, err)
	}
	return trustedDir(path, st.Uid, st.Gid, st.Mode)
}

// trustedDir says why a directory of owner uid, group gid and mode is not
// one only root and this process's user can change, or nil.
func trustedDir(path string, uid, gid, mode uint32) error {
	euid := uint32(os.Geteuid())
	if uid != 0 && uid != euid {
		return fmt.Errorf("control socket directory %s belongs to uid %d, neither root nor corral's uid %d: that user could replace the socket", path, uid, euid)
	}
	sticky := mode&unix.S_ISVTX != 0 && uid == 0
	if sticky {
		return nil
	}
	if mode&0o002 != 0 || (mode&0o020 != 0 && gid != 0) {
		return fmt.Errorf("control socket directory %s is writable by others (mode %04o, uid %d, gid %d): they could replace the socket or swap in a symbolic link; use a directory only root can write to (or a sticky one owned by root, like /tmp)",
			path, mode&0o7777, uid, gid)
	}
	return nil
}

// TrustedDir checks dir as Listen will before it makes the socket there
// (creating what is missing): every directory on the way only root and
// this process's user can change. corral uses it to pick where the socket
// and its log files may go.
func TrustedDir(dir string) error {
	fd, _, err := openTrustedDir(dir)
	if err != nil {
		return err
	}
	return unix.Close(fd)
}
