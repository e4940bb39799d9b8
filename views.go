package followup

import "time"

// FeedLinks are the addresses of a user's feed.
type FeedLinks struct {
	URL    string `json:"url"`
	Webcal string `json:"webcal"`
}

// FeedVersion is what a conditional GET of a feed compares.
type FeedVersion struct {
	UserID       int64
	ETag         string
	LastModified time.Time
	// Revision is the store's Feed.Version, and Purged its Feed.Purged:
	// what an incremental render reads the changes since its last one by.
	Revision, Purged int64
}

// AgendaBlock is a placed block with what it is about.
type AgendaBlock struct {
	Step
	CommitmentID int64  `json:"commitment_id"`
	Title        string `json:"title"`
	// Draft is the ready-to-send message, "" for meetings.
	Draft string `json:"draft,omitempty"`
	// Contact is the person the block is about.
	Contact string `json:"contact"`
}

// Agenda is the placed blocks and the busy time that shaped them.
type Agenda struct {
	From   time.Time     `json:"from"`
	To     time.Time     `json:"to"`
	Zone   string        `json:"timezone"`
	Blocks []AgendaBlock `json:"blocks"`
	Busy   []Interval    `json:"busy"`
}

// CalDAVInput is what a user gives to connect a CalDAV account.
type CalDAVInput struct {
	URL      string
	Username string
	Password string
	// Calendar is the URL or name of the calendar to write blocks to; ""
	// means "Follow-ups", created when missing.
	Calendar string
	// BusyCalendars are URLs or names of calendars read as busy; nil means
	// every other calendar that holds events.
	BusyCalendars []string
	// BusyICS are plain ICS addresses read as busy. An address sent back
	// masked, as answers show it, keeps the one stored; nil keeps every
	// stored one, and an empty list removes them.
	BusyICS []string
}

// SyncReport says what one sync did.
type SyncReport struct {
	Written  int      `json:"written"`  // calendar objects created or updated
	Moved    int      `json:"moved"`    // blocks moved because a busy event now overlaps them
	Adopted  int      `json:"adopted"`  // blocks whose time the user changed in their calendar app
	Deleted  int      `json:"deleted"`  // calendar objects removed
	Removed  int      `json:"removed"`  // blocks the user deleted in their calendar app
	Read     int      `json:"read"`     // busy calendars and ICS sources read
	Changed  int      `json:"changed"`  // of those, how many had changed
	Busy     int      `json:"busy"`     // busy intervals known after the sync
	Requests int      `json:"requests"` // HTTP requests made to read busy time and our calendar
	Errors   []string `json:"errors"`
	// Notices name the busy sources that went over a limit (too many
	// events, or repeating in a way too costly to expand), in plain words.
	Notices []string `json:"notices"`
}
