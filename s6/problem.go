package s6

import "fmt"

// Problem is something in an s6 tree that corral cannot run as written,
// always with the path at fault.
type Problem struct {
	// Path is the file or directory at fault.
	Path string
	// Service is the service it concerns, when there is one.
	Service string
	// Err says what is wrong.
	Err error
	// Fatal problems leave the service out; the others are warnings.
	Fatal bool
	// Note marks a warning about something s6 itself ignores too (an
	// unknown file in an s6-rc definition, often data the scripts read):
	// worth a line at info level, not a warning.
	Note bool
}

// Error formats p as "path: message".
func (p *Problem) Error() string { return fmt.Sprintf("%s: %v", p.Path, p.Err) }

// Unwrap returns the underlying error.
func (p *Problem) Unwrap() error { return p.Err }

// problems collects Problems.
type problems []*Problem

func (ps *problems) fatal(path, service string, format string, args ...any) {
	*ps = append(*ps, &Problem{Path: path, Service: service, Err: fmt.Errorf(format, args...), Fatal: true})
}

func (ps *problems) warn(path, service string, format string, args ...any) {
	*ps = append(*ps, &Problem{Path: path, Service: service, Err: fmt.Errorf(format, args...)})
}

func (ps *problems) note(path, service string, format string, args ...any) {
	*ps = append(*ps, &Problem{Path: path, Service: service, Err: fmt.Errorf(format, args...), Note: true})
}
