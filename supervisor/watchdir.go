package supervisor

import (
	"context"
	"time"
)

// watchDir watches the services directory (services.Watch once it lands).
var watchDir = func(ctx context.Context, dir string, quiet time.Duration, onChange func()) error {
	<-ctx.Done()
	return nil
}
