package followup

import (
	"context"
	"time"
)

// CommitmentFilter selects commitments for listing.
type CommitmentFilter struct {
	Status Status // "" for all
	// Starred keeps only priority commitments.
	Starred bool
	// Direction keeps only mine or theirs; "" for both.
	Direction Direction
	// Search keeps commitments whose contact name contains it, ignoring case.
	Search string
	Limit  int // 0 means the store's default
	Offset int
}

// Feed is a user's feed validators: what a conditional GET needs, nothing more.
type Feed struct {
	UserID int64
	// Version rises on every change that the feed shows, in the change's
	// transaction; each step carries the Version at which it last changed
	// (see StepsChangedSince).
	Version int64
	// Purged is the Version at which steps last left the store for good
	// (tombstones deleted): a feed rendered before it cannot learn their
	// going from StepsChangedSince.
	Purged    int64
	UpdatedAt time.Time
}

// PlanMark is where a user's plan stands. Every write of the user's
// calendar raises Version. A create stamps each step it inserts or moves
// with the feed version it raises; every other write that raises Version
// sets Base to it. So a calendar kept at plan version K, read when the
// feed version was F, is brought to Version by the steps changed past F
// (PlanningChanges) when Base <= K, and must be read in whole otherwise.
type PlanMark struct {
	Version, Feed, Base int64
}

// CalDAVConnection is a user's stored CalDAV account and what discovery found.
type CalDAVConnection struct {
	UserID         int64      `json:"-"`
	URL            string     `json:"url"`
	Username       string     `json:"username"`
	SealedPassword string     `json:"-"`
	Endpoint       string     `json:"endpoint"`
	HomeSet        string     `json:"home_set"`
	CalendarURL    string     `json:"calendar"` // where blocks are written
	Calendars      []Calendar `json:"calendars"`
	BusyCalendars  []string   `json:"busy_calendars"` // URLs of calendars read as busy
	// BusyICS are the plain ICS addresses read as busy, masked for display
	// (scheme, host, "/…" and the last four characters): they are secrets,
	// like Google's secret address. The store leaves it empty; the service
	// fills it from SealedBusyICS.
	BusyICS []string `json:"busy_ics,omitempty"`
	// SealedBusyICS are the same addresses sealed (as SealedPassword is);
	// a connection stored before they were sealed may hold plain ones,
	// which the service seals at start.
	SealedBusyICS []string `json:"-"`
	// Origins are the https origins beyond URL's that discovery named over
	// https (Discovery.Origins); nil for a connection stored before they
	// were recorded.
	Origins    []string   `json:"-"`
	LastSyncAt *time.Time `json:"last_sync_at"`
	LastError  string     `json:"last_error"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// BusySource is one calendar or ICS URL read as busy time, with the state
// of its last incremental read.
type BusySource struct {
	UserID    int64
	URL       string
	Kind      string // "caldav" or "ics"
	CalDAV    BusyState
	ICS       ICSState
	UpdatedAt time.Time
}

// Notice says which limit the source went over when it was last read; ""
// when none.
func (b BusySource) Notice() string {
	if b.Kind == "ics" {
		return b.ICS.Notice
	}
	return b.CalDAV.Notice
}

// Intervals returns the source's busy intervals.
func (b BusySource) Intervals() []Interval {
	if b.Kind == "ics" {
		return b.ICS.Intervals
	}
	return b.CalDAV.Intervals()
}

// Job kinds of the durable queue.
const (
	JobCalDAVStep  = "caldav_step"  // reconcile one step's calendar object (UserID, UID)
	JobSyncUser    = "sync_user"    // a full sync of one user's calendars (UserID)
	JobCalDAVHabit = "caldav_habit" // reconcile one habit series' calendar object (UserID, UID)
	// JobReplanUser places all of one user's movable blocks again (UserID)
	// if a re-plan is still wanted (WantReplan): queued when placing a new
	// commitment in its window could not keep every rule.
	JobReplanUser = "replan_user"
)

// Job is one unit of background work, stored in the database queue.
type Job struct {
	Kind   string
	UserID int64
	UID    string
	// Snoozes counts how often the job was put off so far (the handler
	// asked to retry it later); the queue fills it in, Enqueue ignores it.
	Snoozes int
}

// JobHandler runs jobs taken from the queue. An error retries the job with
// backoff; an error for which RetryAfter reports a delay retries after that
// delay without counting as an attempt.
type JobHandler interface {
	HandleJob(ctx context.Context, job Job) error
	// Tick applies time-based transitions due at now.
	Tick(ctx context.Context) error
}

// Queries are the store's reads and writes. Errors: ENOTFOUND for a missing
// or foreign object, ECONFLICT for a duplicate.
type Queries interface {
	CreateUser(ctx context.Context, u *User, s Settings) error
	UserByEmail(ctx context.Context, email string) (User, error)
	UserByID(ctx context.Context, id int64) (User, error)
	CreateAPIToken(ctx context.Context, userID int64, tokenHash []byte, name string) error
	// UserByAPIToken returns the user owning a token hash, and the token.
	UserByAPIToken(ctx context.Context, tokenHash []byte) (User, APIToken, error)
	// APITokens lists the user's tokens, oldest first.
	APITokens(ctx context.Context, userID int64) ([]APIToken, error)
	// DeleteAPIToken removes one of the user's tokens; ENOTFOUND for another's.
	DeleteAPIToken(ctx context.Context, userID, id int64) error
	// TouchAPIToken records a use of the token at t, unless one at or after
	// notBefore is recorded already.
	TouchAPIToken(ctx context.Context, id int64, t, notBefore time.Time) error
	// CountUsers returns how many accounts exist.
	CountUsers(ctx context.Context) (int, error)

	// CreateSession stores a session under its token's hash and sets s.ID;
	// it also removes sessions expired at s.CreatedAt.
	CreateSession(ctx context.Context, s *Session, tokenHash []byte) error
	// SessionByToken returns the session unless it expired at now.
	SessionByToken(ctx context.Context, tokenHash []byte, now time.Time) (Session, error)
	DeleteSession(ctx context.Context, tokenHash []byte) error
	// SetSessionEvent stores the session's event memory (nil clears it).
	SetSessionEvent(ctx context.Context, tokenHash []byte, e *EventMemory) error
	// AddLoginFailure records a failed sign-in; it also forgets failures before forget.
	AddLoginFailure(ctx context.Context, email, addr string, at, forget time.Time) error
	// LoginFailures counts failed sign-ins since a time, per email and per address.
	LoginFailures(ctx context.Context, email, addr string, since time.Time) (LoginCounts, error)
	// ClearLoginFailures forgets an account's failed sign-ins.
	ClearLoginFailures(ctx context.Context, email string) error

	// Idempotency returns the user's stored key, ENOTFOUND when unknown.
	Idempotency(ctx context.Context, userID int64, key string) (Idempotency, error)
	// PutIdempotency stores a key; ECONFLICT when it exists.
	PutIdempotency(ctx context.Context, userID int64, k Idempotency, at time.Time) error
	// Outcomes returns the user's commitments met since a time, for progress.
	Outcomes(ctx context.Context, userID int64, since time.Time) ([]Outcome, error)

	Settings(ctx context.Context, userID int64) (Settings, error)
	PutSettings(ctx context.Context, userID int64, s Settings) error

	// SetFeedToken replaces the user's feed token (hash for lookup, sealed for display).
	SetFeedToken(ctx context.Context, userID int64, tokenHash []byte, sealed string) error
	FeedToken(ctx context.Context, userID int64) (sealed string, err error)
	FeedByToken(ctx context.Context, tokenHash []byte) (Feed, error)
	// TouchFeed raises the user's feed version, once per transaction.
	// Every write that changes what the feed shows raises it by itself,
	// in its transaction: steps, commitments, habit series and settings.
	TouchFeed(ctx context.Context, userID int64, now time.Time) error
	// StepsChangedSince returns the user's steps changed at a feed version
	// past rev (Feed.Version), whatever their status, tombstones included.
	StepsChangedSince(ctx context.Context, userID, rev int64) ([]Step, error)
	// CommitmentsChangedSince returns the ids of the user's commitments
	// updated at a feed version past rev.
	CommitmentsChangedSince(ctx context.Context, userID, rev int64) ([]int64, error)
	// StepIDs returns the ids of all the user's steps, tombstones included.
	StepIDs(ctx context.Context, userID int64) ([]int64, error)
	// PlanVersion returns the user's plan version, which every write of
	// the user's rows raises (the store raises it where it takes the
	// user's row, see TouchFeed): their steps, commitments, settings, busy
	// sources and CalDAV connection, and the taking of a re-plan wish
	// (TakeReplan). ENOTFOUND for no user.
	PlanVersion(ctx context.Context, userID int64) (int64, error)
	// PlanMark returns the user's plan and feed versions and plan base
	// (PlanMark). ENOTFOUND for no user.
	PlanMark(ctx context.Context, userID int64) (PlanMark, error)
	// ClaimPlan raises the user's plan version if it is still seen, and
	// reports whether it was: a plan made from reads at version seen may
	// then be stored.
	ClaimPlan(ctx context.Context, userID, seen int64) (bool, error)
	// ClaimPlanAndFeed is ClaimPlan for a transaction that stores blocks
	// the feed shows (a create): the claim raises the feed version too, in
	// one write of the user's row.
	ClaimPlanAndFeed(ctx context.Context, userID, seen int64) (bool, error)
	// ClaimAndInsert is ClaimPlanAndFeed for c's user from plan version
	// seen.Version, then InsertCommitmentWithSteps, then MoveSteps of
	// moved, for a create (in one statement where the database allows).
	// Every step inserted or moved carries the raised feed version (see
	// PlanMark). seen.Feed, unless 0, is the feed version at seen.Version,
	// which the claim then requires too (and need not read back). False
	// when the versions are no longer seen: the transaction is then to be
	// rolled back, as it may hold c already.
	ClaimAndInsert(ctx context.Context, seen PlanMark, c *Commitment, steps, moved []Step) (bool, error)

	InsertCommitment(ctx context.Context, c *Commitment) error
	// InsertCommitmentWithSteps is InsertCommitment and then InsertSteps
	// with the steps' CommitmentID set to the new commitment's (in one
	// statement where the database can).
	InsertCommitmentWithSteps(ctx context.Context, c *Commitment, steps []Step) error
	UpdateCommitment(ctx context.Context, c *Commitment) error
	DeleteCommitment(ctx context.Context, userID, id int64) error
	// Commitment returns one of the user's commitments with its steps.
	Commitment(ctx context.Context, userID, id int64) (Commitment, error)
	// Commitments lists the user's commitments, newest first, with their steps.
	Commitments(ctx context.Context, userID int64, f CommitmentFilter) ([]Commitment, error)
	// CommitmentsByID returns the user's commitments with these ids, without steps.
	CommitmentsByID(ctx context.Context, userID int64, ids []int64) (map[int64]Commitment, error)
	// RecordTransitions stores transitions applied to commitments and sets
	// their IDs. ECONFLICT when one of them is recorded already: a
	// commitment's transition of a kind, or a change of its status, is
	// recorded once.
	RecordTransitions(ctx context.Context, ts []Transition) error
	// Transitions returns the transitions applied to the user's commitment,
	// oldest first.
	Transitions(ctx context.Context, userID, commitmentID int64) ([]Transition, error)
	// PlanningFacts returns what planning needs of the user's commitments with
	// these ids: ID, Priority, MetAt and Meeting; other fields are empty.
	PlanningFacts(ctx context.Context, userID int64, ids []int64) (map[int64]Commitment, error)

	InsertStep(ctx context.Context, s *Step) error
	// InsertSteps stores new steps in one statement and sets their IDs.
	InsertSteps(ctx context.Context, steps []Step) error
	UpdateStep(ctx context.Context, s *Step) error
	StepByUID(ctx context.Context, uid string) (Step, error)
	// PendingSteps returns the user's planned and synced steps.
	PendingSteps(ctx context.Context, userID int64) ([]Step, error)
	// PlanningSteps returns the user's planned and synced steps that end
	// after t, let_go steps aside, with only what planning reads: ID, CommitmentID, UserID, Kind,
	// Status, Start, End, NotBefore, Due, UID, Late, Unplaced, Sequence,
	// Pinned and RemoteETag. Store changes with MoveStep.
	PlanningSteps(ctx context.Context, userID int64, t time.Time) ([]Step, error)
	// WantReplan records that the user's blocks need a full re-plan and
	// reports whether that is new: false while a wish is recorded and not
	// yet taken (its job is queued or running and re-plans after this).
	WantReplan(ctx context.Context, userID int64) (bool, error)
	// TakeReplan clears the wish WantReplan recorded and reports whether
	// there was one; taking it raises the plan version.
	TakeReplan(ctx context.Context, userID int64) (bool, error)
	// PlanningWindow returns what PlanningSteps does, for the user's steps
	// starting in [from, to) only, close steps and Unplaced blocks aside
	// too, served by an index on (user_id, start); and what PlanningFacts
	// does for their commitments, in the same read.
	PlanningWindow(ctx context.Context, userID int64, from, to time.Time) ([]Step, map[int64]Commitment, error)
	// PlanningChanges returns the user's pending steps of a commitment
	// stamped at a feed version past feed (StepsChangedSince), wherever
	// and whether or not they are placed, with the columns PlanningWindow
	// reads and Unplaced, and the planning facts of their commitments: from
	// a calendar kept at a plan version at or past PlanMark.Base, with feed
	// the feed version of that plan version, what changed since.
	PlanningChanges(ctx context.Context, userID, feed int64) ([]Step, map[int64]Commitment, error)
	// MoveStep stores a step's placement: Status, Start, End, Late,
	// Unplaced, Sequence and UpdatedAt.
	MoveStep(ctx context.Context, s *Step) error
	// MoveSteps is MoveStep for many steps, in one statement per few
	// hundred: on PostgreSQL every statement is a round trip.
	MoveSteps(ctx context.Context, steps []Step) error
	// LiveBlocks returns the user's steps that calendars show: pending block
	// steps, and done blocks that had started by when they were completed.
	// Blocks that ended before since are left out.
	LiveBlocks(ctx context.Context, userID int64, since time.Time) ([]Step, error)
	// StepsInRange returns the user's block steps overlapping [from, to) that are pending or done.
	StepsInRange(ctx context.Context, userID int64, from, to time.Time) ([]Step, error)
	// SyncSteps returns the user's steps a calendar sync looks at: pending
	// blocks, and any step with an object on the server or a write whose
	// answer is not known (tombstones included).
	SyncSteps(ctx context.Context, userID int64) ([]Step, error)
	// ResetRemote forgets every calendar object of the user's steps (after
	// the target calendar changed), so that they are written anew.
	ResetRemote(ctx context.Context, userID int64) error
	// DueSteps returns pending steps of the given kinds starting at or before t, across users.
	DueSteps(ctx context.Context, kinds []StepKind, t time.Time, limit int) ([]Step, error)

	// HabitSeries returns the user's habit series, switched-off ones still
	// waiting for their calendar object to go included, in HabitKinds order.
	HabitSeries(ctx context.Context, userID int64) ([]HabitSeries, error)
	// HabitSeriesByUID returns one series; ENOTFOUND when there is none.
	HabitSeriesByUID(ctx context.Context, uid string) (HabitSeries, error)
	// PutHabitSeries inserts or replaces the user's series of s.Kind.
	PutHabitSeries(ctx context.Context, s *HabitSeries) error
	// DeleteHabitSeries removes the series with uid; a missing one is no error.
	DeleteHabitSeries(ctx context.Context, uid string) error
	// HabitCommitmentIDs returns the ids of what the habits' texts may
	// name: the user's open commitments and those created at or after
	// since. Ids only: the feed reads most of these commitments anyway.
	HabitCommitmentIDs(ctx context.Context, userID int64, since time.Time) ([]int64, error)

	CalDAV(ctx context.Context, userID int64) (CalDAVConnection, error)
	PutCalDAV(ctx context.Context, c CalDAVConnection) error
	DeleteCalDAV(ctx context.Context, userID int64) error
	// SetCalDAVStatus records the outcome of a sync.
	SetCalDAVStatus(ctx context.Context, userID int64, at time.Time, lastError string) error
	CalDAVUsers(ctx context.Context) ([]int64, error)
	BusySources(ctx context.Context, userID int64) ([]BusySource, error)
	PutBusySource(ctx context.Context, b BusySource) error
	DeleteBusySources(ctx context.Context, userID int64, keep []string) error

	// LockUser takes or renews the user's lease for owner until the given
	// time, if it is free, expired at now, or owner's already; it reports
	// whether owner holds it.
	LockUser(ctx context.Context, userID int64, owner string, until, now time.Time) (bool, error)
	// UnlockUser gives owner's lease back.
	UnlockUser(ctx context.Context, userID int64, owner string) error

	// Backoff returns until when the user's calendar work leaves host
	// alone (a server's Retry-After), the zero time when it need not.
	Backoff(ctx context.Context, userID int64, host string) (time.Time, error)
	// PutBackoff makes the user's calendar work leave host alone until
	// notBefore, or until a later time already stored.
	PutBackoff(ctx context.Context, userID int64, host string, notBefore time.Time) error

	// Enqueue adds a job to the durable queue; inside InTx it commits with the transaction.
	Enqueue(ctx context.Context, j Job) error
}

// Store is the database: Queries outside a transaction, and InTx for a
// transaction that commits only if fn returns nil. fn may run more than
// once (PostgreSQL runs a transaction again that it could not serialise
// with others): what it does outside q, such as logging or counting, must
// wait until InTx has returned nil.
type Store interface {
	Queries
	InTx(ctx context.Context, fn func(q Queries) error) error
	Ping(ctx context.Context) error
}
