package caldav

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/teambition/rrule-go"
)

// randomRule writes an RRULE whose every part rrule-go and we read alike,
// and that matches some day in every few years, so that rrule-go (which
// walks on to the year 9999 when a rule never matches again) stays quick.
func randomRule(rng *rand.Rand, count int) string {
	freq := []string{"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}[rng.IntN(4)]
	parts := []string{"FREQ=" + freq}
	if n := rng.IntN(4); n > 0 {
		parts = append(parts, fmt.Sprintf("INTERVAL=%d", n+1))
	}
	days := []string{"MO", "TU", "WE", "TH", "FR", "SA", "SU"}
	// pick writes n distinct values (rrule-go repeats an occurrence for a
	// repeated value; a BYxxx list is a set).
	pick := func(n, lo, hi int, signed bool) string {
		var vs []string
		for range n {
			v := lo + rng.IntN(hi-lo+1)
			if signed && rng.IntN(3) == 0 {
				v = -v
			}
			if s := fmt.Sprint(v); !slices.Contains(vs, s) {
				vs = append(vs, s)
			}
		}
		return strings.Join(vs, ",")
	}
	monthOK := true
	switch rng.IntN(6) {
	case 1:
		var ds []string
		for range 1 + rng.IntN(3) {
			if d := days[rng.IntN(7)]; !slices.Contains(ds, d) {
				ds = append(ds, d)
			}
		}
		parts = append(parts, "BYDAY="+strings.Join(ds, ","))
	case 2:
		if freq == "MONTHLY" || freq == "YEARLY" {
			n := 1 + rng.IntN(4)
			if rng.IntN(2) == 0 {
				n = -n
			}
			parts = append(parts, fmt.Sprintf("BYDAY=%d%s", n, days[rng.IntN(7)]))
		}
	case 3:
		parts = append(parts, "BYMONTHDAY="+pick(1+rng.IntN(3), 1, 31, true))
	case 4:
		if freq == "YEARLY" || freq == "DAILY" {
			parts, monthOK = append(parts, "BYYEARDAY="+pick(1+rng.IntN(3), 1, 365, true)), false
		}
	case 5:
		if freq == "YEARLY" {
			parts, monthOK = append(parts, "BYWEEKNO="+pick(1+rng.IntN(2), 1, 52, true)), false
		}
	}
	if monthOK && rng.IntN(3) == 0 {
		parts = append(parts, "BYMONTH="+pick(1+rng.IntN(3), 1, 12, false))
	}
	if rng.IntN(4) == 0 {
		parts = append(parts, "BYHOUR="+pick(1+rng.IntN(2), 0, 23, false))
	}
	if rng.IntN(5) == 0 {
		parts = append(parts, "BYMINUTE="+pick(1+rng.IntN(2), 0, 59, false))
	}
	if freq != "DAILY" && rng.IntN(5) == 0 {
		parts = append(parts, "BYSETPOS="+pick(1+rng.IntN(2), 1, 3, true))
	}
	if rng.IntN(4) == 0 {
		parts = append(parts, "WKST="+days[rng.IntN(7)])
	}
	if count > 0 {
		parts = append(parts, fmt.Sprintf("COUNT=%d", count))
	}
	return strings.Join(parts, ";")
}

// reference expands the rule with rrule-go, walking from DTSTART.
func reference(t *testing.T, value string, dtstart, from, to time.Time) []time.Time {
	t.Helper()
	opt, err := rrule.StrToROptionInLocation(value, dtstart.Location())
	if err != nil {
		t.Fatalf("%s: %v", value, err)
	}
	opt.Dtstart = dtstart
	r, err := rrule.NewRRule(*opt)
	if err != nil {
		t.Fatalf("%s: %v", value, err)
	}
	var out []time.Time
	for _, o := range r.Between(from, to, true) {
		if o.Before(to) {
			out = append(out, o)
		}
	}
	return out
}

// ours expands the rule with rule.between.
func ours(t *testing.T, value string, dtstart, from, to time.Time) []time.Time {
	t.Helper()
	r, ok, err := parseRule(value, dtstart)
	if err != nil || !ok {
		t.Fatalf("%s: %v %v", value, ok, err)
	}
	var out []time.Time
	work := maxSourceWork
	if err := r.between(from, to, &work, nil, func(o time.Time) bool { out = append(out, o); return true }); err != nil {
		t.Fatalf("%s: %v", value, err)
	}
	return out
}

var timeEqual = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })

// TestRuleMatchesRRuleGo compares our expansion, which jumps to the
// window, with rrule-go's, which walks from DTSTART, on random rules in
// three zones, with DTSTARTs from a few days to a few years before the
// window and COUNTs that end before, inside and after it.
func TestRuleMatchesRRuleGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 2))
	zones := []*time.Location{time.UTC, mustZone("America/New_York"), mustZone("Europe/Berlin")}
	from := time.Date(2026, 2, 27, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 0, 94)
	n := 1000
	if testing.Short() {
		n = 200
	}
	for i := range n {
		loc := zones[i%len(zones)]
		dtstart := time.Date(2026, 3, 1, rng.IntN(24), rng.IntN(4)*15, 0, 0, loc).AddDate(0, 0, -rng.IntN(1500))
		count := 0
		if rng.IntN(2) == 0 {
			count = 1 + rng.IntN(600)
		}
		value := randomRule(rng, count)
		want, got := reference(t, value, dtstart, from, to), ours(t, value, dtstart, from, to)
		if diff := cmp.Diff(want, got, timeEqual); diff != "" {
			t.Fatalf("RRULE:%s DTSTART %v (-rrule-go +ours):\n%s", value, dtstart, diff)
		}
	}
}

// TestRuleFromLongAgo does the same for series started in 1900–1990, with
// COUNTs around the number of occurrences before the window, so that the
// series ends just before it, inside it, or after it.
func TestRuleFromLongAgo(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 7))
	loc := mustZone("America/New_York")
	from := time.Date(2026, 2, 27, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 0, 94)
	n := 60
	if testing.Short() {
		n = 10
	}
	for range n {
		dtstart := time.Date(1900+rng.IntN(90), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), rng.IntN(24), 0, 0, 0, loc)
		value := randomRule(rng, 0)
		count := 0
		if rng.IntN(3) > 0 {
			before := len(reference(t, value, dtstart, dtstart, from))
			count = max(1, before-3+rng.IntN(40))
			value += fmt.Sprintf(";COUNT=%d", count)
		}
		want, got := reference(t, value, dtstart, from, to), ours(t, value, dtstart, from, to)
		if diff := cmp.Diff(want, got, timeEqual); diff != "" {
			t.Fatalf("RRULE:%s DTSTART %v (-rrule-go +ours):\n%s", value, dtstart, diff)
		}
	}
}

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}
