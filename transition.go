package followup

import "time"

// TransitionKind names what changed a commitment's state: one of the
// user's actions, or a time-based rule of cadence.md.
type TransitionKind string

// Transition kinds. Each happens at most once to a commitment.
const (
	TransitionContacted TransitionKind = "contacted" // the first note went out (also implied by a reply, or by delivering my promise)
	TransitionReplied   TransitionKind = "replied"   // they answered
	TransitionDelivered TransitionKind = "delivered" // the promise was kept
	TransitionLetGo     TransitionKind = "let_go"    // let go: by the user, or at met + 10 days without contact
	TransitionClose     TransitionKind = "close"     // closed after an unanswered nudge
)

// Transition is the durable record of one transition applied to a
// commitment, written in the transaction that applied it: the
// commitment's history, and the proof that it was applied once. From and
// To are the commitment's status around it; a transition implied by
// another one applied with it (contacted, when delivering my promise)
// leaves the status as it found it, and the one that caused it carries
// the change.
type Transition struct {
	ID           int64
	UserID       int64
	CommitmentID int64
	// StepID is the step the transition completed (the let_go or close
	// step applied, the refresher, deliver or chase done); 0 when none.
	StepID int64
	Kind   TransitionKind
	From   Status
	To     Status
	At     time.Time
}
