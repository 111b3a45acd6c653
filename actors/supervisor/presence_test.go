package supervisor

import (
	"path/filepath"
	"testing"
	"time"
)

func TestPresence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "presence.json")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	grace := 7 * 24 * time.Hour

	p, err := LoadPresence(path, []string{"stored.example.com"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if p.Gone("stored.example.com", t0.Add(grace), grace) {
		t.Error("a stored name with no record must count as seen at start")
	}
	if p.Gone("never.example.com", t0.Add(100*grace), grace) {
		t.Error("a name never seen is not 'gone' (it has no clock)")
	}
	p.Seen([]string{"a.example.com"}, t0.Add(time.Hour))
	if err := p.Save(t0.Add(time.Hour), true); err != nil {
		t.Fatal(err)
	}

	// A restart keeps the clock: neither reset nor started.
	again, err := LoadPresence(path, []string{"a.example.com", "stored.example.com"}, t0.Add(3*grace))
	if err != nil {
		t.Fatal(err)
	}
	if !again.Gone("a.example.com", t0.Add(grace+2*time.Hour), grace) {
		t.Error("a restart reset the removal clock")
	}
	if again.Gone("a.example.com", t0.Add(grace), grace) {
		t.Error("gone before the grace period ended")
	}

	// Writes are throttled unless forced.
	again.Seen([]string{"b.example.com"}, t0.Add(3*grace))
	if err := again.Save(t0.Add(3*grace), false); err != nil {
		t.Fatal(err)
	}
	third, _ := LoadPresence(path, nil, t0.Add(3*grace))
	if _, ok := third.LastSeen["b.example.com"]; !ok {
		t.Error("the first save after loading was throttled away")
	}
}
