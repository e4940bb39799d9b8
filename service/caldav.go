package service

import (
	"context"
	"net/url"
	"slices"
	"strings"

	"github.com/followup/followup"
)

// CalendarName is the name of the calendar the service writes blocks to.
const CalendarName = "Follow-ups"

// ConnectCalDAV checks an account by discovery, picks or creates the
// calendar for blocks, marks the busy calendars and stores the connection
// with the password sealed. The first sync is queued in the same transaction.
// Errors: EINVALID naming the field, EREMOTE when the server refuses.
func (s *Service) ConnectCalDAV(ctx context.Context, userID int64, in followup.CalDAVInput) (followup.CalDAVConnection, error) {
	ctx = followup.ForUser(ctx, userID)
	if s.Calendars == nil {
		return followup.CalDAVConnection{}, followup.Errorf(followup.EINVALID, "url", "CalDAV is not enabled on this server.")
	}
	in.URL = strings.TrimSpace(in.URL)
	if in.URL == "" {
		return followup.CalDAVConnection{}, followup.Errorf(followup.EINVALID, "url", "url is required: your CalDAV server's address, e.g. https://cloud.example.com/remote.php/dav.")
	}
	if len(in.URL) > 2000 || len(in.Username) > 500 || len(in.Password) > 1000 || len(in.Calendar) > 2000 {
		return followup.CalDAVConnection{}, followup.Errorf(followup.EINVALID, "url", "A field is too long.")
	}
	if u, err := url.Parse(withScheme(in.URL)); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return followup.CalDAVConnection{}, followup.Errorf(followup.EINVALID, "url", "url %q is not an http or https address.", in.URL)
	}
	for i, raw := range in.BusyICS {
		// The message leaves the address out: it is a secret.
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "webcal") {
			return followup.CalDAVConnection{}, followup.Errorf(followup.EINVALID, "busy_ics", "busy_ics entry %d is not an http, https or webcal address.", i+1)
		}
	}
	// No sync may write with the old settings while they change: work in
	// this process stops at once, work elsewhere ends first.
	s.stopWork(userID)
	ctx, unlock, err := s.lockUser(ctx, userID, LeaseWait)
	if err != nil {
		return followup.CalDAVConnection{}, err
	}
	defer unlock()
	prev, err := s.Store.CalDAV(ctx, userID)
	if err != nil && followup.ErrorCode(err) != followup.ENOTFOUND {
		return followup.CalDAVConnection{}, err
	}
	if in.Password == "" && prev.SealedPassword != "" && prev.URL == in.URL && prev.Username == in.Username {
		// Changing calendars keeps the stored password.
		if in.Password, err = s.open(prev.SealedPassword); err != nil {
			return followup.CalDAVConnection{}, err
		}
	}
	// Addresses from before a change of key cannot be kept: the user sends them again.
	prevICS, _ := s.openBusyICS(prev.SealedBusyICS)
	if in.BusyICS == nil {
		// Not sent (the web page's form, `caldav connect`): the stored ones stay.
		for _, p := range prevICS {
			in.BusyICS = append(in.BusyICS, p.url)
		}
	}
	sealedICS, err := s.sealBusyICS(in.BusyICS, prevICS)
	if err != nil {
		return followup.CalDAVConnection{}, err
	}
	acct := followup.CalDAVAccount{URL: withScheme(in.URL), Username: in.Username, Password: in.Password}
	disc, err := s.Calendars.Discover(ctx, acct)
	if err != nil {
		return followup.CalDAVConnection{}, err
	}
	acct.Origins = orNone(disc.Origins)
	now := s.now()
	conn := followup.CalDAVConnection{
		UserID: userID, URL: in.URL, Username: in.Username, Endpoint: disc.Endpoint, HomeSet: disc.HomeSet,
		Calendars: disc.Calendars, CreatedAt: now, UpdatedAt: now, SealedBusyICS: sealedICS, Origins: acct.Origins,
	}
	if prev.UserID != 0 {
		conn.CreatedAt = prev.CreatedAt
	}
	if conn.SealedPassword, err = s.seal(in.Password); err != nil {
		return followup.CalDAVConnection{}, err
	}

	// The calendar for blocks: the one named, else "Follow-ups", else a new one.
	var target *followup.Calendar
	if in.Calendar != "" {
		target = findCalendar(disc.Calendars, in.Calendar)
		if target == nil {
			return followup.CalDAVConnection{}, followup.Errorf(followup.EINVALID, "calendar", "No calendar %q on this account; GET /api/v1/caldav lists the calendars found.", in.Calendar)
		}
		if !target.SupportsEvents() || target.ReadOnly {
			return followup.CalDAVConnection{}, followup.Errorf(followup.EINVALID, "calendar", "Calendar %q cannot hold events written by followup.", target.Name)
		}
	} else if target = findCalendar(disc.Calendars, CalendarName); target == nil {
		created, err := s.Calendars.CreateCalendar(ctx, acct, disc.HomeSet, CalendarName)
		if err != nil {
			s.log().InfoContext(ctx, "caldav mkcalendar refused", "user_id", userID, "error", followup.ErrorMessage(err))
			conn.LastError = "The server did not let followup create a \"Follow-ups\" calendar; choose one with \"calendar\"."
		} else {
			conn.Calendars = append(conn.Calendars, created)
			target = &conn.Calendars[len(conn.Calendars)-1]
		}
	}
	if target != nil {
		conn.CalendarURL = target.URL
	}

	// Busy calendars: the ones named, else every other calendar with events.
	if in.BusyCalendars == nil {
		for _, c := range conn.Calendars {
			if c.URL != conn.CalendarURL && c.SupportsEvents() {
				conn.BusyCalendars = append(conn.BusyCalendars, c.URL)
			}
		}
	} else {
		for _, name := range in.BusyCalendars {
			c := findCalendar(conn.Calendars, name)
			if c == nil {
				return followup.CalDAVConnection{}, followup.Errorf(followup.EINVALID, "busy_calendars", "No calendar %q on this account.", name)
			}
			if !slices.Contains(conn.BusyCalendars, c.URL) {
				conn.BusyCalendars = append(conn.BusyCalendars, c.URL)
			}
		}
	}
	keep := append(append([]string{conn.CalendarURL}, conn.BusyCalendars...), conn.SealedBusyICS...)
	moved := prev.CalendarURL != "" && prev.CalendarURL != conn.CalendarURL
	if moved {
		s.clearCalendar(ctx, userID, prev)
	}
	err = s.Store.InTx(ctx, func(q followup.Queries) error {
		if prev.CalendarURL != conn.CalendarURL {
			if err := q.ResetRemote(ctx, userID); err != nil {
				return err
			}
			// Every source is read afresh, the old calendar's state included.
			if err := q.DeleteBusySources(ctx, userID, nil); err != nil {
				return err
			}
		}
		if err := q.PutCalDAV(ctx, conn); err != nil {
			return err
		}
		if err := q.DeleteBusySources(ctx, userID, keep); err != nil {
			return err
		}
		return q.Enqueue(ctx, followup.Job{Kind: followup.JobSyncUser, UserID: userID})
	})
	if err != nil {
		return followup.CalDAVConnection{}, err
	}
	s.log().InfoContext(ctx, "caldav connected", "user_id", userID, "calendars", len(conn.Calendars), "busy", len(conn.BusyCalendars))
	conn.BusyICS = s.maskBusyICS(conn.SealedBusyICS)
	return conn, nil
}

// clearCalendar removes the blocks followup wrote to the calendar a user
// leaves, so that they do not stay there twice. It is best effort: a block
// it cannot remove is logged, and stays in the old calendar.
func (s *Service) clearCalendar(ctx context.Context, userID int64, prev followup.CalDAVConnection) {
	pw, err := s.open(prev.SealedPassword)
	if err != nil {
		return
	}
	acct := calDAVAccount(prev, pw)
	steps, err := s.Store.SyncSteps(ctx, userID)
	if err != nil {
		return
	}
	for _, p := range steps {
		if p.RemoteETag == "" {
			continue
		}
		if err := s.Calendars.DeleteEvent(ctx, acct, prev.CalendarURL, p.UID, ""); err != nil {
			s.log().WarnContext(ctx, "block left in the old calendar", "user_id", userID, "uid", p.UID, "error", followup.ErrorMessage(err))
		}
	}
	series, err := s.Store.HabitSeries(ctx, userID)
	if err != nil {
		return
	}
	for _, hs := range series {
		if hs.RemoteETag == "" {
			continue
		}
		if err := s.Calendars.DeleteEvent(ctx, acct, prev.CalendarURL, hs.UID, ""); err != nil {
			s.log().WarnContext(ctx, "habit left in the old calendar", "user_id", userID, "uid", hs.UID, "error", followup.ErrorMessage(err))
		}
	}
}

// withScheme turns a bare host into an https URL.
func withScheme(raw string) string {
	if !strings.Contains(raw, "://") {
		return "https://" + raw
	}
	return raw
}

// findCalendar finds a calendar by URL, path or name (case-insensitive).
func findCalendar(cals []followup.Calendar, key string) *followup.Calendar {
	key = strings.TrimSpace(key)
	for i, c := range cals {
		if c.URL == key || strings.TrimRight(c.URL, "/") == strings.TrimRight(key, "/") {
			return &cals[i]
		}
		if u, err := url.Parse(c.URL); err == nil && strings.TrimRight(u.Path, "/") == strings.TrimRight(key, "/") {
			return &cals[i]
		}
	}
	for i, c := range cals {
		if strings.EqualFold(c.Name, key) {
			return &cals[i]
		}
	}
	return nil
}

// CalDAV returns the user's connection, its busy_ics addresses masked.
// Errors: ENOTFOUND when none.
func (s *Service) CalDAV(ctx context.Context, userID int64) (followup.CalDAVConnection, error) {
	conn, err := s.Store.CalDAV(ctx, userID)
	if err != nil {
		return conn, err
	}
	conn.BusyICS = s.maskBusyICS(conn.SealedBusyICS)
	return conn, nil
}

// orNone returns s, or an empty slice for nil: recorded, and none.
func orNone(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// DisconnectCalDAV forgets the user's connection. Objects already written
// stay on the server. It waits for no calendar work: work on the account in
// this process is cancelled, and work anywhere drops its results, as it
// checks before recording each that its connection still stands.
// Errors: ENOTFOUND when none.
func (s *Service) DisconnectCalDAV(ctx context.Context, userID int64) error {
	ctx = followup.ForUser(ctx, userID)
	s.stopWork(userID)
	err := s.Store.InTx(ctx, func(q followup.Queries) error {
		if err := q.DeleteCalDAV(ctx, userID); err != nil {
			return err
		}
		if err := q.ResetRemote(ctx, userID); err != nil {
			return err
		}
		// Busy time from those calendars no longer applies.
		return s.replan(ctx, q, userID, s.now())
	})
	// Work that started meanwhile read the connection still there.
	s.stopWork(userID)
	return err
}

func (s *Service) seal(secret string) (string, error) {
	if s.Sealer == nil {
		return "", followup.Errorf(followup.EINTERNAL, "", "No key to encrypt passwords with.")
	}
	return s.Sealer.Seal(secret)
}

func (s *Service) open(sealed string) (string, error) {
	if s.Sealer == nil {
		return "", followup.Errorf(followup.EINTERNAL, "", "No key to decrypt passwords with.")
	}
	return s.Sealer.Open(sealed)
}
