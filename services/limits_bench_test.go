package services

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkRejectPathological times Parse on each pathological file (deep
// inline tables, deep arrays, dotted keys, a huge after list...): each is
// rejected by the bounds before the decoder runs. Issue 14 asks for under
// 100 ms each.
func BenchmarkRejectPathological(b *testing.B) {
	for _, tc := range pathological() {
		data := []byte(tc.src)
		b.Run(strings.ReplaceAll(tc.name, " ", "-"), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse("bad.toml", data, testOpts()); !errors.Is(err, ErrLimit) {
					b.Fatalf("not rejected by a bound: %.200v", err)
				}
			}
		})
	}
}

// atTheBounds are the costliest files the bounds let through: the most
// keys at the greatest depth, the longest lists, the largest file.
func atTheBounds() map[string]string {
	out := map[string]string{}

	// Chains of inline tables MaxDepth deep, as many as MaxKeys and
	// MaxContainers allow.
	var deep strings.Builder
	deep.WriteString("plugin = \"p\"\n[p]\n")
	chain := MaxDepth - 2
	for i := 0; (i+1)*chain+2 <= MaxKeys && (i+1)*(chain-1) <= MaxContainers; i++ {
		fmt.Fprintf(&deep, "k%d = %s1%s\n", i, strings.Repeat("{a = ", chain-1), strings.Repeat("}", chain-1))
	}
	out["deep-and-wide"] = deep.String()

	// Nested arrays MaxDepth deep, as many as MaxContainers allows, with
	// MaxListLen elements at the bottom.
	var arrays strings.Builder
	arrays.WriteString("plugin = \"p\"\n[p]\n")
	for i := 0; (i+1)*(MaxDepth-2) <= MaxContainers; i++ {
		fmt.Fprintf(&arrays, "k%d = %s%s%s\n", i, strings.Repeat("[", MaxDepth-2), strings.Repeat("1,", MaxListLen/16), strings.Repeat("]", MaxDepth-2))
	}
	out["deep-arrays"] = arrays.String()

	// An after list of MaxListLen distinct names.
	var after strings.Builder
	after.WriteString("command = \"x\"\nafter = [")
	for i := range MaxListLen {
		fmt.Fprintf(&after, "\"service-%d\",", i)
	}
	after.WriteString("]\n")
	out["after-max-list"] = after.String()

	// MaxKeys environment variables.
	var env strings.Builder
	env.WriteString("command = \"x\"\n[env]\n")
	for i := range MaxKeys - 2 {
		fmt.Fprintf(&env, "VARIABLE_%d = \"value ${HOST} %d\"\n", i, i)
	}
	out["env-max-keys"] = env.String()

	// A command of MaxListLen long arguments, near MaxFileSize.
	arg := strings.Repeat("x", MaxFileSize/MaxListLen-8)
	out["command-1MiB"] = "command = [" + strings.Repeat("\""+arg+"\", ", MaxListLen) + "]\n"

	// MaxListLen [[tables]] of one name.
	var tables strings.Builder
	tables.WriteString("plugin = \"p\"\n")
	for i := range MaxListLen {
		fmt.Fprintf(&tables, "[[p.x]]\nn = %d\n", i)
		if tables.Len() > MaxFileSize-100 || i > MaxKeys-10 {
			break
		}
	}
	out["tables-max-list"] = tables.String()

	// A value as long as the file, in a key whose errors suggest a fix.
	out["long-bad-type"] = "command = \"x\"\ntype = \"" + strings.Repeat("x", MaxFileSize-100) + "\"\n"
	return out
}

// BenchmarkParseAtTheBounds times Parse on the costliest files the bounds
// let through: what a file can cost corral at most.
func BenchmarkParseAtTheBounds(b *testing.B) {
	for name, src := range atTheBounds() {
		data := []byte(src)
		if le := checkLimits(data); le != nil {
			b.Fatalf("%s: past a bound: %v", name, le)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse("edge.toml", data, LoadOptions{}); errors.Is(err, ErrLimit) {
					b.Fatal(err)
				}
			}
		})
	}
}
