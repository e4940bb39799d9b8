"""Expand the recurring events of an iCalendar feed, independently of followup.

Reads the feed on stdin; argv[1] and argv[2] bound the window (UTC,
YYYYMMDDTHHMMSSZ). Zones come from the feed's own VTIMEZONE components
(icalendar's Timezone.to_tz), never from a zone database; recurrences are
expanded by dateutil.rrule in local wall-clock time, then localized, as
RFC 5545 §3.3.10 says. Overridden occurrences (RECURRENCE-ID) replace the
ones they name. Prints JSON: {uid: [[start, end], ...]} in UTC, sorted.
"""
import datetime
import json
import sys

import pytz
from dateutil import rrule
from icalendar import Calendar

FMT = "%Y%m%dT%H%M%S"


def parse_utc(s):
    return pytz.utc.localize(datetime.datetime.strptime(s, FMT + "Z"))


def local_naive(prop):
    """The wall-clock value of a DATE-TIME property, and its TZID."""
    raw = prop.to_ical().decode()
    tzid = prop.params.get("TZID")
    if raw.endswith("Z"):
        return datetime.datetime.strptime(raw, FMT + "Z"), None
    return datetime.datetime.strptime(raw, FMT), tzid


def main():
    cal = Calendar.from_ical(sys.stdin.buffer.read())
    start, end = parse_utc(sys.argv[1]), parse_utc(sys.argv[2])
    zones = {str(tz["TZID"]): tz.to_tz() for tz in cal.walk("VTIMEZONE")}

    def to_utc(naive, tzid):
        if tzid is None:
            return pytz.utc.localize(naive)
        return zones[tzid].localize(naive).astimezone(pytz.utc)

    overrides = {}
    for ev in cal.walk("VEVENT"):
        if "RECURRENCE-ID" in ev:
            rid, rtz = local_naive(ev["RECURRENCE-ID"])
            s, stz = local_naive(ev["DTSTART"])
            e, etz = local_naive(ev["DTEND"])
            overrides[(str(ev["UID"]), to_utc(rid, rtz))] = (to_utc(s, stz), to_utc(e, etz))

    out = {}
    for ev in cal.walk("VEVENT"):
        if "RRULE" not in ev:
            continue
        uid = str(ev["UID"])
        s, tzid = local_naive(ev["DTSTART"])
        e, _ = local_naive(ev["DTEND"])
        length = e - s
        rule = rrule.rrulestr(ev["RRULE"].to_ical().decode(), dtstart=s)
        got = []
        for occ in rule:
            if to_utc(occ, tzid) >= end + datetime.timedelta(days=2):
                break
            os_, oe = to_utc(occ, tzid), to_utc(occ + length, tzid)
            os_, oe = overrides.get((uid, os_), (os_, oe))
            if start <= os_ < end:
                got.append([os_.strftime(FMT + "Z"), oe.strftime(FMT + "Z")])
        out[uid] = sorted(got)
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


main()
