package main

import "slices"

// median of vs; 0 for none.
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// med is the median of a metric for a contender, and whether it was
// measured.
func (r *results) med(metric, contender string) (float64, bool) {
	vs := r.values[metric][contender]
	if len(vs) == 0 {
		return 0, false
	}
	return median(vs), true
}
