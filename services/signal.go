package services

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"github.com/corralhq/corral/control"
	"golang.org/x/sys/unix"
)

// maxSignal is the highest signal number on Linux (SIGRTMAX).
const maxSignal = 64

// parseSignal reads a signal given as "SIGTERM", "TERM", "term", or a number
// (TOML integer or numeric string).
func parseSignal(v any) (syscall.Signal, error) {
	switch v := v.(type) {
	case int64:
		if v < 1 || v > maxSignal {
			return 0, fmt.Errorf("bad signal %d: want 1 to %d", v, maxSignal)
		}
		return syscall.Signal(v), nil
	case string:
		if n, err := strconv.Atoi(v); err == nil {
			return parseSignal(int64(n))
		}
		if s, err := control.ParseSignal(v); err == nil {
			return s, nil
		}
		name := strings.ToUpper(strings.TrimSpace(v))
		if !strings.HasPrefix(name, "SIG") {
			name = "SIG" + name
		}
		return 0, fmt.Errorf("bad signal %q%s", v, didYouMean(name, signalNames()))
	}
	return 0, fmt.Errorf("expected a signal name such as \"SIGTERM\" or a number, got %s", tomlType(v))
}

// signalNames lists the known signal names, for suggestions.
func signalNames() []string {
	var out []string
	for i := 1; i <= maxSignal; i++ {
		if n := unix.SignalName(syscall.Signal(i)); n != "" {
			out = append(out, n)
		}
	}
	return out
}
