package followup

import "time"

// Session is a signed-in browser of the web app. Its token lives only in
// the browser's cookie; the store keeps its SHA-256.
type Session struct {
	ID        int64
	UserID    int64
	CreatedAt time.Time
	ExpiresAt time.Time
	// Event is the meeting place and time that "event mode" keeps filled
	// in on the log form; nil when event mode is off.
	Event *EventMemory
}

// EventMemory is where and when the user met people at an event.
type EventMemory struct {
	Where string
	At    time.Time
}

// LoginCounts are recent failed sign-ins, per account and per address.
type LoginCounts struct {
	Email int
	Addr  int
}

// Idempotency is a stored idempotency key of commitment creation.
type Idempotency struct {
	Key          string
	Fingerprint  string
	CommitmentID int64
}

// Outcome is what the progress page reads of one commitment.
type Outcome struct {
	ID          int64
	Status      Status
	CreatedAt   time.Time
	MetAt       time.Time
	ContactedAt *time.Time
	EndedAt     *time.Time
	DeliveredAt *time.Time
}

// Progress is the user's record over recent weeks.
type Progress struct {
	Weeks []WeekProgress `json:"weeks"`
	// MedianFirstContact is the median time from meeting to first contact
	// over commitments contacted in the range; 0 when none were.
	MedianFirstContact time.Duration `json:"median_first_contact"`
	Contacted          int           `json:"contacted"`
}

// WeekProgress counts the commitments that ended in one week (Monday to
// Sunday in the user's zone), and the median time to first contact of those
// logged that week.
type WeekProgress struct {
	Start              time.Time     `json:"start"`
	Kept               int           `json:"kept"`
	LetGo              int           `json:"let_go"`
	MedianFirstContact time.Duration `json:"median_first_contact"`
	Contacted          int           `json:"contacted"`
}
