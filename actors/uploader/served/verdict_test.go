package served

import (
	"errors"
	"testing"
)

func TestServeVerdict(t *testing.T) {
	refused := errors.New("connection refused")
	tests := []struct {
		name                  string
		err                   error
		got, uploaded, latest string
		want                  Verdict
	}{
		{"the handshake failed", refused, "", "new", "new", VerdictUnknown},
		{"a failed check says nothing, even with a fingerprint", refused, "new", "new", "new", VerdictUnknown},
		{"HAProxy presents the upload", nil, "new", "new", "new", VerdictServed},
		{"served although a newer one is known", nil, "new", "new", "newer", VerdictServed},
		{"another certificate, and a newer upload overtook this one", nil, "old", "new", "newer", VerdictOvertaken},
		{"another certificate for the newest upload", nil, "old", "new", "new", VerdictNotServed},
		{"another certificate, the name no longer known", nil, "old", "new", "", VerdictNotServed},
		{"no certificate presented at all", nil, "", "new", "new", VerdictNotServed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := UploadVerdict(tt.err, tt.got, tt.uploaded, tt.latest); got != tt.want {
				t.Errorf("UploadVerdict = %d, want %d", got, tt.want)
			}
		})
	}
}
