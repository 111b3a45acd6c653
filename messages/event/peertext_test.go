package event

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPeerText(t *testing.T) {
	cases := []struct {
		name   string
		in     string
		maxLen int
		same   bool
	}{
		{"short text is kept", "Could not perform DNS lookup", 100, true},
		{"exactly the limit is kept", strings.Repeat("a", maxPeerText), maxPeerText, true},
		{"5 MiB is cut", strings.Repeat("a", 5<<20), maxPeerText + 40, false},
		{"cut at a rune boundary", strings.Repeat("é", 400), maxPeerText + 40, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := PeerText(c.in)
			if len(got) > c.maxLen || (got == c.in) != c.same || !utf8.ValidString(got) {
				t.Fatalf("PeerText gave %d bytes (valid UTF-8: %v, unchanged: %v)", len(got), utf8.ValidString(got), got == c.in)
			}
			if !c.same && !strings.Contains(got, "bytes cut") {
				t.Errorf("a cut text must say so: %q", got[len(got)-30:])
			}
		})
	}
}
