package template

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/corralhq/corral/plugins"
)

// errCheckFailed marks a render rejected by the check command.
var errCheckFailed = errors.New("check failed")

// unchanged reports whether the file at path already holds b.
func unchanged(path string, b []byte) bool {
	cur, err := os.ReadFile(path)
	return err == nil && bytes.Equal(cur, b)
}

// stage writes b to a new file next to dest, synced, with perms; the caller
// removes it unless it is installed.
func stage(dest string, b []byte, perm os.FileMode) (string, error) {
	dir, base := filepath.Split(dest)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".staged-*")
	if err != nil {
		return "", fmt.Errorf("staging file: %w", err)
	}
	name := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return "", fmt.Errorf("staging file: %w", err)
	}
	return name, nil
}

// check runs the check command on the staged file through the host.
func check(ctx context.Context, host plugins.Host, argv []string, staged string, s *Config) error {
	if len(argv) == 0 {
		return nil
	}
	args := make([]string, len(argv))
	for i, a := range argv {
		args[i] = strings.ReplaceAll(a, stagedPlaceholder, staged)
	}
	res, err := host.Exec(ctx, plugins.ExecSpec{Argv: args, Timeout: s.CheckTimeout})
	if err != nil {
		return fmt.Errorf("%w: running %s: %v", errCheckFailed, args[0], err)
	}
	if !res.Status.Success() {
		out := strings.TrimSpace(string(res.Output))
		if len(out) > 2000 {
			out = out[:2000] + "..."
		}
		return fmt.Errorf("%w: %s: %s: %s", errCheckFailed, args[0], res.Status, out)
	}
	return nil
}

// install keeps one backup of dest (<dest>.bak) and renames staged over
// dest, then syncs the directory so the rename survives a crash.
func install(staged, dest string) error {
	bak := dest + ".bak"
	if _, err := os.Lstat(dest); err == nil {
		if err := backup(dest, bak); err != nil {
			return err
		}
	}
	if err := os.Rename(staged, dest); err != nil {
		return fmt.Errorf("installing file: %w", err)
	}
	return syncDir(filepath.Dir(dest))
}

// backup replaces bak with a copy of dest: a hard link when possible.
func backup(dest, bak string) error {
	tmp := bak + ".tmp"
	os.Remove(tmp)
	if err := os.Link(dest, tmp); err != nil {
		if err := copyFile(dest, tmp); err != nil {
			return fmt.Errorf("keeping backup: %w", err)
		}
	}
	if err := os.Rename(tmp, bak); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("keeping backup: %w", err)
	}
	return nil
}

// copyFile copies src to dst with src's permissions.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// syncDir fsyncs a directory.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory: %w", err)
	}
	return nil
}
