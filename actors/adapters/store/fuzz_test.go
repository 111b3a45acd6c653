package store

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzDecodeState: a state.json of any content decodes to a state or an error, never a panic, and
// what decodes is written (as SaveState does) and read back unchanged.
func FuzzDecodeState(f *testing.F) {
	f.Add([]byte(`{"failures":3,"last_error":"x","next_attempt":"2026-11-27T12:00:00Z","paused_url":"https://u"}`))
	f.Add([]byte(`{"ari":{"certificate":"ab","start":"2026-11-27T12:00:00Z","end":"2026-11-28T12:00:00Z"}}`))
	f.Add([]byte(`{"failures":-1}`))
	f.Add([]byte(`{torn`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := DecodeState(data)
		if err != nil {
			return
		}
		out, err := json.MarshalIndent(st, "", "  ")
		if err != nil {
			t.Fatalf("a decoded state cannot be saved: %v", err)
		}
		again, err := DecodeState(out)
		if err != nil || !reflect.DeepEqual(normalise(again), normalise(st)) {
			t.Fatalf("round trip changed the state: %+v -> %+v, %v", st, again, err)
		}
	})
}

// normalise drops what JSON cannot round-trip exactly (monotonic clock readings, locations).
func normalise(st State) State {
	st.NextAttempt, st.LastAttempt = st.NextAttempt.UTC(), st.LastAttempt.UTC()
	if st.ARI != nil {
		a := *st.ARI
		a.Start, a.End, a.RenewAt, a.NextCheck = a.Start.UTC(), a.End.UTC(), a.RenewAt.UTC(), a.NextCheck.UTC()
		st.ARI = &a
	}
	return st
}
