package supervisor

import (
	"testing"
	"time"

	"github.com/corralhq/corral/services"
)

func TestDelayFor(t *testing.T) {
	b := services.Backoff{Initial: 0, Min: 100 * time.Millisecond, Max: time.Second, Multiplier: 2}
	want := []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}
	for n, w := range want {
		if got := delayFor(b, n); got != w {
			t.Errorf("delayFor(%d) = %v, want %v", n, got, w)
		}
	}
}

func TestRestartPlanLimitAndReset(t *testing.T) {
	svc := &services.Service{
		MaxRestarts:   3,
		RestartWindow: time.Minute,
		Backoff:       services.Backoff{Min: 10 * time.Millisecond, Max: time.Second, Multiplier: 2, Reset: 10 * time.Second},
	}
	var p restartPlan
	now := time.Unix(1000, 0)
	var delays []time.Duration
	for i := 0; i < 3; i++ {
		d, giveUp := p.next(svc, 0, now)
		if giveUp {
			t.Fatalf("gave up after %d restarts, limit is 3", i)
		}
		delays = append(delays, d)
	}
	if delays[0] != 0 || delays[1] != 10*time.Millisecond || delays[2] != 20*time.Millisecond {
		t.Fatalf("delays %v", delays)
	}
	if _, giveUp := p.next(svc, 0, now); !giveUp {
		t.Fatal("a 4th restart within the window was allowed")
	}
	// Outside the window, and after a long uptime, it starts over.
	later := now.Add(2 * time.Minute)
	d, giveUp := p.next(svc, 20*time.Second, later)
	if giveUp || d != 0 {
		t.Fatalf("after the window and a long uptime: delay %v, giveUp %v", d, giveUp)
	}
}
