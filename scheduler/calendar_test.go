package scheduler_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/followup/followup/internal/plancheck"
	"github.com/followup/followup/scheduler"
)

// FuzzCalendar places the tasks of random scenarios in a Calendar a few at
// a time, as creates do, and sometimes frees a block, as a let-go does.
// After each step the layout holds (no overlap with busy time, fixed blocks
// or another block; working hours; Late flags), and while no step was
// capped every rule of plancheck holds too.
func FuzzCalendar(f *testing.F) {
	zones := seedScenarios(f)
	f.Fuzz(func(t *testing.T, seed uint64) {
		req := randomRequest(seed, zones)
		r := rand.New(rand.NewPCG(seed, 7))
		cal := scheduler.NewCalendar(req.Settings, req.Loc, req.Busy, req.Blocks, nil)
		placed := map[int]scheduler.Placement{}
		var tasks []scheduler.Task
		capped := false
		check := func(step string) {
			t.Helper()
			sub := req
			sub.Tasks = nil
			var pls []scheduler.Placement
			for i, task := range tasks {
				task.Key = i
				sub.Tasks = append(sub.Tasks, task)
				pl := placed[i+1]
				pl.Key = i
				pls = append(pls, pl)
			}
			for _, v := range plancheck.Check(sub, pls) {
				layout := strings.Contains(v, "overlaps") || strings.Contains(v, "outside working hours") || strings.Contains(v, "but Late is")
				if layout || !capped {
					t.Errorf("seed %d, %s: %s", seed, step, v)
				}
			}
		}
		for i := 0; i < len(req.Tasks); {
			n := min(1+r.IntN(3), len(req.Tasks)-i)
			batch := make([]scheduler.Task, n)
			for j := range batch {
				batch[j] = req.Tasks[i+j]
				batch[j].Key = i + j + 1 // ids from 1
			}
			tasks = append(tasks, req.Tasks[i:i+n]...)
			i += n
			pls, moves, c := cal.Place(req.Now, nil, batch)
			capped = capped || c
			for _, pl := range pls {
				placed[pl.Key] = pl
			}
			for _, m := range moves {
				placed[int(m.ID)] = m.Placement
			}
			check("place")
			if r.IntN(4) == 0 && len(placed) > 0 {
				id := 1 + r.IntN(len(tasks))
				if !placed[id].OK || !placed[id].Start.After(req.Now) {
					continue
				}
				moves, c := cal.Free(req.Now, []int64{int64(id)})
				capped = capped || c
				// A freed task leaves the plan: it counts as not placed.
				placed[id] = scheduler.Placement{}
				for _, m := range moves {
					placed[int(m.ID)] = m.Placement
				}
				check("free")
			}
		}
	})
}
