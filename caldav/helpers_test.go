package caldav_test

import (
	"sort"

	"github.com/followup/followup"
)

// sorted orders intervals by start, then end.
func sorted(ivs []followup.Interval) []followup.Interval {
	out := append([]followup.Interval(nil), ivs...)
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].End.Before(out[j].End)
	})
	return out
}
