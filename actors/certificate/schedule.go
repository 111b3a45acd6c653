package certificate

import (
	"math/rand/v2"
	"time"

	"github.com/dfp-letsencrypt/provisioner/proxyapi"
)

// retrySchedule is Let's Encrypt's integration guide: retry after 1 min, 10 min, 100 min, then at
// most once a day.
var retrySchedule = []time.Duration{time.Minute, 10 * time.Minute, 100 * time.Minute, 24 * time.Hour}

// RetryDelay is the wait after the n-th consecutive failure (n >= 1), before jitter.
func RetryDelay(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	if n > len(retrySchedule) {
		n = len(retrySchedule)
	}
	return retrySchedule[n-1]
}

// withJitter adds up to 10% so that names failing together do not retry together.
func withJitter(d time.Duration) time.Duration {
	return d + time.Duration(rand.Int64N(int64(d)/10+1))
}

// spreadAfter is a random time in [t, t+spread): names held to the same time do not all come back at once.
func spreadAfter(t time.Time, spread time.Duration) time.Time {
	return t.Add(time.Duration(rand.Int64N(int64(spread))))
}

// RenewAt is when a certificate is due without ARI: when a third of its lifetime remains, or half
// for certificates valid under 10 days (Let's Encrypt's integration guide; never a fixed 60 days).
func RenewAt(b *proxyapi.Bundle) time.Time {
	return RenewTime(b.Leaf.NotBefore, b.Leaf.NotAfter)
}

// RenewTime is RenewAt for a validity period.
func RenewTime(notBefore, notAfter time.Time) time.Time {
	life := notAfter.Sub(notBefore)
	remaining := life / 3
	if life < 10*24*time.Hour {
		remaining = life / 2
	}
	return notAfter.Add(-remaining)
}
