package event

import (
	"fmt"
	"unicode/utf8"
)

// maxPeerText bounds any text from a peer (DFP, the CA, a proxy) that reaches a log line or an
// error: a hostile or broken peer must not turn every poll into a megabyte of log.
const maxPeerText = 300

// PeerText scrubs s of secrets (Scrub) and cuts it to a few hundred bytes, at a rune boundary,
// saying how much was cut. Only the first scrubWindow bytes are scrubbed, so that a peer's
// megabytes cost little: that is far more than is kept, and more than any secret is long, so no
// secret straddles what is kept.
func PeerText(s string) string {
	total := len(s)
	s = Scrub(s[:runeCut(s, scrubWindow)])
	if len(s) <= maxPeerText && total <= scrubWindow {
		return s
	}
	cut := runeCut(s, maxPeerText)
	return fmt.Sprintf("%s... (%d bytes cut)", s[:cut], total-cut)
}

// scrubWindow is how much of a peer's text is scrubbed before it is cut to maxPeerText.
const scrubWindow = 4096

// runeCut is the largest length at most n that ends on a rune boundary of s.
func runeCut(s string, n int) int {
	if len(s) <= n {
		return len(s)
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}
