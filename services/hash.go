package services

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"math"
	"sort"
	"time"
)

// hashService returns the hex sha256 of s's canonical definition: every
// decoded field after expansion and defaults, and the plugin's table, but
// not File (a renamed file holding the same definition is the same service).
func hashService(s *Service) string {
	c := *s
	c.Hash, c.File, c.PluginConfig = "", "", nil
	h := sha256.New()
	b, err := json.Marshal(&c)
	if err != nil {
		// Cannot happen: every float is validated finite.
		fmt.Fprintf(h, "%#v", c)
	}
	h.Write(b)
	if s.PluginConfig != nil {
		h.Write([]byte{0})
		canonical(h, s.PluginConfig.data)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// canonical writes a decoded TOML value to h in a stable, type-tagged form.
func canonical(h hash.Hash, v any) {
	switch v := v.(type) {
	case nil:
		h.Write([]byte("n"))
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(h, "{%d", len(keys))
		for _, k := range keys {
			fmt.Fprintf(h, "%q=", k)
			canonical(h, v[k])
		}
		h.Write([]byte("}"))
	case []any:
		fmt.Fprintf(h, "[%d", len(v))
		for _, x := range v {
			canonical(h, x)
		}
		h.Write([]byte("]"))
	case []map[string]any:
		fmt.Fprintf(h, "[%d", len(v))
		for _, x := range v {
			canonical(h, x)
		}
		h.Write([]byte("]"))
	case string:
		fmt.Fprintf(h, "s%q", v)
	case int64:
		fmt.Fprintf(h, "i%d", v)
	case float64:
		fmt.Fprintf(h, "f%x", math.Float64bits(v))
	case bool:
		fmt.Fprintf(h, "b%t", v)
	case time.Time:
		fmt.Fprintf(h, "t%s/%s", v.Format(time.RFC3339Nano), v.Location())
	default:
		fmt.Fprintf(h, "?%T%v", v, v)
	}
}
