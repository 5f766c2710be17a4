package logfile

import (
	"os"
	"syscall"
)

// idOf returns the device and inode numbers of a file.
func idOf(fi os.FileInfo) FileID {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return FileID{Dev: uint64(st.Dev), Ino: st.Ino}
	}
	return FileID{}
}
