package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestFirstMinute: a fresh start, the printed URL opened in a browser,
// leads to /setup, which creates the first account and signs in; no CLI
// step is needed.
func TestFirstMinute(t *testing.T) {
	app := MustRunMain(t, t.TempDir(), nil)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	get := func(path string) (*http.Response, string) {
		res, err := client.Get(app.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	res, body := get("/")
	if res.Request.URL.Path != "/setup" || res.StatusCode != http.StatusOK || !strings.Contains(body, `name="timezone"`) {
		t.Fatalf("GET / on a fresh install: %d at %s", res.StatusCode, res.Request.URL)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
	if csrf == nil {
		t.Fatal("the setup form has no CSRF token")
	}
	res, err := client.PostForm(app.URL()+"/setup", url.Values{
		"csrf": {csrf[1]}, "email": {"me@example.com"}, "password": {"a long password"}, "timezone": {"Asia/Kolkata"},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.Request.URL.Path != "/" || res.StatusCode != http.StatusOK || !strings.Contains(string(b), "Log a promise") {
		t.Fatalf("after setup: %d at %s\n%s", res.StatusCode, res.Request.URL, b)
	}
	if res, _ := get("/setup"); res.Request.URL.Path != "/" {
		t.Errorf("/setup after setup ends at %s", res.Request.URL)
	}
}
