package main

import (
	"log/slog"
	"path/filepath"

	"github.com/corralhq/corral/control"
	"github.com/corralhq/corral/control/server"
	"golang.org/x/sys/unix"
)

// resolvePaths picks where the control socket and the log files go. A path
// given by flag or variable is used as it is; a default that cannot be
// written (a read-only root, a non-root user) falls back along
// control.RuntimeDirs, and each fallback is said once.
func (c *config) resolvePaths(log *slog.Logger) {
	dirs := control.RuntimeDirs()
	if c.socket != "" && !c.set["socket"] {
		for i, d := range dirs {
			if !writableDir(d) {
				continue
			}
			if i > 0 {
				c.socket = filepath.Join(d, filepath.Base(control.DefaultSocket))
				log.Info("control socket moved: the default directory is not writable", "socket", c.socket, "default", dirs[0])
			}
			break
		}
	}
	if c.noLogFiles || c.set["log-dir"] || writableDir(c.logDir) {
		return
	}
	for _, d := range dirs {
		if l := filepath.Join(d, "log"); writableDir(l) {
			log.Info("log files moved: the default directory is not writable", "log_dir", l, "default", c.logDir)
			c.logDir = l
			return
		}
	}
	log.Warn("no writable log directory: service output goes to the console only", "default", c.logDir)
	c.noLogFiles = true
}

// writableDir reports whether dir exists or can be made, is trusted as
// control/server.Listen trusts a socket directory (only root or corral's
// user can change it or any directory above: another user who made
// /tmp/corral-<uid> first gets neither the socket nor the logs), and can be
// written by this process.
func writableDir(dir string) bool {
	return server.TrustedDir(dir) == nil && unix.Access(dir, unix.W_OK) == nil
}

// exportEnv is what every service and the main command get of corral: where
// its control socket is, for supervisorctl and the s6 commands (even when it
// moved to a fallback directory, and for services started with PATH only).
func (c *config) exportEnv() []string {
	if c.socket == "" {
		return nil
	}
	return []string{"CORRAL_SOCKET=" + c.socket}
}
