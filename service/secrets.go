package service

import (
	"context"
	"slices"
	"strings"

	"github.com/followup/followup"
)

// A busy_ics address is a secret, like Google's secret address: anyone who
// has it reads the calendar. The store keeps it sealed, as it keeps the
// CalDAV password, and answers, logs and error messages show it masked.

// busyICS is one plain ICS busy source of an opened connection.
type busyICS struct {
	// key names the source's stored busy state: its sealed address,
	// so that the address is never stored in clear.
	key string
	url string
}

// maskedBusyICS is what answers show for an address that cannot be
// opened with the current key.
const maskedBusyICS = "(sealed with another key)"

// isPlainAddress reports whether a stored busy_ics value is an address in
// clear, as versions before they were sealed stored it (sealed values
// start with the sealer's version prefix, never with a URL scheme).
func isPlainAddress(v string) bool {
	low := strings.ToLower(v)
	for _, p := range []string{"http://", "https://", "webcal://", "webcals://"} {
		if strings.HasPrefix(low, p) {
			return true
		}
	}
	return false
}

// openBusyICS opens the stored addresses. A plain one, stored before they
// were sealed, is taken as it is; SealStoredSecrets seals it.
func (s *Service) openBusyICS(stored []string) ([]busyICS, error) {
	out := make([]busyICS, 0, len(stored))
	for _, v := range stored {
		if isPlainAddress(v) {
			out = append(out, busyICS{key: v, url: v})
			continue
		}
		addr, err := s.open(v)
		if err != nil {
			return nil, err
		}
		out = append(out, busyICS{key: v, url: addr})
	}
	return out, nil
}

// maskBusyICS returns the stored addresses masked for an answer.
func (s *Service) maskBusyICS(stored []string) []string {
	out := make([]string, 0, len(stored))
	for _, v := range stored {
		addr := v
		if !isPlainAddress(v) {
			var err error
			if addr, err = s.open(v); err != nil {
				out = append(out, maskedBusyICS)
				continue
			}
		}
		out = append(out, followup.MaskAddress(addr))
	}
	return out
}

// sealBusyICS returns the sealed forms of the addresses a user sent. An
// address the connection already holds keeps its sealed value, and so its
// busy state; so does one sent back masked, as answers show it, each
// masked entry standing for the next stored address masked alike. A masked
// address the connection does not hold, or one that stands for one of
// several addresses masked alike when not all of them are sent back, is
// EINVALID.
func (s *Service) sealBusyICS(in []string, prev []busyICS) ([]string, error) {
	out := make([]string, 0, len(in))
	used := make([]bool, len(prev))
	for i, raw := range in {
		raw = strings.TrimSpace(raw)
		j := slices.IndexFunc(prev, func(p busyICS) bool { return p.url == raw })
		if j < 0 && strings.Contains(raw, "…") {
			var err error
			if j, err = maskedEntry(raw, i, in, prev, used); err != nil {
				return nil, err
			}
		}
		switch {
		case j >= 0 && !isPlainAddress(prev[j].key):
			used[j] = true
			out = append(out, prev[j].key)
			continue
		case j >= 0:
			used[j] = true
			raw = prev[j].url // a plain stored address, sent back masked
		}
		sealed, err := s.seal(raw)
		if err != nil {
			return nil, err
		}
		out = append(out, sealed)
	}
	return out, nil
}

// maskedEntry finds the stored address that entry i, sent back masked,
// stands for: the first one masked alike and not yet taken. When several
// are masked alike, all of them must be sent back, or which one is meant
// is unknown.
func maskedEntry(masked string, i int, in []string, prev []busyICS, used []bool) (int, error) {
	alike := func(p busyICS) bool { return followup.MaskAddress(p.url) == masked }
	j := -1
	for k, p := range prev {
		if !used[k] && alike(p) {
			j = k
			break
		}
	}
	if j < 0 {
		return -1, followup.Errorf(followup.EINVALID, "busy_ics", "busy_ics entry %d is a masked address this connection does not have; send the full address.", i+1)
	}
	stored := 0
	for _, p := range prev {
		if alike(p) {
			stored++
		}
	}
	sent := 0
	for _, raw := range in {
		if strings.TrimSpace(raw) == masked {
			sent++
		}
	}
	if stored > 1 && sent != stored {
		return -1, followup.Errorf(followup.EINVALID, "busy_ics", "busy_ics entry %d is masked like %d of this connection's addresses; send the full address of each one to keep.", i+1, stored)
	}
	return j, nil
}

// SealStoredSecrets seals the busy_ics addresses that versions before they
// were sealed stored in clear, and moves their busy state to the sealed
// key; cmd calls it at start, after the migrations, since sealing needs
// the key that SQL does not have. It returns how many connections changed.
func (s *Service) SealStoredSecrets(ctx context.Context) (int, error) {
	ids, err := s.Store.CalDAVUsers(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		changed, err := s.sealStoredBusyICS(ctx, id)
		if err != nil {
			return n, err
		}
		if changed {
			n++
		}
	}
	return n, nil
}

// sealStoredBusyICS seals one connection's plain busy_ics addresses and
// re-keys their busy state, in one transaction; a busy state keyed by a
// plain address it no longer holds is dropped.
func (s *Service) sealStoredBusyICS(ctx context.Context, userID int64) (bool, error) {
	ctx = followup.ForUser(ctx, userID) // ordered with the user's other writes
	changed := false
	err := s.Store.InTx(ctx, func(q followup.Queries) error {
		changed = false // fn may run again
		conn, err := q.CalDAV(ctx, userID)
		if followup.ErrorCode(err) == followup.ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		rekey := map[string]string{}
		for i, v := range conn.SealedBusyICS {
			if !isPlainAddress(v) {
				continue
			}
			if conn.SealedBusyICS[i], err = s.seal(v); err != nil {
				return err
			}
			rekey[v] = conn.SealedBusyICS[i]
		}
		if len(rekey) > 0 {
			changed = true
			if err := q.PutCalDAV(ctx, conn); err != nil {
				return err
			}
		}
		return rekeyBusyStates(ctx, q, userID, rekey)
	})
	return changed, err
}

// rekeyBusyStates moves the busy state of each plain ICS address to its
// sealed key and drops any other state keyed by a plain address.
func rekeyBusyStates(ctx context.Context, q followup.Queries, userID int64, rekey map[string]string) error {
	srcs, err := q.BusySources(ctx, userID)
	if err != nil {
		return err
	}
	keep, plain := []string{}, false
	for _, b := range srcs {
		if b.Kind != "ics" || !isPlainAddress(b.URL) {
			keep = append(keep, b.URL)
			continue
		}
		plain = true
		key, ok := rekey[b.URL]
		if !ok {
			continue
		}
		b.URL = key
		if err := q.PutBusySource(ctx, b); err != nil {
			return err
		}
		keep = append(keep, key)
	}
	if !plain {
		return nil
	}
	return q.DeleteBusySources(ctx, userID, keep)
}

// calDAVAccount returns how to reach the connection's server with its
// opened password. A connection made before the origins its credentials
// may go to were recorded trusts the https hosts of the home set and
// calendars that discovery found from an https address, as it did then.
func calDAVAccount(conn followup.CalDAVConnection, password string) followup.CalDAVAccount {
	acct := followup.CalDAVAccount{URL: withScheme(conn.URL), Username: conn.Username, Password: password, Origins: conn.Origins}
	if conn.Origins != nil || !strings.HasPrefix(strings.ToLower(acct.URL), "https://") {
		return acct
	}
	acct.Origins = []string{}
	for _, u := range append([]string{conn.HomeSet, conn.CalendarURL}, calendarURLs(conn.Calendars)...) {
		if strings.HasPrefix(strings.ToLower(u), "https://") {
			acct.Origins = append(acct.Origins, u)
		}
	}
	return acct
}

func calendarURLs(cals []followup.Calendar) []string {
	out := make([]string, 0, len(cals))
	for _, c := range cals {
		out = append(out, c.URL)
	}
	return out
}
