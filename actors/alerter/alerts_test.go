package alerter

import (
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/messages"
)

func TestApplyAlertsOncePerChange(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	failing := func(active bool) messages.Trouble {
		return messages.Trouble{Name: "a.test", Kind: messages.TroubleFailing, Active: active, Detail: "connection refused"}
	}
	steps := []struct {
		name  string
		in    messages.Trouble
		state string // "" for no alert
	}{
		{"a recovery never reported: nothing", failing(false), ""},
		{"trouble begins", failing(true), "trouble"},
		{"the same trouble again (a retry): nothing", failing(true), ""},
		{"another kind for the same name: its own alert", messages.Trouble{Name: "a.test", Kind: messages.TroubleNotServed, Active: true}, "trouble"},
		{"the first ends", failing(false), "recovered"},
		{"and again: nothing", failing(false), ""},
		{"the second ends", messages.Trouble{Name: "a.test", Kind: messages.TroubleNotServed}, "recovered"},
	}
	a := Active{}
	for _, s := range steps {
		al := a.Apply(s.in, now)
		switch {
		case s.state == "" && al != nil:
			t.Fatalf("%s: alert %+v, want none", s.name, al)
		case s.state != "" && (al == nil || al.State != s.state || al.Name != "a.test" || al.Kind != s.in.Kind || al.Text == ""):
			t.Fatalf("%s: alert %+v, want %s", s.name, al, s.state)
		}
	}
	if len(a) != 0 {
		t.Errorf("troubles left after every recovery: %v", a)
	}
}
