package web

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/followup/followup"
)

// decodeJSON reads a JSON body into v strictly: unknown fields, trailing
// data and wrong types are EINVALID naming the field; a body over MaxBody
// is ETOOLARGE.
func decodeJSON(c echo.Context, v any) error {
	// The Content-Type is not checked: scripts often post JSON with curl -d,
	// which labels it a form. A body that is not JSON fails to decode anyway.
	return decodeJSONReader(c.Request().Body, v)
}

// decodeJSONReader is decodeJSON's core, separate for fuzzing.
func decodeJSONReader(r io.Reader, v any) error {
	data, err := readBody(r)
	if err != nil {
		return err
	}
	return decodeJSONBytes(data, v)
}

// readBody reads a request body of at most MaxBody bytes.
func readBody(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBody+1))
	if tooLarge(err) || len(data) > MaxBody {
		return nil, followup.Errorf(followup.ETOOLARGE, "", "The request body is larger than 1 MiB.")
	} else if err != nil {
		return nil, followup.Errorf(followup.EINVALID, "", "The request body could not be read.")
	}
	return data, nil
}

// decodeJSONBytes decodes one JSON value strictly, as decodeJSON does.
func decodeJSONBytes(data []byte, v any) error {
	// JSON text is UTF-8 (RFC 8259 §8.1); encoding/json would quietly turn
	// invalid bytes into U+FFFD and store text the user never wrote.
	if !utf8.Valid(data) {
		return followup.Errorf(followup.EINVALID, "", "The request body is not valid UTF-8.")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return followup.Errorf(followup.EINVALID, "", "The body must hold exactly one JSON object.")
	}
	return nil
}

func tooLarge(err error) bool {
	var he *echo.HTTPError
	return errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge
}

// jsonError turns a decoding error into EINVALID naming what it can.
func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case tooLarge(err):
		return followup.Errorf(followup.ETOOLARGE, "", "The request body is larger than 1 MiB.")
	case errors.Is(err, io.EOF):
		return followup.Errorf(followup.EINVALID, "", "The request body is empty; send a JSON object.")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return followup.Errorf(followup.EINVALID, "", "The JSON body ends too early.")
	case errors.As(err, &syntax):
		return followup.Errorf(followup.EINVALID, "", "Malformed JSON at byte %d.", syntax.Offset)
	case errors.As(err, &typ):
		name := typ.Field
		if name == "" {
			return followup.Errorf(followup.EINVALID, "", "The body must be a JSON object.")
		}
		return followup.Errorf(followup.EINVALID, name, "%s must be a %s, not a JSON %s.", name, jsonType(typ.Type.Kind().String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return followup.Errorf(followup.EINVALID, name, "Unknown field %q.", name)
	}
	var fe *followup.Error
	if errors.As(err, &fe) {
		return fe
	}
	return followup.Errorf(followup.EINVALID, "", "Malformed JSON body.")
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "bool":
		return "boolean (true or false)"
	case "int", "int64", "int32", "float64":
		return "number"
	case "slice":
		return "list"
	case "struct", "map", "ptr":
		return "object"
	}
	return kind
}

// optTime is an optional RFC 3339 time in a request.
type optTime struct {
	set bool
	t   time.Time
	raw string
}

func (o *optTime) parse(s string) error {
	o.raw = s
	if strings.TrimSpace(s) == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	if err != nil {
		return errBadTime
	}
	if t.Year() < 1970 || t.Year() > 2200 {
		return errBadTime
	}
	o.set, o.t = true, t
	return nil
}

var errBadTime = errors.New("not an RFC 3339 time")

// ptr returns the time or nil.
func (o optTime) ptr() *time.Time {
	if !o.set {
		return nil
	}
	t := o.t
	return &t
}

// timeField parses raw into o, answering EINVALID naming the field.
func timeField(name string, o *optTime, raw string) error {
	if err := o.parse(raw); err != nil {
		return followup.Errorf(followup.EINVALID, name, "%s %q is not an RFC 3339 time such as 2026-11-23T15:00:00-05:00.", name, truncate(raw, 60))
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// formValues reads an HTML form whose field names must all be in known,
// as a JSON body's must be known fields.
func formValues(c echo.Context, known map[string]bool) (url.Values, error) {
	f, err := c.FormParams()
	if err != nil {
		if tooLarge(err) {
			return nil, followup.Errorf(followup.ETOOLARGE, "", "The request body is larger than 1 MiB.")
		}
		return nil, followup.Errorf(followup.EINVALID, "", "Malformed form body.")
	}
	for name := range f {
		if !known[name] {
			return nil, followup.Errorf(followup.EINVALID, name, "Unknown field %q.", name)
		}
	}
	return f, nil
}

// isForm reports whether the request body is an HTML form: labelled as one,
// and not a JSON object sent with curl -d's default label.
func isForm(c echo.Context) bool {
	mt, _, _ := mime.ParseMediaType(c.Request().Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		return true
	}
	if mt != "application/x-www-form-urlencoded" {
		return false
	}
	r := c.Request()
	br := bufio.NewReader(r.Body)
	r.Body = struct {
		io.Reader
		io.Closer
	}{br, r.Body}
	for {
		b, err := br.Peek(1)
		if err != nil || len(b) == 0 {
			return true
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			_, _ = br.ReadByte()
			continue
		}
		return b[0] != '{'
	}
}
