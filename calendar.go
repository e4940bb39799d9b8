package followup

import (
	"context"
	"net/url"
	"strings"
	"time"
)

// Event is one block as calendars see it: a VEVENT in the ICS feed and one
// calendar object on the user's CalDAV server. Times are absolute; encoders
// may write them in UTC.
type Event struct {
	UID         string
	Sequence    int
	Summary     string
	Description string
	Location    string
	URL         string
	Start       time.Time
	End         time.Time
	// Stamp is the last modification of the block (DTSTAMP, LAST-MODIFIED).
	Stamp time.Time
	// Created is when the block was first planned (CREATED).
	Created time.Time
	// AlarmMinutes is the reminder offset before Start (VALARM); negative means none.
	AlarmMinutes int
	// Categories, e.g. "followup" and the step kind.
	Categories []string

	// Zone, when set, makes encoders write DTSTART, DTEND and RECURRENCE-ID
	// as local times with its TZID, and a matching VTIMEZONE (RFC 5545
	// §3.3.5 form 3, §3.6.5): a recurring event keeps its local time
	// across DST changes only so.
	Zone *time.Location
	// RRule is the recurrence rule of a series (RFC 5545 §3.8.5.3), e.g.
	// "FREQ=WEEKLY;BYDAY=MO"; "" for a single event.
	RRule string
	// RecurrenceID is set on an overridden occurrence of a series: the
	// start it has in the series (RFC 5545 §3.8.4.4).
	RecurrenceID time.Time
	// Overrides are the overridden occurrences of a series: VEVENTs with
	// the same UID and a RecurrenceID, in the same calendar object
	// (RFC 4791 §4.1) and next to the master in a feed.
	Overrides []Event
}

// CalDAVAccount is how to reach a user's CalDAV server. Password is in the
// clear only in memory; the store keeps it encrypted.
//
// The username and password go only to the origin of URL and to Origins:
// never to another server a redirect points to, and never over plain http
// unless URL itself is http.
type CalDAVAccount struct {
	URL      string
	Username string
	Password string
	// Origins are the other https origins ("https://host:port") that
	// discovery from URL was told about over https, such as iCloud's
	// calendar home on another host (Discovery.Origins).
	Origins []string
}

// Calendar is one calendar collection found on a CalDAV server.
type Calendar struct {
	URL         string   `json:"url"` // absolute URL of the collection
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Components  []string `json:"components"` // e.g. VEVENT, VTODO
	ReadOnly    bool     `json:"read_only,omitempty"`
}

// SupportsEvents reports whether the calendar accepts VEVENTs (an empty
// component set means all components, RFC 4791 §5.2.3).
func (c Calendar) SupportsEvents() bool {
	if len(c.Components) == 0 {
		return true
	}
	for _, comp := range c.Components {
		if comp == "VEVENT" {
			return true
		}
	}
	return false
}

// Discovery is what discovery found for an account (RFC 6764, RFC 4791 §6).
type Discovery struct {
	// Endpoint is the URL that answered as a CalDAV server after following
	// /.well-known/caldav and redirects.
	Endpoint      string     `json:"endpoint"`
	Principal     string     `json:"principal"`
	HomeSet       string     `json:"home_set"`
	Calendars     []Calendar `json:"calendars"`
	CanMkCalendar bool       `json:"-"`
	// Origins are the https origins other than the entered one that
	// discovery was told about over https and sent the credentials to;
	// later calls pass them in CalDAVAccount.Origins.
	Origins []string `json:"-"`
}

// RemoteEvent is one of our calendar objects as it is on the server.
type RemoteEvent struct {
	UID   string
	Href  string // absolute URL of the object
	ETag  string
	Start time.Time
	End   time.Time
	// Overrides are the occurrences of a series the object holds as
	// VEVENTs with a RECURRENCE-ID.
	Overrides []RemoteOverride
	// Floating marks times with no zone (no Z and no TZID, or a TZID that
	// names no zone we know): Start and End hold their wall clock as UTC
	// values, to be read in the user's zone.
	Floating bool
	// Sequence is the object's SEQUENCE (RFC 5545 §3.8.7.4), 0 when absent.
	Sequence int
	// Unreadable marks an object the server listed but did not deliver (an
	// error inside a 207, or no calendar-data): it exists, but its UID and
	// times are unknown.
	Unreadable bool
}

// RemoteOverride is one overridden occurrence of a series on the server.
type RemoteOverride struct {
	RecurrenceID time.Time
	Start, End   time.Time
}

// BusyObject is the busy time one calendar object contributes.
type BusyObject struct {
	ETag      string     `json:"etag"`
	Intervals []Interval `json:"intervals"`
}

// BusyState is what an incremental busy read remembers between calls: the
// sync token (RFC 6578) or the collection tag, and each object's intervals,
// so that an unchanged calendar costs one request.
type BusyState struct {
	SyncToken string `json:"sync_token,omitempty"`
	CTag      string `json:"ctag,omitempty"`
	// From and To bound the window the objects were expanded for.
	From    time.Time             `json:"from"`
	To      time.Time             `json:"to"`
	Objects map[string]BusyObject `json:"objects"` // by object href
	// Notice says, in plain words, which limit the calendar went over
	// when it was read; "" when it was read whole.
	Notice string `json:"notice,omitempty"`
}

// Intervals returns every interval in the state.
func (s BusyState) Intervals() []Interval {
	var out []Interval
	for _, o := range s.Objects {
		out = append(out, o.Intervals...)
	}
	return out
}

// BusyRead is the answer of an incremental busy read.
type BusyRead struct {
	State    BusyState
	Changed  bool // false when the server said nothing changed
	Requests int  // HTTP requests it took
}

// CalendarServer is a CalDAV server as the sync service uses it. The caldav
// package implements it. Errors: EREMOTE with a message a person understands
// for unreachable hosts, TLS failures and non-CalDAV URLs; EUNAUTHORIZED-like
// failures of the user's credentials are EREMOTE with Field "password";
// ECONFLICT for a failed precondition (HTTP 412); ENOTFOUND for a missing object.
type CalendarServer interface {
	// Discover finds the principal, the calendar home set and its calendars.
	Discover(ctx context.Context, acct CalDAVAccount) (Discovery, error)
	// CreateCalendar makes a VEVENT calendar named name under the home set
	// with MKCALENDAR (RFC 4791 §5.3.1) and returns it.
	CreateCalendar(ctx context.Context, acct CalDAVAccount, homeSet, name string) (Calendar, error)
	// PutEvent writes ev as one calendar object whose href is derived from
	// ev.UID. With ifMatch "" it creates (If-None-Match: *), else it updates
	// with If-Match. It returns the new ETag ("" when the server sent none).
	PutEvent(ctx context.Context, acct CalDAVAccount, calendarURL string, ev Event, ifMatch string) (string, error)
	// GetEvent reads the object for uid.
	GetEvent(ctx context.Context, acct CalDAVAccount, calendarURL, uid string) (RemoteEvent, error)
	// DeleteEvent removes the object for uid; ifMatch "" deletes unconditionally.
	// A missing object is not an error.
	DeleteEvent(ctx context.Context, acct CalDAVAccount, calendarURL, uid, ifMatch string) error
	// ListEvents lists the objects in the calendar with their ETags and
	// times; objects the server failed to deliver are listed Unreadable.
	ListEvents(ctx context.Context, acct CalDAVAccount, calendarURL string) ([]RemoteEvent, error)
	// Busy reads the busy time of a calendar in [from, to), expanding
	// recurring events, incrementally from prev (RFC 6578 sync-collection
	// where supported, else CTag/ETag comparison).
	Busy(ctx context.Context, acct CalDAVAccount, calendarURL string, from, to time.Time, prev BusyState) (BusyRead, error)
}

// ICSSource fetches a plain ICS URL as a busy source.
type ICSSource interface {
	// FetchBusy GETs url conditionally (If-None-Match / If-Modified-Since from
	// prev) and returns the busy intervals in [from, to).
	FetchBusy(ctx context.Context, url string, from, to time.Time, prev ICSState) (ICSRead, error)
}

// ICSState remembers an ICS source's validators and its intervals.
type ICSState struct {
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	// Hash is the SHA-256 of the body last read, in hex: a server without
	// validators that sends the same calendar again is not read again.
	Hash      string     `json:"hash,omitempty"`
	From      time.Time  `json:"from"`
	To        time.Time  `json:"to"`
	Intervals []Interval `json:"intervals"`
	// Notice says, in plain words, which limit the source went over when it
	// was read; "" when it was read whole.
	Notice string `json:"notice,omitempty"`
}

// ICSRead is the answer of FetchBusy.
type ICSRead struct {
	State   ICSState
	Changed bool
}

// MaskAddress shows a secret address (a busy_ics address) as its scheme
// and host, then "/…" and the last four characters of the rest when there
// is enough of it to keep the secret: "https://calendar.google.com/…/basic.ics"
// becomes "https://calendar.google.com/….ics". User info never shows.
func MaskAddress(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return "…"
	}
	out := u.Scheme + "://" + u.Host + "/…"
	rest := []rune(strings.TrimPrefix(u.EscapedPath(), "/"))
	if u.RawQuery != "" {
		rest = append(append(rest, '?'), []rune(u.RawQuery)...)
	}
	if len(rest) > 8 {
		out += string(rest[len(rest)-4:])
	}
	return out
}
