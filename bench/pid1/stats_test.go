package main

import (
	"math"
	"strings"
	"testing"
)

func TestQuantiles(t *testing.T) {
	tests := []struct {
		vals        []float64
		med, p90, m float64
	}{
		{[]float64{3}, 3, 3, 3},
		{[]float64{4, 1, 3, 2}, 2.5, 4, 4},
		{[]float64{10, 1, 9, 2, 8, 3, 7, 4, 6, 5}, 5.5, 9, 10},
	}
	for _, tt := range tests {
		if got := median(tt.vals); got != tt.med {
			t.Errorf("median(%v) = %v, want %v", tt.vals, got, tt.med)
		}
		if got := quantile(tt.vals, 0.9); got != tt.p90 {
			t.Errorf("quantile(%v, 0.9) = %v, want %v", tt.vals, got, tt.p90)
		}
		if got := maxOf(tt.vals); got != tt.m {
			t.Errorf("maxOf(%v) = %v, want %v", tt.vals, got, tt.m)
		}
	}
	if !math.IsNaN(median(nil)) || !math.IsNaN(quantile(nil, 0.5)) {
		t.Error("median/quantile of no samples is not NaN")
	}
}

func TestTableCells(t *testing.T) {
	res := results{}
	res.at("first", "corral").add(3)
	res.at("first", "corral").add(4)
	res.at("first", "s6").fail(errString("boom"))
	res.at("rss20", "corral").add(9)
	var b strings.Builder
	writeTable(&b, res, []string{"corral", "s6", "tini"})
	out := b.String()
	for _, want := range []string{
		"| Exec of supervisor → exec of first service | ms | 3.50 (p90 4.00) | failed (1 runs) | n/a | ≤ 5 ms | yes |",
		"| Peak RSS (VmHWM), 20 services | MiB | 9.0 (p90 9.0) | n/a | n/a | ≤ 8 MiB | **no** |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if f := failures(res, []string{"corral", "s6"}); len(f) != 1 || !strings.Contains(f[0], "boom") {
		t.Errorf("failures = %q, want the one from s6", f)
	}
}

type errString string

func (e errString) Error() string { return string(e) }
