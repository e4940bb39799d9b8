package web_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

// TestProgressPage: the charts and the numbers behind them.
func TestProgressPage(t *testing.T) {
	h := newHarness(t)
	u, b := h.signedIn(t, "progress-page@example.com")
	c := h.create(t, u, validCommitment("", ""))
	d := h.create(t, u, validCommitment("", ""))
	h.clock.Add(3 * time.Hour)
	act := func(id int64, action string) {
		h.mustAPI(t, http.StatusOK, "POST", "/api/v1/commitments/"+strconv.FormatInt(id, 10)+"/actions", u.Token, map[string]string{"action": action}, nil)
	}
	act(c.ID, "contacted")
	act(c.ID, "delivered")
	act(d.ID, "let_go")
	p := b.get(t, "/progress")
	wantStatus(t, p, http.StatusOK)
	wantContains(t, p, `<svg class="chart"`, "Week of 23 Nov: 1 kept", "Week of 23 Nov: 1 let go",
		"median 3 h over 1 contact<", "<strong>1</strong> promise kept", "<strong>3 h</strong>", "(over 1 contact)",
		">23 Nov</text>") // the current week, the last of the chart, has its label
	_, other := h.signedIn(t, "progress-other@example.com")
	wantContains(t, other.get(t, "/progress"), "<strong>0</strong> promises kept")
	wantRedirect(t, h.browser(t).get(t, "/progress"), "/login?next=%2Fprogress")
}
