package caldav

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The window of the hostile-source tests: a planning window of 90 days.
var (
	hostileFrom = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	hostileTo   = hostileFrom.AddDate(0, 0, 90)
)

// hostile writes a VCALENDAR of events made by event(i) until it holds
// size bytes or n events, whichever comes first.
func hostile(size, n int, event func(i int) string) []byte {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//hostile//EN\r\n")
	for i := 0; i < n && b.Len() < size; i++ {
		b.WriteString("BEGIN:VEVENT\r\n")
		b.WriteString(strings.ReplaceAll(strings.TrimSpace(event(i)), "\n", "\r\n"))
		b.WriteString("\r\nEND:VEVENT\r\n")
	}
	b.WriteString("END:VCALENDAR\r\n")
	return []byte(b.String())
}

const mib = 1 << 20

// dateList writes n comma-separated DATE-TIMEs a day apart from start.
func dateTimes(start time.Time, n int) string {
	vs := make([]string, n)
	for i := range vs {
		vs[i] = start.AddDate(0, 0, i).Format("20060102T150405Z")
	}
	return strings.Join(vs, ",")
}

// hostileSources are the worst sources we could think of, by kind.
var hostileSources = []struct {
	name string
	data func() []byte
}{
	{"1000 daily since 1900 (121 KiB)", func() []byte {
		return hostile(100*mib, 1000, func(i int) string {
			return fmt.Sprintf("UID:d%d@x\nDTSTAMP:20260101T000000Z\nDTSTART:19000101T%02d%02d00Z\nDURATION:PT30M\nRRULE:FREQ=DAILY", i, i%24, i%60)
		})
	}},
	{"10 MiB daily since 1900", func() []byte {
		return hostile(10*mib, 1<<30, func(i int) string {
			return fmt.Sprintf("UID:d%d@x\nDTSTAMP:20260101T000000Z\nDTSTART:19000101T%02d%02d00Z\nDURATION:PT30M\nRRULE:FREQ=DAILY", i, i%24, i%60)
		})
	}},
	{"10 MiB one-off events in the window", func() []byte {
		return hostile(10*mib, 1<<30, func(i int) string {
			s := hostileFrom.Add(time.Duration(i%(90*24)) * time.Hour)
			return fmt.Sprintf("UID:o%d@x\nDTSTAMP:20260101T000000Z\nDTSTART:%s\nDTEND:%s\nSUMMARY:Event %d", i,
				s.Format("20060102T150405Z"), s.Add(time.Hour).Format("20060102T150405Z"), i)
		})
	}},
	{"10 MiB daily since 1900 with 2,000 EXDATEs each", func() []byte {
		ex := "EXDATE:" + dateTimes(time.Date(2020, 1, 1, 9, 0, 0, 0, time.UTC), 2000)
		return hostile(10*mib, 1<<30, func(i int) string {
			return fmt.Sprintf("UID:x%d@x\nDTSTAMP:20260101T000000Z\nDTSTART:19000101T090000Z\nDURATION:PT30M\nRRULE:FREQ=DAILY\n%s", i, ex)
		})
	}},
	{"10 MiB of RDATEs", func() []byte {
		rd := "RDATE:" + dateTimes(time.Date(2025, 9, 1, 15, 0, 0, 0, time.UTC), 2000)
		return hostile(10*mib, 1<<30, func(i int) string {
			return fmt.Sprintf("UID:r%d@x\nDTSTAMP:20260101T000000Z\nDTSTART:20250901T150000Z\nDURATION:PT30M\n%s", i, rd)
		})
	}},
	{"10 MiB COUNT rules from 1600 that cannot be counted arithmetically", func() []byte {
		return hostile(10*mib, 1<<30, func(i int) string {
			return fmt.Sprintf("UID:c%d@x\nDTSTAMP:20260101T000000Z\nDTSTART;TZID=Europe/Berlin:16000101T090000\nDURATION:PT1H\nRRULE:FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13;COUNT=%d", i, 900+i%100)
		})
	}},
	{"10 MiB daily COUNT rules from 1600 that cannot be counted arithmetically", func() []byte {
		return hostile(10*mib, 1<<30, func(i int) string {
			return fmt.Sprintf("UID:c%d@x\nDTSTAMP:20260101T000000Z\nDTSTART;TZID=Europe/Berlin:16000101T090000\nDURATION:PT1H\nRRULE:FREQ=DAILY;BYDAY=MO;COUNT=%d", i, 90000+i%100)
		})
	}},
	{"10 MiB yearly BYSETPOS rules since 1900", func() []byte {
		return hostile(10*mib, 1<<30, func(i int) string {
			return fmt.Sprintf("UID:y%d@x\nDTSTAMP:20260101T000000Z\nDTSTART;TZID=America/New_York:19000101T090000\nDURATION:PT1H\nRRULE:FREQ=YEARLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1,1,%d", i, 2+i%200)
		})
	}},
	{"10 MiB every-five-minutes rules", func() []byte {
		return hostile(10*mib, 1<<30, func(i int) string {
			return fmt.Sprintf("UID:m%d@x\nDTSTAMP:20260101T000000Z\nDTSTART:19000101T090000Z\nDURATION:PT1M\nRRULE:FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23;BYMINUTE=0,5,10,15,20,25,30,35,40,45,50,55", i)
		})
	}},
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkHostileSource reads each hostile source as FetchBusy does,
// reporting the CPU time per read (GC included) beside the wall time.
// BenchmarkHostileSource/decode-only is the same-run reference: go-ical's
// decoding of the 10 MiB one-off source, which any read of it must do.
func BenchmarkHostileSource(b *testing.B) {
	for _, src := range hostileSources {
		b.Run(src.name, func(b *testing.B) {
			data := src.data()
			b.SetBytes(int64(len(data)))
			cpu := cpuTime()
			for b.Loop() {
				lim := sourceLimits
				if _, _, err := readBusy(context.Background(), data, hostileFrom, hostileTo, &lim); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N)/1e6, "cpu-ms/op")
		})
	}
	b.Run("decode-only", func(b *testing.B) {
		data := hostileSources[2].data()
		b.SetBytes(int64(len(data)))
		cpu := cpuTime()
		for b.Loop() {
			if _, err := decodeCalendar(context.Background(), data); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N)/1e6, "cpu-ms/op")
	})
}
