package caldav

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// XML namespaces.
const (
	nsDAV    = "DAV:"
	nsCalDAV = "urn:ietf:params:xml:ns:caldav"
	nsCS     = "http://calendarserver.org/ns/"
)

// multistatus is a 207 Multi-Status body (RFC 4918 §14.16) with the
// sync-token of a sync-collection report (RFC 6578 §6.4).
type multistatus struct {
	XMLName   xml.Name   `xml:"DAV: multistatus"`
	Responses []response `xml:"DAV: response"`
	SyncToken string     `xml:"DAV: sync-token"`
}

// response is one DAV:response (RFC 4918 §14.24).
type response struct {
	Hrefs     []string   `xml:"DAV: href"`
	Status    string     `xml:"DAV: status"`
	PropStats []propstat `xml:"DAV: propstat"`
}

// propstat groups properties by status (RFC 4918 §14.22).
type propstat struct {
	Prop   prop   `xml:"DAV: prop"`
	Status string `xml:"DAV: status"`
}

// prop holds the properties this client asks for. A property present in a
// non-2xx propstat is ignored (see response.props).
type prop struct {
	ResourceType *names   `xml:"DAV: resourcetype"`
	DisplayName  *string  `xml:"DAV: displayname"`
	Description  *string  `xml:"urn:ietf:params:xml:ns:caldav calendar-description"`
	Principal    *hrefs   `xml:"DAV: current-user-principal"`
	HomeSet      *hrefs   `xml:"urn:ietf:params:xml:ns:caldav calendar-home-set"`
	Components   *compSet `xml:"urn:ietf:params:xml:ns:caldav supported-calendar-component-set"`
	Privileges   *names   `xml:"DAV: current-user-privilege-set"`
	Reports      *names   `xml:"DAV: supported-report-set"`
	ETag         *string  `xml:"DAV: getetag"`
	CTag         *string  `xml:"http://calendarserver.org/ns/ getctag"`
	SyncToken    *string  `xml:"DAV: sync-token"`
	CalendarData *string  `xml:"urn:ietf:params:xml:ns:caldav calendar-data"`
}

// hrefs is a property whose value is one or more DAV:href elements.
type hrefs struct {
	Hrefs []string `xml:"DAV: href"`
}

// compSet is CALDAV:supported-calendar-component-set (RFC 4791 §5.2.3).
type compSet struct {
	Comps []struct {
		Name string `xml:"name,attr"`
	} `xml:"urn:ietf:params:xml:ns:caldav comp"`
}

// names collects the names of every element below a property, at any depth.
// It reads DAV:resourcetype, DAV:current-user-privilege-set (RFC 3744 §5.4)
// and DAV:supported-report-set (RFC 3253 §3.1.5) alike, and tolerates
// Xandikos's supported-report without the DAV:report wrapper.
type names map[xml.Name]bool

// UnmarshalXML implements xml.Unmarshaler.
func (n *names) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	m := names{}
	depth := 1
	for depth > 0 {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			m[t.Name] = true
			depth++
		case xml.EndElement:
			depth--
		}
	}
	*n = m
	return nil
}

// has reports whether the element ns:local is among the names.
func (n *names) has(ns, local string) bool {
	return n != nil && (*n)[xml.Name{Space: ns, Local: local}]
}

// statusCode parses "HTTP/1.1 404 Not Found"; an empty status is 200.
func statusCode(s string) int {
	s = strings.TrimSpace(s)
	if s == "" {
		return http.StatusOK
	}
	f := strings.Fields(s)
	if len(f) < 2 {
		return 0
	}
	code, err := strconv.Atoi(f[1])
	if err != nil {
		return 0
	}
	return code
}

// props merges the properties of the response's 2xx propstats: a property
// listed under 404 or 403 is absent, not empty.
func (r *response) props() prop {
	var out prop
	for _, ps := range r.PropStats {
		if statusCode(ps.Status)/100 != 2 {
			continue
		}
		p := ps.Prop
		set := func(dst **string, src *string) {
			if src != nil && *dst == nil {
				*dst = src
			}
		}
		set(&out.DisplayName, p.DisplayName)
		set(&out.Description, p.Description)
		set(&out.ETag, p.ETag)
		set(&out.CTag, p.CTag)
		set(&out.SyncToken, p.SyncToken)
		set(&out.CalendarData, p.CalendarData)
		if p.ResourceType != nil && out.ResourceType == nil {
			out.ResourceType = p.ResourceType
		}
		if p.Principal != nil && out.Principal == nil {
			out.Principal = p.Principal
		}
		if p.HomeSet != nil && out.HomeSet == nil {
			out.HomeSet = p.HomeSet
		}
		if p.Components != nil && out.Components == nil {
			out.Components = p.Components
		}
		if p.Privileges != nil && out.Privileges == nil {
			out.Privileges = p.Privileges
		}
		if p.Reports != nil && out.Reports == nil {
			out.Reports = p.Reports
		}
	}
	return out
}

// status is the response-level status (RFC 4918 §14.24), 200 when absent.
func (r *response) status() int { return statusCode(r.Status) }

// href returns the response's href resolved against base.
func (r *response) href(base *url.URL) (*url.URL, bool) {
	if len(r.Hrefs) == 0 {
		return nil, false
	}
	u, err := resolve(base, r.Hrefs[0])
	if err != nil {
		return nil, false
	}
	return u, true
}

// parseMultistatus decodes a 207 body. A body that is not a DAV:multistatus
// is an EREMOTE error naming the host.
func parseMultistatus(r *reply) (*multistatus, error) {
	var ms multistatus
	if err := xml.Unmarshal(r.body, &ms); err != nil {
		return nil, badXML(r.url.Host, fmt.Errorf("caldav: decode multistatus from %s: %w", r.url.Host, err))
	}
	return &ms, nil
}

// esc escapes s for XML character data.
func esc(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

const xmlHeader = `<?xml version="1.0" encoding="utf-8"?>` + "\n"

// propfindBody asks for the given properties (RFC 4918 §9.1); each is a
// prefixed element name: d: is DAV:, c: is CalDAV, cs: is calendarserver.
func propfindBody(props ...string) []byte {
	var b strings.Builder
	b.WriteString(xmlHeader)
	b.WriteString(`<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/"><d:prop>`)
	for _, p := range props {
		b.WriteString("<" + p + "/>")
	}
	b.WriteString(`</d:prop></d:propfind>`)
	return []byte(b.String())
}

// utcStamp formats t as an iCalendar UTC date-time (RFC 5545 §3.3.5 form 2),
// as CALDAV:time-range wants (RFC 4791 §9.9).
func utcStamp(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// calendarQueryBody is a calendar-query REPORT (RFC 4791 §7.8) for VEVENTs,
// with a time-range (§9.9) when from and to are set, asking for getetag and,
// if withData, the calendar-data.
func calendarQueryBody(from, to time.Time, withData bool) []byte {
	var b strings.Builder
	b.WriteString(xmlHeader)
	b.WriteString(`<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/>`)
	if withData {
		b.WriteString(`<c:calendar-data/>`)
	}
	b.WriteString(`</d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">`)
	if !from.IsZero() && !to.IsZero() {
		fmt.Fprintf(&b, `<c:time-range start="%s" end="%s"/>`, utcStamp(from), utcStamp(to))
	}
	b.WriteString(`</c:comp-filter></c:comp-filter></c:filter></c:calendar-query>`)
	return []byte(b.String())
}

// multigetBody is a calendar-multiget REPORT (RFC 4791 §7.9) for the given
// hrefs (absolute paths).
func multigetBody(paths []string) []byte {
	var b strings.Builder
	b.WriteString(xmlHeader)
	b.WriteString(`<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/><c:calendar-data/></d:prop>`)
	for _, p := range paths {
		b.WriteString("<d:href>" + esc(p) + "</d:href>")
	}
	b.WriteString(`</c:calendar-multiget>`)
	return []byte(b.String())
}

// syncCollectionBody is a sync-collection REPORT (RFC 6578 §3.2) at depth
// 1 asking for getetag; an empty token asks for the initial listing.
func syncCollectionBody(token string) []byte {
	return []byte(xmlHeader + `<d:sync-collection xmlns:d="DAV:"><d:sync-token>` + esc(token) +
		`</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>`)
}

// mkcalendarBody sets the display name and limits the collection to VEVENTs
// (RFC 4791 §5.3.1.2).
func mkcalendarBody(name string) []byte {
	return []byte(xmlHeader + `<c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop><d:displayname>` +
		esc(name) + `</d:displayname><c:supported-calendar-component-set><c:comp name="VEVENT"/></c:supported-calendar-component-set></d:prop></d:set></c:mkcalendar>`)
}

// quoteETag returns an entity tag in its quoted form (RFC 9110 §8.8.3); some
// servers send getetag values without the quotes.
func quoteETag(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasPrefix(s, `"`) || strings.HasPrefix(s, `W/"`) {
		return s
	}
	return strconv.Quote(s)
}
