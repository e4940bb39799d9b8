package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/service"
)

// quickAdd logs the line for the user, with the contact of a vCard file if
// one is named, and prints how the line was read and the planned steps.
func quickAdd(ctx context.Context, svc *service.Service, userID int64, line, vcardFile string, w io.Writer) error {
	in := followup.QuickInput{Text: line}
	if vcardFile != "" {
		data, err := readVCard(vcardFile)
		if err != nil {
			return err
		}
		in.VCard = data
	}
	res, err := svc.QuickAdd(ctx, userID, in)
	if err != nil {
		return cliError(err)
	}
	st, err := svc.Settings(ctx, userID)
	if err != nil {
		return err
	}
	loc, err := st.Location()
	if err != nil {
		return err
	}
	return printQuick(w, res, loc)
}

// readVCard reads a vCard file of at most followup.MaxVCardLen bytes.
func readVCard(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", fmt.Errorf("vcard: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, followup.MaxVCardLen+1))
	if err != nil {
		return "", fmt.Errorf("vcard: %w", err)
	}
	return string(data), nil
}

// stepTime is how the CLI shows a step's time, in the user's zone.
const stepTime = "Mon Jan 2 15:04 MST"

// printQuick writes the reading, part by part, then the steps as planned.
func printQuick(w io.Writer, res followup.QuickResult, loc *time.Location) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "logged commitment %d: %s — %s\n\nread as:\n", res.ID, res.Promise, res.Contact.Name)
	for _, p := range res.Reading.Parts {
		from := fmt.Sprintf("%q", p.Text)
		if p.Source != followup.FromLine {
			from = "(" + string(p.Source) + ")"
		}
		value := p.Value
		if p.Field == "due_text" && res.Reading.Due != nil {
			value += " → " + res.Reading.Due.In(loc).Format(stepTime)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", p.Field, value, from)
	}
	fmt.Fprintf(tw, "\nplanned steps:\n")
	for _, st := range res.Steps {
		when := st.Start.In(loc).Format(stepTime)
		if st.End.After(st.Start) {
			when += "–" + st.End.In(loc).Format("15:04")
		}
		var flags []string
		if st.Late {
			flags = append(flags, "late")
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", st.Kind, when, strings.Join(flags, " "))
	}
	for _, warning := range res.Warnings {
		fmt.Fprintf(tw, "\nwarning: %s\n", warning)
	}
	return tw.Flush()
}
