package main

// Regression tests for defects a review found, each reproduced before it
// was fixed.

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/corralhq/corral/s6"
	"github.com/corralhq/corral/services"
)

// load is the engine's Load; Update (watch, SIGHUP, supervisorctl update)
// and Reread may call it together. It writes c.reported and rewrites the
// live directories, so calls must not overlap: concurrent loads must give
// no error and no race.
func TestConcurrentLoadsAreSerialised(t *testing.T) {
	root := t.TempDir()
	for i, name := range []string{"a", "b", "c", "d"} {
		dir := filepath.Join(root, "etc/services.d", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "run"), []byte("#!/bin/sh\nexec sleep 1000\n"), 0o755)
		// an unknown file: a warning, reported once through c.reported
		os.WriteFile(filepath.Join(dir, "junk"+string(rune('0'+i))), []byte("x"), 0o644)
	}
	c := &s6Compat{
		log:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		layout:      s6.Layout{Root: root},
		exe:         "/bin/true",
		servicesDir: filepath.Join(root, "etc/services.d"),
		reported:    map[string]bool{},
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			set, err := c.load(services.LoadOptions{})
			if err != nil {
				t.Error(err)
				return
			}
			for _, e := range set.Errors {
				t.Errorf("load error: %v", e)
			}
		}()
	}
	wg.Wait()
}
