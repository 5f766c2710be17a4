package services

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watch watches dir with fsnotify and calls onChange once per burst of
// events: after quiet has passed without a relevant event, or at the latest
// 10*quiet after the burst's first event, so that a steady trickle still
// gets applied. onChange runs on Watch's goroutine; events that arrive
// meanwhile make the next burst. Watch does not call onChange at start: the
// caller loads the directory itself first.
//
// Relevant events are those on *.toml files and on names starting with ".."
// (Kubernetes ConfigMap volumes swap all their files at once by renaming a
// "..data" symlink), and those on dir itself. It handles editors' atomic
// saves (write a temporary file, rename it over the old one), a dir that is
// missing at start or removed and created again (its nearest existing
// ancestor is watched until it appears), and a dir that is itself a symlink
// swapped for another. An event queue overflow counts as a change.
//
// Watch returns nil when ctx ends, or an error when the watch cannot be set
// up at all.
func Watch(ctx context.Context, dir string, quiet time.Duration, onChange func()) error {
	return watch(ctx, dir, quiet, onChange, nil)
}

// watch is Watch that calls ready (if not nil) once the watches are set up.
func watch(ctx context.Context, dir string, quiet time.Duration, onChange, ready func()) error {
	if quiet <= 0 {
		return fmt.Errorf("watching %s: quiet must be positive", dir)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("watching %s: %w", dir, err)
	}
	fw, err := fsnotify.NewBufferedWatcher(1024)
	if err != nil {
		return fmt.Errorf("watching %s: %w", dir, err)
	}
	defer fw.Close()
	w := &dirWatcher{fs: fw, dir: abs}
	if err := w.setup(); err != nil {
		return fmt.Errorf("watching %s: %w", dir, err)
	}
	if ready != nil {
		ready()
	}

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var pending bool
	var first time.Time
	trigger := func() {
		now := time.Now()
		if !pending {
			pending, first = true, now
		}
		wait := min(quiet, first.Add(10*quiet).Sub(now))
		timer.Reset(max(wait, 0))
	}
	for {
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case ev, ok := <-fw.Events:
			if !ok {
				return fmt.Errorf("watching %s: event channel closed", dir)
			}
			if w.relevant(ev) {
				trigger()
			}
		case err, ok := <-fw.Errors:
			if !ok {
				return fmt.Errorf("watching %s: error channel closed", dir)
			}
			_ = err // an overflow or a lost watch: look again and reload
			w.reset()
			_ = w.setup()
			trigger()
		case <-timer.C:
			pending = false
			onChange()
		}
	}
}

// dirWatcher keeps fsnotify watches on dir and on its nearest existing
// ancestor (the anchor), which sees dir created, removed or swapped.
type dirWatcher struct {
	fs     *fsnotify.Watcher
	dir    string
	dirOn  bool   // dir is watched
	anchor string // the ancestor watched, "" when none
}

// setup adds the watches that are missing, going deeper while parts of
// dir's path appear (they may be created while it runs, as by mkdir -p).
// It fails only when nothing at all can be watched.
func (w *dirWatcher) setup() error {
	var lastErr error
	for range 64 {
		changed := false
		if !w.dirOn {
			if st, err := os.Stat(w.dir); err == nil && st.IsDir() {
				if lastErr = w.fs.Add(w.dir); lastErr == nil {
					w.dirOn, changed = true, true
				}
			}
		}
		a := w.nearestAncestor()
		if a != w.dir && a != w.anchor {
			if w.anchor != "" {
				_ = w.fs.Remove(w.anchor)
				w.anchor = ""
			}
			if lastErr = w.fs.Add(a); lastErr == nil {
				w.anchor, changed = a, true
			}
		}
		if !changed {
			break
		}
	}
	if !w.dirOn && w.anchor == "" {
		return lastErr
	}
	return nil
}

// nearestAncestor is the deepest existing directory above dir.
func (w *dirWatcher) nearestAncestor() string {
	a := filepath.Dir(w.dir)
	for {
		if st, err := os.Stat(a); err == nil && st.IsDir() {
			return a
		}
		p := filepath.Dir(a)
		if p == a {
			return a
		}
		a = p
	}
}

// reset drops the dir watch, so the next setup adds it again (following
// a symlink that may now point elsewhere).
func (w *dirWatcher) reset() {
	if w.dirOn {
		_ = w.fs.Remove(w.dir)
		w.dirOn = false
	}
}

// relevant updates the watches for ev and reports whether it may change the
// loaded set.
func (w *dirWatcher) relevant(ev fsnotify.Event) bool {
	name := filepath.Clean(ev.Name)
	switch {
	case name == w.dir || strings.HasPrefix(w.dir, name+string(filepath.Separator)):
		// dir itself or an ancestor on its path was created, removed,
		// renamed or swapped: watch afresh.
		if ev.Op == fsnotify.Chmod {
			return false
		}
		w.reset()
		_ = w.setup()
		return true
	case filepath.Dir(name) == w.dir:
		base := filepath.Base(name)
		return strings.HasSuffix(base, ".toml") || strings.HasPrefix(base, "..")
	}
	return false
}
