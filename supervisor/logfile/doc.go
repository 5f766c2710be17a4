// Package logfile keeps every service's output in rotating files, in the
// style of s6-log: one directory per stream holding a "current" file and at
// most Keep immutable archives named after the time they were rotated.
//
// # Layout
//
//	<dir>/<service>/current              stdout, being written
//	<dir>/<service>/@<tai64n>.s          stdout archives, oldest first by name
//	<dir>/<service>/stderr/current       stderr, being written
//	<dir>/<service>/stderr/@<tai64n>.s   stderr archives
//
// The two streams are kept in separate files rather than tagged in one file:
// each file holds exactly what the service wrote (so `supervisorctl tail name
// stderr` is a plain tail of one file and the bytes on disk stay the
// service's own), the order within a stream is kept, and a forwarder learns
// a line's stream from the file it read it from, with no per-line cost. The
// stdout directory keeps the s6-log layout (current + archives) so s6 tools
// can read it; stderr gets the same layout one level down.
//
// # Archives
//
// When current would grow past MaxSize, it becomes @<tai64n>.s, where the
// label is the TAI64N time of the rotation as daemontools' tai64n prints it
// (24 hex digits, so names sort by time), and a new current takes its
// place. As in s6-log, current never disappears meanwhile: the archive is
// made a hard link of current, the new file is created as .next and
// renamed over current, so a reader opening current by name always finds a
// file (the old one or the new one). Archive names never change once made
// and the oldest are deleted beyond Keep. A reader holding current open keeps reading it after the rename (the
// inode is the same) and then finds the next file by name: the oldest
// archive newer than its own, else current.
//
// # Lines
//
// Each Line becomes one file line ending in '\n'; a Partial piece of an
// over-long line is written as a line of its own. With Timestamps, each line
// starts with the time the line was read, in RFC 3339 with nanoseconds, in
// UTC and fixed width ("2006-01-02T15:04:05.000000000Z "), which
// SplitTimestamp parses back.
//
// # Never blocking a service
//
// WriteLine only appends to a bounded in-memory buffer per stream and wakes
// one writer goroutine per service, which writes the buffered lines with one
// write(2) per batch (no per-line allocation, no per-line fsync; current is
// fsync'd only when it is rotated and on Close). When the buffer is full the
// line is dropped from the file (the console copy, written by the engine, is
// not affected) and counted. A write error (a full or read-only disk) drops
// the batch, truncates current back to its last whole line, is logged once
// per burst and counted; the next batch tries again, so the files recover on
// their own when space comes back.
package logfile
