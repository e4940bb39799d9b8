package service_test

import (
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/followup/followup"
)

// countdown is a Random whose bytes fall: 255, 254, …, so that UIDs made
// of them alone would come out in falling order.
type countdown struct{ n byte }

func (c *countdown) Read(p []byte) (int, error) {
	for i := range p {
		c.n--
		p[i] = c.n
	}
	return len(p), nil
}

// TestUIDsFollowTheClock creates commitments a second apart and checks
// that each create's step UIDs sort after the ones before, whatever the
// random bytes: they begin with the clock's milliseconds, so that new
// steps go to the end of the unique index on steps.uid instead of a random
// page of it. The random part still makes two UIDs of one millisecond
// differ.
func TestUIDsFollowTheClock(t *testing.T) {
	h := newHarness(t, time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC))
	h.svc.Random = &countdown{}
	u := h.user("uid@example.com", "America/New_York")
	format := regexp.MustCompile(`^[0-9a-f]{32}@followup$`)
	var last string
	seen := map[string]bool{}
	for i := range 3 {
		c := h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: "Jane"}, Promise: "Send the deck", DueText: "by Friday"})
		var uids []string
		for _, s := range c.Steps {
			if !format.MatchString(s.UID) || seen[s.UID] {
				t.Fatalf("create %d: step UID %q is not 32 new hex digits and @followup", i, s.UID)
			}
			seen[s.UID] = true
			uids = append(uids, s.UID)
		}
		slices.Sort(uids)
		if uids[0] <= last {
			t.Errorf("create %d, a second after the one before: its first UID %s does not sort after %s", i, uids[0], last)
		}
		last = uids[len(uids)-1]
		h.clock.Add(time.Second)
	}
}
