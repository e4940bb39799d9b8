package web

import (
	"encoding"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/followup/followup"
)

// apiType is what one API route reads and answers: the Go types its
// handler decodes and encodes (nil for none) and its success status.
type apiType struct {
	req, res any
	status   int
}

// noSchema marks an answer whose schema the test does not compare (the
// document itself).
type noSchema struct{}

// apiTypes is every /api/v1 route with its handler's types. A route added
// to routes.go without an entry here, or without its place in
// openapi.json, fails TestOpenAPI.
var apiTypes = map[string]apiType{
	"GET /api/v1/openapi.json":             {nil, noSchema{}, 200},
	"POST /api/v1/commitments":             {commitmentRequest{}, followup.Commitment{}, 201},
	"POST /api/v1/commitments/quick":       {quickRequest{}, followup.QuickResult{}, 201},
	"POST /api/v1/contacts/parse":          {vcardRequest{}, followup.Contact{}, 200},
	"GET /api/v1/commitments":              {nil, commitmentList{}, 200},
	"GET /api/v1/commitments/:id":          {nil, followup.Commitment{}, 200},
	"POST /api/v1/commitments/:id/actions": {actionRequest{}, followup.Commitment{}, 200},
	"DELETE /api/v1/commitments/:id":       {nil, nil, 204},
	"GET /api/v1/agenda":                   {nil, followup.Agenda{}, 200},
	"GET /api/v1/settings":                 {nil, followup.Settings{}, 200},
	"PUT /api/v1/settings":                 {followup.Settings{}, followup.Settings{}, 200},
	"GET /api/v1/feed":                     {nil, followup.FeedLinks{}, 200},
	"POST /api/v1/feed/rotate":             {nil, followup.FeedLinks{}, 200},
	"GET /api/v1/caldav":                   {nil, followup.CalDAVConnection{}, 200},
	"PUT /api/v1/caldav":                   {caldavRequest{}, followup.CalDAVConnection{}, 200},
	"DELETE /api/v1/caldav":                {nil, nil, 204},
	"POST /api/v1/sync":                    {nil, followup.SyncReport{}, 200},
	"GET /api/v1/tokens":                   {nil, tokenList{}, 200},
	"DELETE /api/v1/tokens/:id":            {nil, nil, 204},
}

// schema is the part of a JSON Schema (OpenAPI 3.1) the test reads.
type schema struct {
	Ref                  string             `json:"$ref"`
	Type                 json.RawMessage    `json:"type"` // "string" or ["string", "null"]
	Format               string             `json:"format"`
	Properties           map[string]*schema `json:"properties"`
	Items                *schema            `json:"items"`
	AdditionalProperties json.RawMessage    `json:"additionalProperties"`
	AllOf                []*schema          `json:"allOf"`
	AnyOf                []*schema          `json:"anyOf"`
}

type mediaType struct {
	Schema *schema `json:"schema"`
}

type operation struct {
	RequestBody *struct {
		Content map[string]mediaType `json:"content"`
	} `json:"requestBody"`
	Responses map[string]struct {
		Ref     string               `json:"$ref"`
		Content map[string]mediaType `json:"content"`
	} `json:"responses"`
}

type document struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]*schema `json:"schemas"`
	} `json:"components"`
}

// TestOpenAPI checks openapi.json against the server: every /api/v1 route
// is documented with its success status, and no other; each request and
// answer schema has exactly the JSON fields of the handler's Go type, with
// matching types, down to the leaves; the error schema is errorBody's.
func TestOpenAPI(t *testing.T) {
	var doc document
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q, want 3.x", doc.OpenAPI)
	}
	ops := documented(t, doc)
	var routes []string
	for _, r := range New(nil, nil, nil).Echo.Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1/") || strings.HasSuffix(r.Path, "/*") || r.Method == "echo_route_not_found" {
			continue
		}
		routes = append(routes, r.Method+" "+r.Path)
	}
	sort.Strings(routes)
	for _, key := range routes {
		want, ok := apiTypes[key]
		if !ok {
			t.Errorf("%s: not in apiTypes; add its handler's types there and the route to openapi.json", key)
			continue
		}
		op, ok := ops[openAPIKey(key)]
		if !ok {
			t.Errorf("%s: not in openapi.json", key)
			continue
		}
		c := checker{t: t, doc: doc}
		c.operation(key, op, want)
	}
	for key := range ops {
		if !slices.ContainsFunc(routes, func(r string) bool { return openAPIKey(r) == key }) {
			t.Errorf("openapi.json documents %s, which routes.go does not serve", key)
		}
	}
	for key := range apiTypes {
		if !slices.Contains(routes, key) {
			t.Errorf("apiTypes lists %s, which routes.go does not serve", key)
		}
	}
	c := checker{t: t, doc: doc}
	c.compare("error", reflect.TypeOf(errorBody{}), &schema{Ref: "#/components/schemas/Error"}, false)
}

// documented returns the document's operations by "METHOD /path".
func documented(t *testing.T, doc document) map[string]operation {
	ops := map[string]operation{}
	for path, item := range doc.Paths {
		for method, raw := range item {
			if method == "parameters" {
				continue
			}
			var op operation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			ops[strings.ToUpper(method)+" "+path] = op
		}
	}
	return ops
}

var echoParam = regexp.MustCompile(`:(\w+)`)

// openAPIKey writes an Echo route's parameters as OpenAPI's: :id → {id}.
func openAPIKey(route string) string {
	return echoParam.ReplaceAllString(route, "{$1}")
}

// checker compares Go types with the document's schemas.
type checker struct {
	t   *testing.T
	doc document
}

func (c checker) operation(key string, op operation, want apiType) {
	if want.req != nil {
		if op.RequestBody == nil || op.RequestBody.Content["application/json"].Schema == nil {
			c.t.Errorf("%s: no application/json request body in openapi.json", key)
		} else {
			c.compare(key+" request", reflect.TypeOf(want.req), op.RequestBody.Content["application/json"].Schema, false)
		}
	} else if op.RequestBody != nil {
		c.t.Errorf("%s: openapi.json has a request body the handler does not read", key)
	}
	status := strconv.Itoa(want.status)
	res, ok := op.Responses[status]
	if !ok {
		c.t.Errorf("%s: openapi.json has no %s answer", key, status)
		return
	}
	for code := range op.Responses {
		if code != status && code[0] == '2' {
			c.t.Errorf("%s: openapi.json answers %s; the handler answers %s", key, code, status)
		}
	}
	switch want.res.(type) {
	case nil:
		if len(res.Content) > 0 {
			c.t.Errorf("%s: openapi.json gives the %s answer a body", key, status)
		}
	case noSchema:
	default:
		s := res.Content["application/json"].Schema
		if s == nil {
			c.t.Errorf("%s: no application/json %s answer in openapi.json", key, status)
			return
		}
		c.compare(key+" answer", reflect.TypeOf(want.res), s, false)
	}
}

// resolve follows $ref and returns the schema with its types and
// properties merged from allOf, and whether anyOf allows null.
func (c checker) resolve(at string, s *schema) (*schema, bool) {
	for s.Ref != "" {
		name := strings.TrimPrefix(s.Ref, "#/components/schemas/")
		next, ok := c.doc.Components.Schemas[name]
		if !ok {
			c.t.Fatalf("%s: $ref %s does not exist", at, s.Ref)
		}
		s = next
	}
	nullable := slices.Contains(types(s), "null")
	if len(s.AnyOf) > 0 {
		var other *schema
		for _, alt := range s.AnyOf {
			if slices.Equal(types(alt), []string{"null"}) {
				nullable = true
			} else {
				other = alt
			}
		}
		r, n := c.resolve(at, other)
		return r, nullable || n
	}
	if len(s.AllOf) > 0 {
		merged := &schema{Type: json.RawMessage(`"object"`), Properties: map[string]*schema{}}
		for _, part := range s.AllOf {
			p, _ := c.resolve(at, part)
			for name, prop := range p.Properties {
				merged.Properties[name] = prop
			}
		}
		return merged, nullable
	}
	return s, nullable
}

// types lists a schema's type keyword: one name or several.
func types(s *schema) []string {
	if len(s.Type) == 0 {
		return nil
	}
	var one string
	if json.Unmarshal(s.Type, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(s.Type, &many)
	return many
}

var (
	timeType          = reflect.TypeOf(time.Time{})
	textMarshalerType = reflect.TypeOf((*encoding.TextMarshaler)(nil)).Elem()
)

// compare checks that s describes t's JSON: the same JSON type, the same
// properties for a struct, the same items for a slice. A pointer whose
// field is not omitempty can be null, so its schema must allow null.
func (c checker) compare(at string, t reflect.Type, s *schema, omitempty bool) {
	s, nullable := c.resolve(at, s)
	if t.Kind() == reflect.Pointer {
		if !omitempty && !nullable {
			c.t.Errorf("%s: the Go type %s can be null; the schema does not allow null", at, t)
		}
		t = t.Elem()
	}
	want := jsonKind(t)
	if !slices.Contains(types(s), want) {
		c.t.Errorf("%s: the Go type %s is a JSON %s; the schema says %s", at, t, want, s.Type)
		return
	}
	switch {
	case t == timeType:
		if s.Format != "date-time" {
			c.t.Errorf("%s: a time; the schema's format is %q, not date-time", at, s.Format)
		}
	case want == "object" && t.Kind() == reflect.Struct:
		c.compareStruct(at, t, s)
	case want == "array":
		if s.Items == nil {
			c.t.Errorf("%s: an array without items", at)
			return
		}
		c.compare(at+"[]", t.Elem(), s.Items, false)
	}
}

// compareStruct checks that the struct's JSON fields are the schema's
// properties, both ways, and compares each.
func (c checker) compareStruct(at string, t reflect.Type, s *schema) {
	fields := jsonFields(t)
	for name, f := range fields {
		prop, ok := s.Properties[name]
		if !ok {
			c.t.Errorf("%s: field %q (%s.%s) is not in the schema", at, name, t, f.Name)
			continue
		}
		c.compare(at+"."+name, f.Type, prop, f.omitempty)
	}
	for name := range s.Properties {
		if _, ok := fields[name]; !ok {
			c.t.Errorf("%s: the schema has %q, which %s does not", at, name, t)
		}
	}
}

// field is one JSON field of a struct.
type field struct {
	reflect.StructField
	omitempty bool
}

// jsonFields lists a struct's JSON fields as encoding/json writes them,
// embedded structs' fields included.
func jsonFields(t reflect.Type) map[string]field {
	out := map[string]field{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for n, ef := range jsonFields(f.Type) {
				if _, shadowed := out[n]; !shadowed {
					out[n] = ef
				}
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = field{StructField: f, omitempty: strings.Contains(opts, "omitempty")}
	}
	return out
}

// jsonKind names the JSON type encoding/json writes for t.
func jsonKind(t reflect.Type) string {
	if t == timeType || t.Implements(textMarshalerType) {
		return "string"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	}
	return fmt.Sprintf("unknown (%s)", t.Kind())
}

// TestOpenAPIServed answers the document without a token.
func TestOpenAPIServed(t *testing.T) {
	srv := New(nil, nil, nil)
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/openapi.json", nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" || !json.Valid(rec.Body.Bytes()) {
		t.Errorf("GET /api/v1/openapi.json: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
}
