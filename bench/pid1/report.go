package main

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// rowKind says how a row's samples are summarised.
type rowKind int

const (
	// lowerBetter rows show the median and the p90.
	lowerBetter rowKind = iota
	// higherBetter rows (rates) show the median and the p10.
	higherBetter
	// worstCount rows show the largest sample.
	worstCount
)

// row is one line of the results table.
type row struct {
	key   string
	label string
	unit  string
	kind  rowKind
	// digits after the decimal point.
	digits int
	// target is corral's goal, as text; empty for none.
	target string
	// meets judges corral's median against the target.
	meets func(median float64) bool
}

// rows are the table's lines, in order.
var rows = []row{
	{key: "rss1", label: "Peak RSS (VmHWM), 1 service", unit: "MiB", digits: 1},
	{key: "rss20", label: "Peak RSS (VmHWM), 20 services", unit: "MiB", digits: 1,
		target: "≤ 8 MiB", meets: func(m float64) bool { return m <= 8 }},
	{key: "vmrss20", label: "RSS once started (VmRSS), 20 services", unit: "MiB", digits: 1},
	{key: "anon20", label: "… of which private (RssAnon; the rest is the binary's shared page cache)", unit: "MiB", digits: 1},
	{key: "tree20", label: "Peak RSS summed over the supervision tree, 20 services", unit: "MiB", digits: 1},
	{key: "first", label: "Exec of supervisor → exec of first service", unit: "ms", digits: 2,
		target: "≤ 5 ms", meets: func(m float64) bool { return m <= 5 }},
	{key: "restart", label: "Crash → first restart", unit: "ms", digits: 2,
		target: "≤ 10 ms", meets: func(m float64) bool { return m <= 10 }},
	{key: "orphanrate", label: "Orphans reaped per second (first fork → no zombie)", unit: "/s", kind: higherBetter},
	{key: "orphandrain", label: "Last orphan forked → no zombie left", unit: "ms", digits: 2},
	{key: "zombies", label: "Zombies left after the orphan run (worst run)", kind: worstCount},
	{key: "term20", label: "SIGTERM → supervisor exit, 20 services", unit: "ms", digits: 2},
	{key: "last20", label: "Last service exit → supervisor exit, 20 services", unit: "ms", digits: 2,
		target: "≤ 50 ms", meets: func(m float64) bool { return m <= 50 }},
	{key: "term1", label: "SIGTERM → supervisor exit, 1 service", unit: "ms", digits: 2},
	{key: "last1", label: "Last service exit → supervisor exit, 1 service", unit: "ms", digits: 2},
}

// results holds every sample: row key -> peer name -> series.
type results map[string]map[string]*series

// at returns the series of row key for peer, creating it.
func (r results) at(key, peer string) *series {
	m := r[key]
	if m == nil {
		m = map[string]*series{}
		r[key] = m
	}
	s := m[peer]
	if s == nil {
		s = &series{}
		m[peer] = s
	}
	return s
}

// cell formats the summary of s for row w.
func cell(w row, s *series) string {
	if s == nil {
		return "n/a"
	}
	if len(s.vals) == 0 {
		return fmt.Sprintf("failed (%d runs)", s.errs)
	}
	num := func(v float64) string {
		if w.kind == higherBetter {
			return fmt.Sprintf("%.0f", v)
		}
		return fmt.Sprintf("%.*f", w.digits, v)
	}
	var out string
	switch w.kind {
	case worstCount:
		out = fmt.Sprintf("%.0f", maxOf(s.vals))
	case higherBetter:
		out = fmt.Sprintf("%s (p10 %s)", num(median(s.vals)), num(quantile(s.vals, 0.1)))
	default:
		out = fmt.Sprintf("%s (p90 %s)", num(median(s.vals)), num(quantile(s.vals, 0.9)))
	}
	if s.errs > 0 {
		out += fmt.Sprintf(", %d/%d runs failed", s.errs, s.errs+len(s.vals))
	}
	return out
}

// writeTable writes the markdown table: one column per peer, then corral's
// target and whether its median meets it.
func writeTable(w io.Writer, res results, peerOrder []string) {
	var b strings.Builder
	b.WriteString("| Measure | unit |")
	for _, p := range peerOrder {
		fmt.Fprintf(&b, " %s |", p)
	}
	b.WriteString(" corral target | met |\n|---|---|")
	for range peerOrder {
		b.WriteString("---|")
	}
	b.WriteString("---|---|\n")
	for _, w := range rows {
		fmt.Fprintf(&b, "| %s | %s |", w.label, w.unit)
		for _, p := range peerOrder {
			fmt.Fprintf(&b, " %s |", cell(w, res[w.key][p]))
		}
		verdict := ""
		if w.meets != nil {
			if s := res[w.key]["corral"]; s != nil && len(s.vals) > 0 {
				m := median(s.vals)
				if !math.IsNaN(m) && w.meets(m) {
					verdict = "yes"
				} else {
					verdict = "**no**"
				}
			}
		}
		fmt.Fprintf(&b, " %s | %s |\n", w.target, verdict)
	}
	io.WriteString(w, b.String())
}

// failures lists the first error of every series that had failed runs.
func failures(res results, peerOrder []string) []string {
	var out []string
	for _, w := range rows {
		for _, p := range peerOrder {
			if s := res[w.key][p]; s != nil && s.errs > 0 {
				out = append(out, fmt.Sprintf("%s / %s: %s", w.label, p, firstLine(s.firstErr)))
			}
		}
	}
	return out
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
