package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/scheduler"
)

// habitSpec is what a series was placed for: the habit's settings and the
// zone. A change to it places the series anew.
type habitSpec struct {
	Habit followup.Habit `json:"habit"`
	Zone  string         `json:"zone"`
}

func specOf(h followup.Habit, zone string) string {
	h.Enabled = true
	b, _ := json.Marshal(habitSpec{Habit: h, Zone: zone})
	return string(b)
}

// specs caches parsed specs: the feed reads each series' on every render.
var specs sync.Map // spec -> followup.Habit

// habitOf reads back the habit a series was placed for.
func habitOf(hs followup.HabitSeries) (followup.Habit, error) {
	if h, ok := specs.Load(hs.Spec); ok {
		return h.(followup.Habit), nil
	}
	var sp habitSpec
	if err := json.Unmarshal([]byte(hs.Spec), &sp); err != nil {
		return followup.Habit{}, fmt.Errorf("service: spec of habit %s: %w", hs.UID, err)
	}
	specs.Store(hs.Spec, sp.Habit)
	return sp.Habit, nil
}

// planHabits brings the user's habit series in line with the settings: a
// habit switched on gets a series placed in free time, a changed one is
// placed again (same UID, higher SEQUENCE), a switched-off one is removed
// (kept as inactive until its calendar object is gone). Occurrences that
// busy time now overlaps move alone, as overrides; the user's own moves
// (pinned overrides) stay. It returns the series it changed.
func (s *Service) planHabits(ctx context.Context, q followup.Queries, userID int64, st followup.Settings, loc *time.Location, now time.Time) ([]followup.HabitSeries, error) {
	stored, err := q.HabitSeries(ctx, userID)
	if err != nil {
		return nil, err
	}
	byKind := map[followup.HabitKind]followup.HabitSeries{}
	for _, hs := range stored {
		byKind[hs.Kind] = hs
	}
	if len(stored) == 0 && !anyHabitOn(st.Habits) {
		return nil, nil
	}
	busy, blocks, err := habitBusy(ctx, q, userID, loc, now)
	if err != nil {
		return nil, err
	}
	room := habitRoom{st: st, loc: loc, now: now, busy: busy, blocks: blocks}
	var changed []followup.HabitSeries
	for _, k := range followup.HabitKinds {
		h := st.Habits.Get(k)
		cur, exists := byKind[k]
		if !h.Enabled {
			if exists && cur.Active {
				if err := switchOff(ctx, q, &cur, now); err != nil {
					return nil, err
				}
				changed = append(changed, cur)
			}
			continue
		}
		if !exists {
			uid, err := s.newUID()
			if err != nil {
				return nil, err
			}
			cur = followup.HabitSeries{UserID: userID, Kind: k, UID: uid, RemoteSequence: followup.NoRemoteSequence, CreatedAt: now}
		}
		next, err := room.place(h, cur)
		if err != nil {
			return nil, err
		}
		// Later habits avoid this one's occurrences.
		room.blocks = append(room.blocks, seriesIntervals(next, h, loc, now, now.Add(busyWindow))...)
		if exists && sameSeries(cur, next) {
			continue
		}
		if exists {
			next.Sequence = cur.Sequence + 1
		}
		next.UpdatedAt = now
		if err := q.PutHabitSeries(ctx, &next); err != nil {
			return nil, err
		}
		changed = append(changed, next)
	}
	return changed, nil
}

func anyHabitOn(h followup.Habits) bool {
	for _, k := range followup.HabitKinds {
		if h.Get(k).Enabled {
			return true
		}
	}
	return false
}

// switchOff removes a series: at once when no calendar holds it, else
// after its calendar object is deleted.
func switchOff(ctx context.Context, q followup.Queries, hs *followup.HabitSeries, now time.Time) error {
	hs.Active = false
	hs.Sequence++
	hs.UpdatedAt = now
	if hs.RemoteETag == "" {
		return q.DeleteHabitSeries(ctx, hs.UID)
	}
	return q.PutHabitSeries(ctx, hs)
}

// habitBusy is the time a habit's occurrences avoid: busy events from
// calendars and agreed meetings (with the buffer), and blocks that stay
// put (written to a calendar or pinned by the user).
func habitBusy(ctx context.Context, q followup.Queries, userID int64, loc *time.Location, now time.Time) (busy, blocks []followup.Interval, err error) {
	busy, err = externalBusy(ctx, q, userID, loc)
	if err != nil {
		return nil, nil, err
	}
	steps, err := q.PlanningSteps(ctx, userID, now)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range steps {
		switch {
		case p.Kind == followup.KindMeeting:
			busy = append(busy, followup.Interval{Start: p.Start, End: p.End, Source: "meeting"})
		case p.Kind.IsBlock() && (p.Pinned || p.Status == followup.StepSynced):
			blocks = append(blocks, followup.Interval{Start: p.Start, End: p.End})
		}
	}
	return busy, blocks, nil
}

// habitRoom is the time the habits of one planning are placed in: busy
// time (with the buffer) and blocks that stay put, to which each placed
// habit's occurrences are added for the next.
type habitRoom struct {
	st     followup.Settings
	loc    *time.Location
	now    time.Time
	busy   []followup.Interval
	blocks []followup.Interval
}

// place returns the series of habit h as it should be, from cur (stored,
// or new with its UID): cur's time of day while h and the zone are
// unchanged, else a new one; future occurrences on busy time moved; the
// user's moves and past overrides kept.
func (r habitRoom) place(h followup.Habit, cur followup.HabitSeries) (followup.HabitSeries, error) {
	spec := specOf(h, r.st.Timezone)
	keep := cur.Active && cur.Spec == spec
	req := scheduler.SeriesRequest{Habit: h, Settings: r.st, Loc: r.loc, Now: r.now, Until: r.now.Add(busyWindow), Busy: r.busy, Blocks: r.blocks}
	if keep {
		l := cur.Start.In(r.loc)
		req.Clock = &followup.Clock{Hour: l.Hour(), Minute: l.Minute()}
	}
	pl := scheduler.PlaceSeries(req)
	if pl.First.IsZero() && !keep {
		return cur, followup.Errorf(followup.EINVALID, "habits."+string(cur.Kind)+".days", "The habit %s falls on no day.", cur.Kind)
	}
	next := cur
	next.Active, next.Spec, next.Zone, next.RRule = true, spec, r.st.Timezone, h.RRule()
	var kept []followup.HabitOverride
	if keep {
		kept = r.keptOverrides(cur.Overrides)
	} else {
		next.Start, next.End = pl.First.UTC(), pl.First.Add(h.Duration()).UTC()
	}
	for _, m := range pl.Moves {
		if m.Original.Before(next.Start) || slices.ContainsFunc(kept, func(o followup.HabitOverride) bool { return o.RecurrenceID.Equal(m.Original) }) {
			continue
		}
		kept = append(kept, followup.HabitOverride{RecurrenceID: m.Original.UTC(), Start: m.Start.UTC(), End: m.End.UTC()})
	}
	slices.SortFunc(kept, func(a, b followup.HabitOverride) int { return a.RecurrenceID.Compare(b.RecurrenceID) })
	next.Overrides = kept
	return next, nil
}

// keptOverrides are the overrides a series placed again keeps: the user's
// moves and past ones, the latter for as long as past blocks stay in the feed.
func (r habitRoom) keptOverrides(overrides []followup.HabitOverride) []followup.HabitOverride {
	horizon := r.now.AddDate(0, 0, -FeedHistoryDays)
	var kept []followup.HabitOverride
	for _, o := range overrides {
		if (o.Pinned || !o.RecurrenceID.After(r.now)) && o.End.After(horizon) {
			kept = append(kept, o)
		}
	}
	return kept
}

// sameSeries reports whether two versions of a series show the same times.
func sameSeries(a, b followup.HabitSeries) bool {
	return a.Active == b.Active && a.Spec == b.Spec && a.Start.Equal(b.Start) && a.End.Equal(b.End) &&
		a.RRule == b.RRule && a.Zone == b.Zone &&
		slices.EqualFunc(a.Overrides, b.Overrides, func(x, y followup.HabitOverride) bool {
			return x.RecurrenceID.Equal(y.RecurrenceID) && x.Start.Equal(y.Start) && x.End.Equal(y.End) && x.Pinned == y.Pinned
		})
}

// habitSource prefixes the Source of a habit's occurrence, e.g.
// "habit:weekly_review".
const habitSource = "habit:"

// seriesIntervals returns the time a series takes in [from, to): its
// occurrences, with the overridden ones at their new time.
func seriesIntervals(hs followup.HabitSeries, h followup.Habit, loc *time.Location, from, to time.Time) []followup.Interval {
	if hs.Start.IsZero() {
		return nil
	}
	l := hs.Start.In(loc)
	clock := followup.Clock{Hour: l.Hour(), Minute: l.Minute()}
	if from.Before(hs.Start) {
		from = hs.Start.Add(-time.Second)
	}
	moved := make(map[int64]followup.HabitOverride, len(hs.Overrides))
	for _, o := range hs.Overrides {
		moved[o.RecurrenceID.Unix()] = o
	}
	d := hs.End.Sub(hs.Start)
	var out []followup.Interval
	for _, start := range scheduler.Occurrences(h, clock, loc, from, to) {
		if o, ok := moved[start.Unix()]; ok {
			out = append(out, followup.Interval{Start: o.Start, End: o.End, Source: habitSource + string(hs.Kind)})
			continue
		}
		out = append(out, followup.Interval{Start: start, End: start.Add(d), Source: habitSource + string(hs.Kind)})
	}
	return out
}

// habitIntervals returns the time the user's active series take in [from, to).
func habitIntervals(ctx context.Context, q followup.Queries, userID int64, loc *time.Location, from, to time.Time) ([]followup.Interval, error) {
	series, err := q.HabitSeries(ctx, userID)
	if err != nil {
		return nil, err
	}
	var out []followup.Interval
	for _, hs := range series {
		if !hs.Active {
			continue
		}
		h, err := habitOf(hs)
		if err != nil {
			return nil, err
		}
		out = append(out, seriesIntervals(hs, h, loc, from, to)...)
	}
	return out, nil
}

// nextOccurrence is the first occurrence of a series that ends after now,
// at its overridden time if it moved.
func nextOccurrence(hs followup.HabitSeries, loc *time.Location, now time.Time) time.Time {
	h, err := habitOf(hs)
	if err != nil {
		return time.Time{}
	}
	// A week and a day hold the next occurrence of a weekly habit; a
	// monthly one may need longer.
	from := now.Add(-hs.End.Sub(hs.Start))
	for _, to := range []time.Time{now.AddDate(0, 0, 8), now.AddDate(0, 2, 0)} {
		for _, iv := range seriesIntervals(hs, h, loc, from, to) {
			if iv.End.After(now) {
				return iv.Start
			}
		}
	}
	return time.Time{}
}

// habitCommitmentsSince is how far back the texts of habits look for new
// commitments: the review's week, and a margin.
const habitCommitmentsSince = 15 * 24 * time.Hour

// habitFacts returns the user's active series and the ids of the
// commitments their texts may name (none without series).
func (s *Service) habitFacts(ctx context.Context, q followup.Queries, userID int64) ([]followup.HabitSeries, []int64, error) {
	all, err := q.HabitSeries(ctx, userID)
	if err != nil {
		return nil, nil, err
	}
	var series []followup.HabitSeries
	for _, hs := range all {
		if hs.Active {
			series = append(series, hs)
		}
	}
	if len(series) == 0 {
		return nil, nil, nil
	}
	ids, err := q.HabitCommitmentIDs(ctx, userID, s.now().Add(-habitCommitmentsSince))
	return series, ids, err
}

// habitCommitments reads the commitments with these ids.
func habitCommitments(ctx context.Context, q followup.Queries, userID int64, ids []int64) ([]followup.Commitment, error) {
	byID, err := q.CommitmentsByID(ctx, userID, ids)
	if err != nil {
		return nil, err
	}
	out := make([]followup.Commitment, 0, len(ids))
	for _, id := range ids {
		if c, ok := byID[id]; ok {
			out = append(out, c)
		}
	}
	return out, nil
}

// habitEvents returns the events of the series.
func (s *Service) habitEvents(series []followup.HabitSeries, cs []followup.Commitment, st followup.Settings, loc *time.Location) []followup.Event {
	now := s.now()
	out := make([]followup.Event, 0, len(series))
	for _, hs := range series {
		out = append(out, followup.HabitEvent(hs, nextOccurrence(hs, loc, now), cs, st, loc, s.BaseURL))
	}
	return out
}

// habitEvent returns the event of one series, and the hash of what it says.
func (s *Service) habitEvent(ctx context.Context, q followup.Queries, hs followup.HabitSeries) (followup.Event, string, error) {
	st, loc, err := settings(ctx, q, hs.UserID)
	if err != nil {
		return followup.Event{}, "", err
	}
	now := s.now()
	ids, err := q.HabitCommitmentIDs(ctx, hs.UserID, now.Add(-habitCommitmentsSince))
	if err != nil {
		return followup.Event{}, "", err
	}
	cs, err := habitCommitments(ctx, q, hs.UserID, ids)
	if err != nil {
		return followup.Event{}, "", err
	}
	ev := followup.HabitEvent(hs, nextOccurrence(hs, loc, now), cs, st, loc, s.BaseURL)
	return ev, eventHash(ev), nil
}

// eventHash identifies what an event says and when it happens.
func eventHash(ev followup.Event) string {
	b, _ := json.Marshal(struct {
		E    followup.Event
		Zone string
	}{ev, ev.Zone.String()})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// enqueueHabits queues a calendar write for each changed series.
func (s *Service) enqueueHabits(ctx context.Context, q followup.Queries, userID int64, conn *followup.CalDAVConnection, changed []followup.HabitSeries) error {
	if s.Calendars == nil || conn == nil || conn.CalendarURL == "" {
		return nil
	}
	for _, hs := range changed {
		if err := q.Enqueue(ctx, followup.Job{Kind: followup.JobCalDAVHabit, UserID: userID, UID: hs.UID}); err != nil {
			return err
		}
	}
	return nil
}
