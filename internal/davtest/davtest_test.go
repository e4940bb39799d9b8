package davtest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/followup/followup/internal/davtest"
)

// TestServers starts each server and checks that it answers PROPFIND for the
// known user and refuses a wrong password.
func TestServers(t *testing.T) {
	for _, sv := range davtest.Servers {
		t.Run(sv.Name, func(t *testing.T) {
			t.Parallel()
			srv := sv.Start(t)
			for _, tc := range []struct {
				name     string
				password string
				want     int
			}{
				{"right password", srv.Password, http.StatusMultiStatus},
				{"wrong password", "wrong", http.StatusUnauthorized},
			} {
				t.Run(tc.name, func(t *testing.T) {
					body := `<?xml version="1.0"?><propfind xmlns="DAV:"><prop><current-user-principal/></prop></propfind>`
					req, err := http.NewRequest("PROPFIND", srv.HomeSet, strings.NewReader(body))
					if err != nil {
						t.Fatal(err)
					}
					req.Header.Set("Depth", "0")
					req.Header.Set("Content-Type", "application/xml")
					req.SetBasicAuth(srv.Username, tc.password)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					if resp.StatusCode != tc.want {
						t.Errorf("PROPFIND %s: status %d, want %d", srv.HomeSet, resp.StatusCode, tc.want)
					}
				})
			}
		})
	}
}
