package control

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/corralhq/corral/control"
)

// BenchmarkStatus100 is `supervisorctl status` (the whole command: process
// start, connect, request, format) against a corral running 100 services.
// The target is <= 20 ms per run.
func BenchmarkStatus100(b *testing.B) {
	c := start100(b)
	ctl := filepath.Join(binDir, "supervisorctl")
	b.ResetTimer()
	for b.Loop() {
		out, err := exec.Command(ctl, "-s", c.sock, "status").Output()
		if err != nil || len(out) < 100*40 {
			b.Fatalf("status: %v, %d bytes", err, len(out))
		}
	}
}

// BenchmarkStatus100Request is the request alone (one client, kept-alive
// connection), without supervisorctl's process start.
func BenchmarkStatus100Request(b *testing.B) {
	c := start100(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		sr, err := c.client.Status(ctx)
		if err != nil || len(sr.Services) != 100 {
			b.Fatalf("status: %v, %d services", err, len(sr.Services))
		}
	}
}

// start100 runs corral with 100 sleep services and waits until all run.
func start100(b *testing.B) *corral {
	files := map[string]string{}
	want := map[string]control.State{}
	for i := range 100 {
		name := fmt.Sprintf("svc%03d", i)
		files[name+".toml"] = sleepFile(10000 + i)
		want[name] = control.Running
	}
	c := startCorral(b, files)
	c.waitState(want)
	return c
}
