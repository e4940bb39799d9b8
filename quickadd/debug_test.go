package quickadd_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/followup/followup"
	"github.com/followup/followup/duetext"
	"github.com/followup/followup/quickadd"
)

func TestDebug(t *testing.T) {
	loc, _ := time.LoadLocation("America/New_York")
	cx := quickadd.Context{Now: time.Date(2026, 11, 23, 15, 0, 0, 0, loc), Loc: loc, EndOfDay: followup.Clock{Hour: 17}, ParseDue: duetext.Parse}
	for _, l := range []string{
		"Jane Doe (Acme) — send pricing deck by Friday * met at SaaStr",
		"Bob: he'll intro me to Sam next week",
		"Bob will intro me to Sam next week",
		"Li Wei from Globex - I'll send the case study tomorrow 3pm, li@globex.cn +86 10 1234 5678 (starred)",
		"Anna, Siemens: waiting for the signed NDA by Dec 3 @ Web Summit",
		"Tom: send deck by Friday and call on Monday",
		"send the deck",
		"",
	} {
		r, err := quickadd.Parse(l, cx)
		b, _ := json.MarshalIndent(r.Parts, "", " ")
		fmt.Printf("%s\n%v\n%s\n%+v\n\n", l, err, b, r.Commitment)
	}
}
