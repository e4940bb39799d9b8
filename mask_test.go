package followup

import "testing"

// TestMaskAddress shows scheme and host, then "/…" and the last four
// characters only when enough of the rest stays hidden; never user info.
func TestMaskAddress(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://calendar.google.com/calendar/ical/ada%40gmail.com/private-0123456789abcdef/basic.ics", "https://calendar.google.com/….ics"},
		{"https://ada:pw@cal.example.com/feed?token=0123456789ab", "https://cal.example.com/…89ab"},
		{"webcal://p01-calendars.icloud.com/published/2/MTIzNDU2Nzg5MA", "webcal://p01-calendars.icloud.com/…g5MA"},
		{"https://cal.example.com/a.ics", "https://cal.example.com/…"},
		{"https://cal.example.com:8443", "https://cal.example.com:8443/…"},
		{"not a url", "…"},
	} {
		if got := MaskAddress(tc.in); got != tc.want {
			t.Errorf("MaskAddress(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
