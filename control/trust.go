package control

import "fmt"

// UntrustedError is a server the client refused to believe: the process
// on the other end of the socket runs as a user that is neither root nor
// this client's, and could have put its socket there in corral's place.
type UntrustedError struct {
	// PID and UID are the server process's, from SO_PEERCRED.
	PID, UID int
	// Reason says why its uid is not enough.
	Reason string
}

// Error says who the server is and why it is not trusted.
func (e *UntrustedError) Error() string {
	return fmt.Sprintf("the server (pid %d) runs as uid %d, neither root nor this user, and %s: it may be an impostor in corral's place, so its answers are not trusted", e.PID, e.UID, e.Reason)
}
