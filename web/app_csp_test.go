package web

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// TestTemplatesSelfContained: the pages run under a CSP without
// 'unsafe-inline' and load nothing from elsewhere, so no template has an
// inline script, a style attribute or element, an event handler attribute,
// or an absolute http(s) URL to another site.
func TestTemplatesSelfContained(t *testing.T) {
	bad := []*regexp.Regexp{
		regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`),   // a script with a body
		regexp.MustCompile(`<script(?:\s(?:[^s>]|s[^r])*)?>`), // a script without src
		regexp.MustCompile(`\sstyle=`),
		regexp.MustCompile(`<style`),
		regexp.MustCompile(`\son[a-z]+=`),
		regexp.MustCompile(`(?:src|href)="(?:https?:)?//`),
		regexp.MustCompile(`@import|url\(\s*["']?(?:https?:)?//`),
	}
	err := fs.WalkDir(templateFS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := templateFS.ReadFile(path)
		if err != nil {
			return err
		}
		for _, re := range bad {
			if m := re.Find(b); m != nil {
				t.Errorf("%s: %q (%s)", path, m, re)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	css, err := staticFS.ReadFile("static/app.css")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(css), "//fonts.") || regexp.MustCompile(`url\(\s*["']?(?:https?:)?//`).Match(css) {
		t.Errorf("app.css loads something from elsewhere")
	}
	if !strings.Contains(pageCSP, "script-src 'self'") || strings.Contains(pageCSP, "unsafe") {
		t.Errorf("CSP %q", pageCSP)
	}
}
