package applets

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/corralhq/corral/control"
	"github.com/corralhq/corral/s6"
)

// socket is corral's control socket as the applets find it: the one corral
// gives every service and the main command in $CORRAL_SOCKET, else the
// first one along control.RuntimeDirs (as supervisorctl looks).
func socket() string {
	if s := os.Getenv("CORRAL_SOCKET"); s != "" {
		return s
	}
	return control.FindSocket()
}

// client returns a control client.
func client() *control.Client { return control.NewClient(socket()) }

// ctxTimeout bounds one control request.
const ctxTimeout = 30 * time.Second

// serviceRoots map a service directory's location to its name: the scan
// directory, the live copies, and their /var/run spellings.
var serviceRoots = []string{
	"/run/service/", "/var/run/service/",
	"/run/s6-rc/servicedirs/", "/var/run/s6-rc/servicedirs/",
	"/run/s6/legacy-services/", "/var/run/s6/legacy-services/",
}

// serviceName maps a service directory given to s6-svc & co to the corral
// service it is: /run/service/app is "app", /run/service/app/log is
// "app-log" (the live copies and "." inside them work too). A bare name
// with no slash that is not a directory is taken as the name.
func serviceName(dir string) (string, error) {
	p := dir
	if !filepath.IsAbs(p) {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		p = filepath.Join(wd, p)
	}
	p = filepath.Clean(p)
	cands := []string{p}
	if real, err := filepath.EvalSymlinks(p); err == nil && real != p {
		cands = append(cands, real)
	}
	for _, c := range cands {
		for _, root := range serviceRoots {
			if rest, ok := strings.CutPrefix(c, root); ok && rest != "" {
				parts := strings.Split(rest, "/")
				switch {
				case len(parts) == 1:
					return parts[0], nil
				case len(parts) == 2 && parts[1] == "log":
					return parts[0] + s6.LoggerSuffix, nil
				}
			}
		}
		// s6-rc's own live directory name: /run/s6-rc:s6-rc-init:XXXX/servicedirs/<name>
		if i := strings.Index(c, "/servicedirs/"); i >= 0 && strings.HasPrefix(c, "/run/s6-rc") {
			rest := c[i+len("/servicedirs/"):]
			if rest != "" && !strings.Contains(rest, "/") {
				return rest, nil
			}
		}
	}
	if !strings.Contains(dir, "/") && !isDirPath(dir) {
		return dir, nil
	}
	return "", fmt.Errorf("%s: not a service directory corral supervises (want /run/service/<name>)", dir)
}

func isDirPath(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// status returns the status of one service; errNoService when corral has
// no such service.
func status(ctx context.Context, c *control.Client, name string) (control.ServiceStatus, error) {
	sr, err := c.Status(ctx, name)
	if err != nil {
		var ae *control.APIError
		if errors.As(err, &ae) && ae.Code == control.CodeNoSuchProcess {
			return control.ServiceStatus{}, fmt.Errorf("%s: %w", name, errNoService)
		}
		return control.ServiceStatus{}, err
	}
	for _, st := range sr.Services {
		if st.Name == name {
			return st, nil
		}
	}
	return control.ServiceStatus{}, fmt.Errorf("%s: %w", name, errNoService)
}

var errNoService = errors.New("no such service: supervisor not listening")

// isUp is s6's "up": a process was spawned and runs.
func isUp(st control.ServiceStatus) bool {
	return st.PID > 0 && (st.State == control.Starting || st.State == control.Running || st.State == control.Stopping)
}

// wantUp is s6's "want up": the supervisor will (re)start it.
func wantUp(st control.ServiceStatus) bool {
	return st.State == control.Starting || st.State == control.Running || st.State == control.Backoff
}

// isReady is s6's "ready" for an up service.
func isReady(st control.ServiceStatus) bool {
	return isUp(st) && st.State == control.Running && st.Ready
}

// notStartedYet is a service that never ran.
func notStartedYet(st control.ServiceStatus) bool { return st.Started.IsZero() && st.PID == 0 }

// poll calls cond on fresh statuses until it is true, ctx ends (false) or
// the service vanishes (error).
func poll(ctx context.Context, c *control.Client, names []string, cond func([]control.ServiceStatus) bool) (bool, error) {
	delay := 5 * time.Millisecond
	for {
		var sts []control.ServiceStatus
		for _, n := range names {
			st, err := status(ctx, c, n)
			if err != nil {
				if ctx.Err() != nil {
					return false, nil
				}
				return false, err
			}
			sts = append(sts, st)
		}
		if cond(sts) {
			return true, nil
		}
		select {
		case <-ctx.Done():
			return false, nil
		case <-time.After(delay):
		}
		delay = min(delay*2, 50*time.Millisecond)
	}
}
