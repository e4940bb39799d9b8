// Package followup holds the domain of the followup service: commitments,
// the follow-up steps planned from them, user settings, and the interfaces
// that the adapters (store, scheduler, ics, caldav, web) implement or use.
// It depends on the standard library only.
package followup

import (
	"time"
)

// Direction says who made the promise.
type Direction string

// Directions.
const (
	Mine   Direction = "mine"   // I promised something
	Theirs Direction = "theirs" // they promised me something
)

// Status is the state of a commitment.
type Status string

// Commitment statuses.
const (
	StatusOpen  Status = "open"
	StatusDone  Status = "done"
	StatusLetGo Status = "let_go"
)

// StepKind names a step of the follow-up cadence (see cadence.md).
type StepKind string

// Step kinds.
const (
	KindRefresher StepKind = "refresher"
	KindDeliver   StepKind = "deliver"
	KindChase     StepKind = "chase"
	KindMeeting   StepKind = "meeting"
	KindConfirm   StepKind = "confirm"
	KindNudge     StepKind = "nudge"
	KindClose     StepKind = "close"
	KindLetGo     StepKind = "let_go"
)

// IsBlock reports whether steps of this kind take calendar time. close and
// let_go are transitions applied at a point in time, never shown as blocks.
func (k StepKind) IsBlock() bool {
	return k != KindClose && k != KindLetGo
}

// StepStatus is the state of one step.
type StepStatus string

// Step statuses.
const (
	StepPlanned   StepStatus = "planned"   // placed, may still move
	StepSynced    StepStatus = "synced"    // written to the user's CalDAV calendar; stays put
	StepDone      StepStatus = "done"      // completed
	StepCancelled StepStatus = "cancelled" // no longer needed
)

// Pending reports whether the step still waits to happen.
func (s StepStatus) Pending() bool { return s == StepPlanned || s == StepSynced }

// Action is something the user reports about a commitment.
type Action string

// Actions accepted by POST /api/v1/commitments/{id}/actions.
const (
	ActionContacted Action = "contacted" // the first note went out
	ActionReplied   Action = "replied"   // they answered: the cycle ends well
	ActionDelivered Action = "delivered" // the promise was kept (by me or by them)
	ActionLetGo     Action = "let_go"    // give up on purpose
)

// Contact is the person a commitment is about.
type Contact struct {
	Name    string `json:"name"`
	Email   string `json:"email"`
	Phone   string `json:"phone"`
	Company string `json:"company"`
	URL     string `json:"url"`
}

// Meeting is a meeting agreed on the spot.
type Meeting struct {
	Start    time.Time `json:"start"`
	Minutes  int       `json:"minutes"`
	Location string    `json:"location"`
}

// End returns the end of the meeting.
func (m Meeting) End() time.Time { return m.Start.Add(time.Duration(m.Minutes) * time.Minute) }

// Commitment is one logged promise with its follow-up steps.
type Commitment struct {
	ID        int64     `json:"id"`
	UserID    int64     `json:"-"`
	Contact   Contact   `json:"contact"`
	MetAt     time.Time `json:"met_at"`
	MetWhere  string    `json:"met_where"`
	Promise   string    `json:"promise"`
	Direction Direction `json:"direction"`
	Due       time.Time `json:"due"`
	DueText   string    `json:"due_text,omitempty"`
	Priority  bool      `json:"priority"`
	Meeting   *Meeting  `json:"meeting,omitempty"`
	Notes     string    `json:"notes"`
	Status    Status    `json:"status"`

	ContactedAt *time.Time `json:"contacted_at,omitempty"`
	RepliedAt   *time.Time `json:"replied_at,omitempty"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	EndedAt     *time.Time `json:"ended_at,omitempty"`

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`

	Steps    []Step   `json:"steps"`
	Warnings []string `json:"warnings,omitempty"`
}

// Step is one step of a commitment's cadence. Block steps have a placed
// Start and End; close and let_go have Start == End, the moment they apply.
type Step struct {
	ID           int64      `json:"id"`
	CommitmentID int64      `json:"-"`
	UserID       int64      `json:"-"`
	Kind         StepKind   `json:"kind"`
	Status       StepStatus `json:"status"`
	Start        time.Time  `json:"start"`
	End          time.Time  `json:"end"`
	// NotBefore is the earliest moment the step may be placed.
	NotBefore time.Time `json:"-"`
	// Due is the deadline the step should be placed before.
	Due  time.Time `json:"due"`
	UID  string    `json:"uid"`
	Late bool      `json:"late"`
	// Unplaced marks a block that found no free slot within the planning
	// horizon: it sits, late, at its earliest moment, overlapping what is
	// there, until a re-plan finds it room. Placing other blocks reads
	// past it (it takes no time from them).
	Unplaced bool `json:"-"`
	// Sequence rises on every change visible to calendars (RFC 5545 §3.8.7.4).
	Sequence int `json:"-"`
	// Pinned marks a block that must stay where it is: the user moved it in
	// their calendar app, so their time is kept.
	Pinned bool `json:"-"`
	// RemoteETag is the ETag of the calendar object last written or seen on
	// the user's CalDAV server; "" when none exists there, UnknownETag when
	// the server named none.
	RemoteETag string `json:"-"`
	// RemoteSequence is the Sequence that was last written to the server,
	// NoRemoteSequence when none of ours is known to be there.
	RemoteSequence int `json:"-"`
	// PendingWrites are the writes of the step's calendar object that were
	// sent after the last one the server confirmed, and whose answer was
	// lost: the server may hold any of them. They tell our own write from a
	// move by the user.
	PendingWrites []PendingWrite `json:"-"`
	// CompletedAt is when the step became done or cancelled.
	CompletedAt *time.Time `json:"-"`
	CreatedAt   time.Time  `json:"-"`
	UpdatedAt   time.Time  `json:"-"`
}

// NoRemoteSequence is Step.RemoteSequence when no write of ours is known to
// be on the server: the next write must send the step whatever it holds.
const NoRemoteSequence = -1

// UnknownETag is Step.RemoteETag for an object written when the server
// named no ETag: the next read-back learns the real one.
const UnknownETag = "unknown"

// PendingWrite is a write of a step's calendar object that was sent to the
// server, whose answer was lost: its SEQUENCE and times, which no one but
// us gives the object together.
type PendingWrite struct {
	Sequence int       `json:"sequence"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
}

// Matches reports whether the server's object is exactly this write of
// ours: the same SEQUENCE and the same times, in UTC as we write them.
func (w PendingWrite) Matches(r RemoteEvent) bool {
	return !r.Floating && r.Sequence == w.Sequence && r.Start.Equal(w.Start) && r.End.Equal(w.End)
}

// OwnWrite returns the write of ours that the server's object is, if it
// is one: a pending write, or the step as it is now (written by a process
// that ended before it could note the write).
func (s Step) OwnWrite(r RemoteEvent) (PendingWrite, bool) {
	for _, w := range s.PendingWrites {
		if w.Matches(r) {
			return w, true
		}
	}
	if w := (PendingWrite{Sequence: s.Sequence, Start: s.Start, End: s.End}); w.Matches(r) {
		return w, true
	}
	return PendingWrite{}, false
}

// Live reports whether calendars show the step: a pending block, or a done
// block that had started when it was completed (kept as a record).
func (s Step) Live() bool {
	if !s.Kind.IsBlock() {
		return false
	}
	if s.Status.Pending() {
		return true
	}
	return s.Status == StepDone && s.CompletedAt != nil && !s.CompletedAt.Before(s.Start)
}

// Interval is a busy span of time, [Start, End).
type Interval struct {
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Source string    `json:"source,omitempty"`
	// AllDay marks a busy all-day event.
	AllDay bool `json:"all_day,omitempty"`
	// Floating marks a time with no zone: Start and End hold its wall
	// clock as UTC values, to be read in the user's zone.
	Floating bool `json:"floating,omitempty"`
}

// Overlaps reports whether the two intervals share any time.
func (iv Interval) Overlaps(o Interval) bool {
	return iv.Start.Before(o.End) && o.Start.Before(iv.End)
}

// User is an account.
type User struct {
	ID           int64     `json:"id"`
	Email        string    `json:"email"`
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
}

// APIToken describes one of a user's API tokens; the token itself is never
// stored, only its hash. LastUsedAt is nil for a token never used, and is
// kept to the minute (APITokenTouchEvery).
type APIToken struct {
	ID         int64      `json:"id"`
	UserID     int64      `json:"-"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// APITokenTouchEvery is how stale a token's LastUsedAt may get: a request
// records its use only when the recorded one is at least this old, so that
// reads stay reads.
const APITokenTouchEvery = time.Minute
