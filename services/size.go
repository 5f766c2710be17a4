package services

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// sizeUnits maps byte-size suffixes to multipliers: SI (kB, MB, GB) and IEC
// (KiB, MiB, GiB); matched case-insensitively.
var sizeUnits = []struct {
	suffix string
	mult   float64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9},
	{"k", 1e3}, {"m", 1e6}, {"g", 1e9},
	{"b", 1},
}

// parseSize reads a byte size: a TOML integer, or a string such as "1MB",
// "10MiB", "512k" or "1000".
func parseSize(v any) (int64, error) {
	switch v := v.(type) {
	case int64:
		if v <= 0 {
			return 0, fmt.Errorf("size %d must be positive", v)
		}
		return v, nil
	case string:
		s := strings.ToLower(strings.TrimSpace(v))
		mult := 1.0
		for _, u := range sizeUnits {
			if strings.HasSuffix(s, u.suffix) {
				s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
				break
			}
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || f*mult < 1 || f*mult > math.MaxInt64/2 {
			return 0, fmt.Errorf("bad size %q: use bytes or a number with a unit, such as \"1MB\" or \"10MiB\"", v)
		}
		return int64(f * mult), nil
	}
	return 0, fmt.Errorf("expected a size in bytes or a string such as \"10MiB\", got %s", tomlType(v))
}
