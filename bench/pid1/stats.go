package main

import (
	"math"
	"sort"
)

// series is the samples of one metric for one peer.
type series struct {
	vals []float64
	// errs counts failed runs; firstErr is the first failure.
	errs     int
	firstErr string
}

func (s *series) add(v float64) { s.vals = append(s.vals, v) }

func (s *series) fail(err error) {
	s.errs++
	if s.firstErr == "" {
		s.firstErr = err.Error()
	}
}

// quantile returns the q-quantile (0..1) of vals by nearest rank.
func quantile(vals []float64, q float64) float64 {
	if len(vals) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), vals...)
	sort.Float64s(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i]
}

// median returns the middle sample (the mean of the two middle ones for an
// even count).
func median(vals []float64) float64 {
	if len(vals) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), vals...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// maxOf returns the largest sample.
func maxOf(vals []float64) float64 {
	m := math.Inf(-1)
	for _, v := range vals {
		m = math.Max(m, v)
	}
	return m
}
