package opsport

import (
	"strings"
	"testing"
	"time"
)

func TestReadiness(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	interval := 30 * time.Second
	cases := []struct {
		name       string
		lastAnswer time.Time
		notServed  []string
		ready      bool
		failing    string // the check that says why, when not ready
	}{
		{"DFP never answered yet", time.Unix(0, 0), nil, false, "dfp"},
		{"answered just now", now, nil, true, ""},
		{"answered three intervals ago", now.Add(-3 * interval), nil, true, ""},
		{"silent for longer than three intervals", now.Add(-3*interval - time.Second), nil, false, "dfp"},
		{"a name the proxy does not serve", now, []string{"a.example.com"}, false, "proxy"},
		{"many names not served", now, []string{"a", "b", "c", "d", "e", "f", "g"}, false, "proxy"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Readiness(c.lastAnswer, now, interval, c.notServed)
			if got.OK != c.ready {
				t.Fatalf("Readiness = %+v, want ready %v", got, c.ready)
			}
			for name, v := range got.Checks {
				if (v == "ok") == (name == c.failing) {
					t.Errorf("check %s = %q; want it failing only when it is %q", name, v, c.failing)
				}
			}
		})
	}
	if got := Readiness(now, now, interval, []string{"a", "b", "c", "d", "e", "f", "g"}); !strings.HasPrefix(got.Checks["proxy"], "7 names not served by the proxy: a, b, c, d, e, ...") {
		t.Errorf("proxy check = %q, want the count and the first five names", got.Checks["proxy"])
	}
}
