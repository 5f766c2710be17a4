package s6

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// digestFile, in a live directory, holds the digest of the definition it
// was copied from, so an unchanged definition is not copied again.
const digestFile = ".corral-digest"

// Materialize gives every longrun its live directory, as s6-rc-init and
// s6-overlay's services-up do: the definition is copied to
// /run/s6-rc/servicedirs/<name> (legacy: /run/s6/legacy-services/<name>),
// run and finish made executable, and /run/service/<name> links to it.
// An unchanged definition is left alone; a changed one is synced in place,
// so a running process keeps a working directory. A unit whose directory
// cannot be made is reported.
func Materialize(l Layout, units []*Unit) []*Problem {
	var probs problems
	if err := os.MkdirAll(l.ScanDir(), 0o755); err != nil {
		probs.fatal(l.ScanDir(), "", "%v", err)
		return probs
	}
	for _, u := range units {
		d := u.Definition
		if d.Kind != Longrun || d.LoggerOf != "" {
			continue
		}
		live := u.Service.WorkingDir
		if err := syncLive(d.Dir, live, d.Digest); err != nil {
			probs.fatal(live, d.Name, "making the live directory: %v", err)
			continue
		}
		link := filepath.Join(l.ScanDir(), d.Name)
		if t, err := os.Readlink(link); err != nil || t != live {
			tmp := link + ".corral-new"
			os.Remove(tmp)
			if err := os.Symlink(live, tmp); err != nil {
				probs.fatal(link, d.Name, "%v", err)
				continue
			}
			if err := os.Rename(tmp, link); err != nil {
				probs.fatal(link, d.Name, "%v", err)
			}
		}
	}
	return probs
}

// syncLive makes live a copy of src (unless it already is one of this digest).
func syncLive(src, live, digest string) error {
	if b, err := os.ReadFile(filepath.Join(live, digestFile)); err == nil && string(b) == digest {
		return nil
	}
	if err := os.MkdirAll(live, 0o755); err != nil {
		return err
	}
	if err := syncTree(src, live); err != nil {
		return err
	}
	for _, f := range []string{"run", "finish", "log/run", "log/finish"} {
		p := filepath.Join(live, f)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			if err := os.Chmod(p, st.Mode().Perm()|0o755); err != nil {
				return err
			}
		}
	}
	return os.WriteFile(filepath.Join(live, digestFile), []byte(digest), 0o644)
}

// syncTree copies src over dst: files and links are replaced atomically,
// entries dst has and src has not are removed (except runtime state:
// supervise/, event/ and the digest file).
func syncTree(src, dst string) error {
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	have := map[string]bool{digestFile: true, "supervise": true, "event": true}
	for _, e := range ents {
		name := e.Name()
		have[name] = true
		s, t := filepath.Join(src, name), filepath.Join(dst, name)
		st, err := os.Lstat(s)
		if err != nil {
			return err
		}
		switch {
		case st.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(s)
			if err != nil {
				return err
			}
			tmp := t + ".corral-new"
			os.Remove(tmp)
			if err := os.Symlink(target, tmp); err != nil {
				return err
			}
			if err := replace(tmp, t); err != nil {
				return err
			}
		case st.IsDir():
			if cur, err := os.Lstat(t); err == nil && !cur.IsDir() {
				if err := os.Remove(t); err != nil {
					return err
				}
			}
			if err := os.MkdirAll(t, st.Mode().Perm()); err != nil {
				return err
			}
			if err := syncTree(s, t); err != nil {
				return err
			}
		case st.Mode().IsRegular():
			if err := copyFile(s, t, st.Mode().Perm()); err != nil {
				return err
			}
		}
	}
	cur, err := os.ReadDir(dst)
	if err != nil {
		return err
	}
	for _, e := range cur {
		if !have[e.Name()] {
			if err := os.RemoveAll(filepath.Join(dst, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// replace renames tmp over t, removing a directory in the way.
func replace(tmp, t string) error {
	if st, err := os.Lstat(t); err == nil && st.IsDir() {
		if err := os.RemoveAll(t); err != nil {
			return err
		}
	}
	return os.Rename(tmp, t)
}

// copyFile copies a regular file through a temporary file and a rename.
func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".corral-new"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(tmp)
		return fmt.Errorf("copying %s: %w", src, err)
	}
	if err := out.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return err
	}
	if err := replace(tmp, dst); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
