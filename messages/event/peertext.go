package event

import (
	"fmt"
	"unicode/utf8"
)

// maxPeerText bounds any text from a peer (DFP, the CA, a proxy) that reaches a log line or an
// error: a hostile or broken peer must not turn every poll into a megabyte of log.
const maxPeerText = 300

// PeerText scrubs s of secrets (Scrub) and cuts it to a few hundred bytes, at a rune boundary,
// saying how much was cut.
func PeerText(s string) string {
	s = Scrub(s)
	if len(s) <= maxPeerText {
		return s
	}
	cut := maxPeerText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... (%d bytes cut)", s[:cut], len(s)-cut)
}
