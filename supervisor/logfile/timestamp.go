package logfile

import (
	"time"
)

// TimestampLen is the length of a line's timestamp prefix, including the
// space that follows it: "2006-01-02T15:04:05.000000000Z ".
const TimestampLen = 31

// stampCache formats timestamps, reusing the date and time part while the
// second does not change.
type stampCache struct {
	sec    int64
	prefix [20]byte // "2006-01-02T15:04:05."
}

// append appends t's fixed-width UTC RFC 3339 nanosecond timestamp and a space.
func (c *stampCache) append(b []byte, t time.Time) []byte {
	t = t.UTC()
	if s := t.Unix(); s != c.sec || c.prefix[0] == 0 {
		c.sec = s
		p := t.AppendFormat(c.prefix[:0], "2006-01-02T15:04:05.")
		copy(c.prefix[:], p)
	}
	b = append(b, c.prefix[:]...)
	ns := t.Nanosecond()
	var d [9]byte
	for i := 8; i >= 0; i-- {
		d[i] = byte('0' + ns%10)
		ns /= 10
	}
	b = append(b, d[:]...)
	return append(b, 'Z', ' ')
}

// SplitTimestamp parses the timestamp prefix written with Timestamps set and
// returns the time and the rest of the line. ok is false when line does not
// start with such a prefix.
func SplitTimestamp(line []byte) (t time.Time, rest []byte, ok bool) {
	if len(line) < TimestampLen || line[4] != '-' || line[7] != '-' || line[10] != 'T' ||
		line[13] != ':' || line[16] != ':' || line[19] != '.' || line[29] != 'Z' || line[30] != ' ' {
		return time.Time{}, line, false
	}
	num := func(b []byte) (int, bool) {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	var v [7]int
	for i, r := range [7][2]int{{0, 4}, {5, 7}, {8, 10}, {11, 13}, {14, 16}, {17, 19}, {20, 29}} {
		n, good := num(line[r[0]:r[1]])
		if !good {
			return time.Time{}, line, false
		}
		v[i] = n
	}
	if v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60 {
		return time.Time{}, line, false
	}
	t = time.Date(v[0], time.Month(v[1]), v[2], v[3], v[4], v[5], v[6], time.UTC)
	return t, line[TimestampLen:], true
}
