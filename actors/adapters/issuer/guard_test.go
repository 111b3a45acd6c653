package issuer

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-acme/lego/v4/acme"
)

func TestReplacesGuardStopsTheRequestAfterAlreadyReplaced(t *testing.T) {
	cases := []struct {
		name        string
		status      int
		body        string
		wantTripped bool
	}{
		{"409 alreadyReplaced", http.StatusConflict, `{"type":"urn:ietf:params:acme:error:alreadyReplaced"}`, true},
		{"409 for something else", http.StatusConflict, `{"type":"urn:ietf:params:acme:error:malformed"}`, false},
		{"201 created", http.StatusCreated, `{"status":"pending"}`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(c.status)
				fmt.Fprint(w, c.body)
			}))
			defer srv.Close()
			g := &replacesGuard{next: http.DefaultTransport}
			resp, err := g.RoundTrip(httptest.NewRequest(http.MethodPost, srv.URL, nil).WithContext(t.Context()))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != c.body {
				t.Fatalf("the guard changed the body lego reads: %q", body)
			}
			if g.tripped.Load() != c.wantTripped {
				t.Fatalf("tripped = %v, want %v", g.tripped.Load(), c.wantTripped)
			}
			req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("{}"))
			resp, err = g.RoundTrip(req)
			if resp != nil {
				resp.Body.Close()
			}
			if c.wantTripped != errors.Is(err, errStoppedAfterAlreadyReplaced) {
				t.Fatalf("next request: %v; want it stopped only after alreadyReplaced", err)
			}
		})
	}
}

func TestRefusedReplaces(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"409 alreadyReplaced", &acme.AlreadyReplacedError{ProblemDetails: &acme.ProblemDetails{Type: "urn:ietf:params:acme:error:alreadyReplaced"}}, true},
		{"403 on the new-order request", fmt.Errorf("x: %w", &acme.ProblemDetails{Type: "urn:ietf:params:acme:error:unauthorized", Method: "POST", URL: "https://ca/new-order"}), true},
		{"unauthorized in a challenge (a failed validation)", &acme.ProblemDetails{Type: "urn:ietf:params:acme:error:unauthorized"}, false},
		{"server error", &acme.ProblemDetails{Type: "urn:ietf:params:acme:error:serverInternal", Method: "POST"}, false},
		{"network", errors.New("connection refused"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := refusedReplaces(c.err); got != c.want {
				t.Fatalf("refusedReplaces = %v, want %v", got, c.want)
			}
		})
	}
}

func TestProfileOffered(t *testing.T) {
	var dir acme.Directory
	dir.Meta.Profiles = map[string]string{"tlsserver": "", "classic": "", "shortlived": ""}
	if err := profileOffered(dir, "shortlived"); err != nil {
		t.Fatalf("an offered profile refused: %v", err)
	}
	err := profileOffered(dir, "shortlive")
	if err == nil || !strings.Contains(err.Error(), "[classic shortlived tlsserver]") {
		t.Fatalf("a typo = %v; want an error listing what the CA offers, sorted", err)
	}
	if err := profileOffered(acme.Directory{}, "classic"); err == nil {
		t.Fatal("a CA without profiles accepted a profile")
	}
}
