package ratelimiter

import (
	"fmt"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter/limits"
)

// BenchmarkRequestWith10000Names is one permit decision with 10,000 names in the ledger (their
// reservations and buckets), as the limiter makes it for every order:
//
//	go test -run '^$' -bench RequestWith ./actors/ratelimiter
func BenchmarkRequestWith10000Names(b *testing.B) {
	l := New(limits.Staging, Ledger{})
	for i := 0; i < 10000; i++ {
		name := fmt.Sprintf("n%d.d%d.example", i, i%100)
		l.Request(Order{Name: name, Permit: "p"}, t0)
		l.SlotTaken(name)
		l.Report(name, "p", Issued, t0)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("new%d.d%d.example", i%5000, i%100)
		now := t0.Add(time.Duration(i) * time.Second)
		l.Request(Order{Name: name, Permit: "q"}, now)
		l.Report(name, "q", FailedOther, now)
	}
}
