package control

import (
	"os"
	"path/filepath"
	"strconv"
)

// RuntimeDirs returns, in order of preference, the directories where corral
// keeps its runtime files (the control socket, and log files when the log
// directory cannot be written): /run/corral, then $XDG_RUNTIME_DIR/corral,
// then corral-<uid> in the temporary directory. A non-root user or a
// read-only root falls back along this list, and supervisorctl looks for
// the socket along the same list.
func RuntimeDirs() []string {
	dirs := []string{filepath.Dir(DefaultSocket)}
	if x := os.Getenv("XDG_RUNTIME_DIR"); x != "" && filepath.IsAbs(x) {
		dirs = append(dirs, filepath.Join(x, "corral"))
	}
	return append(dirs, filepath.Join(os.TempDir(), "corral-"+strconv.Itoa(os.Geteuid())))
}

// FindSocket returns the control socket to talk to when none was given:
// the first socket that exists along RuntimeDirs, else DefaultSocket.
func FindSocket() string {
	for _, d := range RuntimeDirs() {
		p := filepath.Join(d, filepath.Base(DefaultSocket))
		if fi, err := os.Stat(p); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return p
		}
	}
	return DefaultSocket
}
