package service_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/followup/followup"
)

// TestUsers checks accounts, passwords and API tokens.
func TestUsers(t *testing.T) {
	h := newHarness(t, utc(11, 23, 20, 0))
	u := h.user("ann@example.com", "Europe/Berlin")
	st, err := h.svc.Settings(h.ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(followup.DefaultSettings("Europe/Berlin"), st); diff != "" {
		t.Errorf("settings of a new user (-want +got):\n%s", diff)
	}

	bad := []struct {
		name, email, password, zone, code, field string
	}{
		{"taken email", "ann@example.com", "correct horse battery", "UTC", followup.ECONFLICT, "email"},
		{"bad email", "ann at example", "correct horse battery", "UTC", followup.EINVALID, "email"},
		{"short password", "bob@example.com", "short", "UTC", followup.EINVALID, "password"},
		{"unknown zone", "bob@example.com", "correct horse battery", "Mars/Base", followup.EINVALID, "timezone"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.svc.CreateUser(h.ctx, tt.email, tt.password, tt.zone)
			errCode(t, err, tt.code, tt.field)
		})
	}

	if got, err := h.svc.CheckPassword(h.ctx, " ann@example.com ", "correct horse battery"); err != nil || got.ID != u.ID {
		t.Errorf("CheckPassword = %+v, %v; want user %d", got, err, u.ID)
	}
	for _, c := range []struct{ email, pw string }{{"ann@example.com", "wrong horse"}, {"nobody@example.com", "correct horse battery"}} {
		_, err := h.svc.CheckPassword(h.ctx, c.email, c.pw)
		errCode(t, err, followup.EUNAUTHORIZED, "")
	}

	token, err := h.svc.CreateToken(h.ctx, "ann@example.com", "cli")
	if err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	if got, err := h.svc.Authenticate(h.ctx, token); err != nil || got.ID != u.ID {
		t.Errorf("Authenticate = %+v, %v; want user %d", got, err, u.ID)
	}
	for _, bad := range []string{"", token[3:], token + "x", "fu_" + token[4:]} {
		_, err := h.svc.Authenticate(h.ctx, bad)
		errCode(t, err, followup.EUNAUTHORIZED, "")
	}
	_, err = h.svc.CreateToken(h.ctx, "nobody@example.com", "cli")
	errCode(t, err, followup.ENOTFOUND, "")
}

// TestList checks the status filter and paging of List.
func TestList(t *testing.T) {
	ny := zone(t, "America/New_York")
	logged := time.Date(2026, 11, 23, 15, 0, 0, 0, ny).UTC()
	h := newHarness(t, logged)
	u := h.user("list@example.com", "America/New_York")
	var ids []int64
	for i, name := range []string{"Ann", "Bob", "Cid"} {
		h.clock.Set(logged.Add(time.Duration(i) * time.Minute))
		ids = append(ids, h.create(u.ID, followup.NewCommitment{Contact: followup.Contact{Name: name}, Promise: "Send the deck"}).ID)
	}
	h.act(u.ID, ids[1], followup.ActionLetGo)

	listIDs := func(f followup.CommitmentFilter) []int64 {
		t.Helper()
		cs, err := h.svc.List(h.ctx, u.ID, f)
		if err != nil {
			t.Fatalf("List(%+v): %v", f, err)
		}
		out := []int64{}
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	tests := []struct {
		f    followup.CommitmentFilter
		want []int64
	}{
		{followup.CommitmentFilter{}, []int64{ids[2], ids[1], ids[0]}},
		{followup.CommitmentFilter{Status: followup.StatusOpen}, []int64{ids[2], ids[0]}},
		{followup.CommitmentFilter{Status: followup.StatusLetGo}, []int64{ids[1]}},
		{followup.CommitmentFilter{Status: followup.StatusDone}, []int64{}},
		{followup.CommitmentFilter{Limit: 1, Offset: 1}, []int64{ids[1]}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, listIDs(tt.f)); diff != "" {
			t.Errorf("List(%+v) ids (-want +got):\n%s", tt.f, diff)
		}
	}
	for _, f := range []struct {
		f     followup.CommitmentFilter
		field string
	}{
		{followup.CommitmentFilter{Status: "lost"}, "status"},
		{followup.CommitmentFilter{Limit: 501}, "limit"},
		{followup.CommitmentFilter{Limit: -1}, "limit"},
		{followup.CommitmentFilter{Offset: -1}, "offset"},
	} {
		_, err := h.svc.List(h.ctx, u.ID, f.f)
		errCode(t, err, followup.EINVALID, f.field)
	}
}
