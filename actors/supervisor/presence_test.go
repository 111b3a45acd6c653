package supervisor

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
)

func TestPresence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "presence.json")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	grace := 7 * 24 * time.Hour

	p, err := LoadPresence(store.FileBlob(path), []string{"stored.example.com"}, t0)
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
	again, err := LoadPresence(store.FileBlob(path), []string{"a.example.com", "stored.example.com"}, t0.Add(3*grace))
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
	third, err := LoadPresence(store.FileBlob(path), nil, t0.Add(3*grace))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := third.LastSeen["b.example.com"]; !ok {
		t.Error("the first save after loading was throttled away")
	}

	// A second change within presenceSaveEvery is not written; the first after it is, and a
	// forced save always is.
	saves := []struct {
		name  string
		after time.Duration // since the first save
		force bool
		want  bool // c.example.com on disk afterwards
	}{
		{"within the interval", presenceSaveEvery - time.Second, false, false},
		{"once the interval has passed", presenceSaveEvery, false, true},
	}
	for _, c := range saves {
		at := t0.Add(3*grace + c.after)
		again.Seen([]string{"c.example.com"}, at)
		if err := again.Save(at, c.force); err != nil {
			t.Fatal(err)
		}
		disk, err := LoadPresence(store.FileBlob(path), nil, at)
		if err != nil {
			t.Fatal(err)
		}
		if got := disk.LastSeen["c.example.com"].Equal(at); got != c.want {
			t.Errorf("%s: written = %v, want %v", c.name, got, c.want)
		}
	}
	again.Seen([]string{"d.example.com"}, t0.Add(3*grace+presenceSaveEvery+time.Second))
	if err := again.Save(t0.Add(3*grace+presenceSaveEvery+time.Second), true); err != nil {
		t.Fatal(err)
	}
	if disk, _ := LoadPresence(store.FileBlob(path), nil, t0); disk.LastSeen["d.example.com"].IsZero() {
		t.Error("a forced save was throttled")
	}
}

func TestPresencePrune(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	grace := 7 * 24 * time.Hour
	p := &Presence{LastSeen: map[string]time.Time{
		"gone-unstored.example.com":   t0,
		"gone-stored.example.com":     t0,
		"recent-unstored.example.com": t0.Add(6 * 24 * time.Hour),
	}}
	p.Prune([]string{"gone-stored.example.com"}, t0.Add(grace+time.Hour), grace)
	if _, ok := p.LastSeen["gone-unstored.example.com"]; ok {
		t.Error("a name gone past the grace with nothing stored is still recorded")
	}
	for _, n := range []string{"gone-stored.example.com", "recent-unstored.example.com"} {
		if _, ok := p.LastSeen[n]; !ok {
			t.Errorf("%s was pruned", n)
		}
	}
	if !p.dirty {
		t.Error("a pruned record is not marked for saving")
	}
}
