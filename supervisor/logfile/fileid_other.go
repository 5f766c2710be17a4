//go:build !linux

package logfile

import "os"

// idOf returns a zero FileID: file identity is only known on Linux.
func idOf(fi os.FileInfo) FileID { return FileID{} }
