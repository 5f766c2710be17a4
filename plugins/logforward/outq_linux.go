package logforward

import (
	"net"

	"golang.org/x/sys/unix"
)

// outq returns the bytes in a TCP socket's send queue that the peer has not
// acknowledged yet (SIOCOUTQ: unsent plus sent but unacknowledged).
func outq(c *net.TCPConn) (uint64, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var ierr error
	if err := rc.Control(func(fd uintptr) {
		n, ierr = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ)
	}); err != nil {
		return 0, err
	}
	return uint64(n), ierr
}
