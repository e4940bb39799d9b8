package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCLIAdd logs lines with `followup add` on the test clock (Tuesday
// 2026-11-17, 09:30 in Berlin) and checks the printed reading and steps.
func TestCLIAdd(t *testing.T) {
	dir := t.TempDir()
	cli(t, dir, "user", "add", "--email", "a@example.com", "--password", "longenough", "--timezone", "Europe/Berlin")
	out := cli(t, dir, "add", "--email", "a@example.com", "Jane Doe (Acme) — send pricing deck by Friday * met at SaaStr")
	for _, want := range []string{
		`logged commitment 1: Send pricing deck — Jane Doe`,
		`contact\.name +Jane Doe +"Jane Doe"`,
		`contact\.company +Acme +"\(Acme\)"`,
		`promise +Send pricing deck +"send pricing deck"`,
		`due_text +by Friday → Fri Nov 20 17:00 CET +"by Friday"`,
		`priority +true +"\*"`,
		`met_where +SaaStr +"met at SaaStr"`,
		`direction +mine +\(default\)`,
		`planned steps:\n  refresher +Tue Nov 17 \d\d:\d\d CET–\d\d:\d\d`,
		`\n  deliver `,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
	// The line may come before the flags, and the contact from a vCard.
	card := filepath.Join(dir, "sam.vcf")
	if err := os.WriteFile(card, []byte("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Sam Lee\r\nORG:Globex\r\nEMAIL:sam@globex.example\r\nEND:VCARD\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out = cli(t, dir, "add", "he'll send the contract", "--email", "a@example.com", "--vcard", card)
	for _, want := range []string{
		`logged commitment 2: Send the contract — Sam Lee`,
		`direction +theirs +"he'll"`,
		`contact\.email +sam@globex\.example +\(vcard\)`,
		`\n  chase `,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"add", "Jane — send the deck"}, "--email"},
		{[]string{"add", "--email", "a@example.com"}, "text: The line is empty"},
		{[]string{"add", "--email", "a@example.com", "send the deck"}, "text: Who this is about"},
		{[]string{"add", "--email", "a@example.com", "--vcard", filepath.Join(dir, "missing.vcf"), "send it"}, "vcard"},
		{[]string{"add", "--email", "a@example.com", "--vcard", filepath.Join(dir, "followup.db"), "send it"}, "vcard: The vCard is not UTF-8"},
	} {
		err := run(context.Background(), tc.args, sys{stdout: io.Discard, stderr: io.Discard, getenv: env(dir, nil), now: clockFor(dir)})
		if err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%q: error %v, want one saying %q", tc.args, err, tc.says)
		}
	}
}
