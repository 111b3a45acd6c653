package ratelimiter

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter/limits"
	"github.com/dfp-letsencrypt/provisioner/messages"
)

// FuzzLedger: a ledger file of any content decodes to an error or a ledger the limiter can run
// on: requests, reports, holds and the start's Reopen never panic, and a deferred order is
// never told to come back earlier than now.
func FuzzLedger(f *testing.F) {
	l := New(limits.Production, Ledger{})
	l.Request(Order{Name: "a.example.com", Permit: "p"}, t0)
	l.Hold("a.example.com", messages.LimitNewOrders, t0.Add(time.Hour))
	seed, _ := json.Marshal(l.Ledger())
	f.Add(seed, "a.example.com", "p", uint8(0))
	f.Add([]byte(`{"tat":{"certificates_per_exact_set|a.example.com":"9999-12-31T23:59:59Z"},"hold_all":"0001-01-01T00:00:00Z"}`), "a.example.com", "", uint8(1))
	f.Add([]byte(`{"reservations":{"a.example.com":{"at":"2026-03-01T00:00:00Z","buckets":["nonsense","|"],"granted":true,"slot":true}}}`), "a.example.com", "x", uint8(2))
	f.Add([]byte(`null`), "", "", uint8(3))
	f.Add([]byte(`{"tat":{"certificates_per_exact_set|a.example.com":"9999-12-31T23:59:59Z"}}`), "a.example.com", "", uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, name, permit string, outcome uint8) {
		var ledger Ledger
		if json.Unmarshal(data, &ledger) != nil {
			return
		}
		l := New(limits.Production, ledger)
		l.Clamp(t0)
		l.Reopen(t0)
		for i, now := range []time.Time{t0, t0.Add(time.Minute), t0.Add(48 * time.Hour)} {
			d := l.Request(Order{Name: name, Permit: permit, Renewal: i == 1}, now)
			if !d.Granted && d.At.Before(now) {
				t.Fatalf("deferred to %s, before now %s", d.At, now)
			}
			l.SlotTaken(name)
			l.Report(name, permit, Outcome(outcome%3), now)
			l.Hold(name, messages.LimitNewOrders, now.Add(time.Minute))
			l.Forget(now)
		}
		if _, err := json.Marshal(l.Ledger()); err != nil {
			t.Fatalf("the ledger cannot be written back: %v", err)
		}
	})
}
