//go:build bench

package bench

import (
	"fmt"
	"math"
	"sort"
)

var nan = math.NaN()

// median of the values that are not NaN (NaN when there is none).
func median(v []float64) float64 {
	s := finite(v)
	if len(s) == 0 {
		return nan
	}
	sort.Float64s(s)
	return s[len(s)/2]
}

func finite(v []float64) []float64 {
	var s []float64
	for _, x := range v {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			s = append(s, x)
		}
	}
	return s
}

// spread prints "median (min..max)" of the finite values, "n/a" when there is none.
func spread(v []float64, format string) string {
	s := finite(v)
	if len(s) == 0 {
		return "n/a"
	}
	sort.Float64s(s)
	m := fmt.Sprintf(format, s[len(s)/2])
	if len(s) == 1 {
		return m
	}
	return fmt.Sprintf("%s (%s..%s)", m, fmt.Sprintf(format, s[0]), fmt.Sprintf(format, s[len(s)-1]))
}

// pct is the p-quantile of sorted values (0 when empty).
func pct(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return nan
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}
