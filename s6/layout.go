package s6

import "path/filepath"

// Layout holds the paths of an s6-overlay image. DefaultLayout is the real
// one; tests root it in a temporary directory.
type Layout struct {
	// Root is prefixed to every path below ("" or "/" for the real ones).
	Root string
	// Profile is S6_RUNTIME_PROFILE: the trees are read from
	// /etc/cont-profile.d/<profile> instead of /etc.
	Profile string
}

// DefaultLayout is the layout of a real image.
var DefaultLayout = Layout{}

func (l Layout) path(p string) string {
	if l.Root == "" || l.Root == "/" {
		return p
	}
	return filepath.Join(l.Root, p)
}

// etc is /etc, or the profile's directory.
func (l Layout) etc() string {
	if l.Profile != "" {
		return l.path(filepath.Join("/etc/cont-profile.d", l.Profile))
	}
	return l.path("/etc")
}

// overlayDir is /etc/s6-overlay or the profile's s6-overlay directory.
func (l Layout) overlayDir() string { return filepath.Join(l.etc(), "s6-overlay") }

// SourceDir is the s6-rc source directory (/etc/s6-overlay/s6-rc.d).
func (l Layout) SourceDir() string { return filepath.Join(l.overlayDir(), "s6-rc.d") }

// BundleDir is the user-bundles directory (/etc/s6-overlay/user-bundles.d).
func (l Layout) BundleDir() string { return filepath.Join(l.overlayDir(), "user-bundles.d") }

// ServicesDir holds the legacy longruns (/etc/services.d).
func (l Layout) ServicesDir() string { return filepath.Join(l.etc(), "services.d") }

// ContInitDir holds the boot scripts (/etc/cont-init.d).
func (l Layout) ContInitDir() string { return filepath.Join(l.etc(), "cont-init.d") }

// ContFinishDir holds the shutdown scripts (/etc/cont-finish.d).
func (l Layout) ContFinishDir() string { return filepath.Join(l.etc(), "cont-finish.d") }

// FixAttrsDir holds the fix-attrs files (/etc/fix-attrs.d).
func (l Layout) FixAttrsDir() string { return filepath.Join(l.etc(), "fix-attrs.d") }

// RunDir is /run.
func (l Layout) RunDir() string { return l.path("/run") }

// ScanDir is /run/service: one link per longrun to its live directory,
// the path users give s6-svc and s6-svstat.
func (l Layout) ScanDir() string { return l.path("/run/service") }

// LiveDir is where an s6-rc longrun's directory is copied to run from
// (/run/s6-rc/servicedirs/<name>, the path linuxserver's with-contenv
// looks for in a service's working directory).
func (l Layout) LiveDir(name string) string {
	return filepath.Join(l.path("/run/s6-rc/servicedirs"), name)
}

// LegacyLiveDir is where a legacy longrun is copied to run from
// (/run/s6/legacy-services/<name>).
func (l Layout) LegacyLiveDir(name string) string {
	return filepath.Join(l.path("/run/s6/legacy-services"), name)
}

// S6Dir is /run/s6.
func (l Layout) S6Dir() string { return l.path("/run/s6") }

// ContainerEnvDir is /run/s6/container_environment.
func (l Layout) ContainerEnvDir() string { return l.path("/run/s6/container_environment") }

// ResultsDir is /run/s6-linux-init-container-results.
func (l Layout) ResultsDir() string { return l.path("/run/s6-linux-init-container-results") }

// ExitCodeFile is the container's exit code when there is no main command
// (/run/s6-linux-init-container-results/exitcode).
func (l Layout) ExitCodeFile() string { return filepath.Join(l.ResultsDir(), "exitcode") }

// WorkdirFile records the directory the container started in (/run/s6/workdir).
func (l Layout) WorkdirFile() string { return l.path("/run/s6/workdir") }
