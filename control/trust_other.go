//go:build !linux

package control

import (
	"context"
	"net"
)

// dialChecked dials the socket at path. Outside Linux there is no
// SO_PEERCRED to learn who serves it, and corral itself runs only on
// Linux: the client trusts the socket's file permissions alone.
func dialChecked(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", path)
}
