package supervisor

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/corralhq/corral/plugins"
	"github.com/corralhq/corral/supervisor/internal/reaper"
)

func init() { reaper.Start() }

func TestExecOutputStdinStatusTimeout(t *testing.T) {
	ctx := context.Background()
	res, err := runToCompletion(ctx, plugins.ExecSpec{Argv: []string{"sh", "-c", "cat; echo err >&2; exit 3"}, Stdin: []byte("in\n")}, os.Environ())
	if err != nil {
		t.Fatal(err)
	}
	if got := string(res.Output); got != "in\nerr\n" || res.Status.Code != 3 {
		t.Fatalf("output %q status %v", got, res.Status)
	}
	began := time.Now()
	res, err = runToCompletion(ctx, plugins.ExecSpec{Argv: []string{"sh", "-c", "sleep 30 & sleep 30"}, Timeout: 200 * time.Millisecond}, os.Environ())
	if err == nil || res.Status.Signal == 0 {
		t.Fatalf("timeout: err %v status %v", err, res.Status)
	}
	if time.Since(began) > 10*time.Second {
		t.Fatal("the timed-out command's group was not killed")
	}
	if _, err := runToCompletion(ctx, plugins.ExecSpec{Argv: []string{"/no/such/thing"}}, nil); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("missing command: %v", err)
	}
}

func BenchmarkExecTrue(b *testing.B) {
	env := os.Environ()
	for i := 0; i < b.N; i++ {
		if _, err := runToCompletion(context.Background(), plugins.ExecSpec{Argv: []string{"sh", "-c", "true"}}, env); err != nil {
			b.Fatal(err)
		}
	}
}
