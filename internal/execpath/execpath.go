// Package execpath finds the program a command names the way execvp(3)
// does, against a PATH given explicitly (a service's environment, not
// corral's). The engine's spawner and the s6-overlay commands share it.
package execpath

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DefaultPath is searched when PATH is empty or unset, as execvp does.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Look finds file: as it is (relative to dir when not absolute) when it
// holds a slash, else in the colon-separated pathEnv. The error wraps
// fs.ErrNotExist when there is no such program and fs.ErrPermission when
// the one found cannot be executed.
func Look(file, pathEnv, dir string) (string, error) {
	if strings.Contains(file, "/") {
		p := file
		if !filepath.IsAbs(p) && dir != "" {
			p = filepath.Join(dir, p)
		}
		if err := executable(p); err != nil {
			return "", fmt.Errorf("%s: %w", file, err)
		}
		return file, nil
	}
	if pathEnv == "" {
		pathEnv = DefaultPath
	}
	var firstErr error
	for _, d := range filepath.SplitList(pathEnv) {
		if d == "" {
			d = "."
		}
		p := filepath.Join(d, file)
		err := executable(p)
		if err == nil {
			return p, nil
		}
		if firstErr == nil && !errors.Is(err, fs.ErrNotExist) {
			firstErr = err
		}
	}
	if firstErr != nil {
		return "", fmt.Errorf("%s: %w", file, firstErr)
	}
	return "", fmt.Errorf("%s: executable file not found in $PATH: %w", file, fs.ErrNotExist)
}

// executable checks that p is a file with an execute bit.
func executable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fs.ErrPermission
	}
	return nil
}

// LookupEnv returns the value of key in a "K=V" list (the last one wins,
// as for execve).
func LookupEnv(env []string, key string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}
