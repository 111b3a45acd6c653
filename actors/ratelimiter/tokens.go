package ratelimiter

import (
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter/limits"
	"github.com/dfp-letsencrypt/provisioner/messages"
)

// TokensLeft is how many tokens the bucket of lim whose theoretical arrival time is tat holds at
// now (GCRA: each token spent pushes tat one interval later), and when the next one comes back
// (zero when the bucket is full). Status and the plan read buckets with it, the way Request does.
func TokensLeft(lim limits.Limit, tat, now time.Time) (left int, next time.Time) {
	if !tat.After(now) {
		return lim.Capacity, time.Time{}
	}
	interval := lim.Interval()
	spent := int((tat.Sub(now) + interval - 1) / interval)
	return max(lim.Capacity-spent, 0), tat.Add(-time.Duration(spent-1) * interval)
}

// BlockingLimit names the limit a booked reservation waits for: the booked bucket whose token
// comes last, or the CA's hold on every order. Request names the limit when it books; status and
// the plan name it afterwards with this.
func BlockingLimit(res Reservation, ledger Ledger, table limits.Table, now time.Time) messages.Limit {
	if ledger.HoldAll.After(now) {
		return messages.LimitHeldByCA
	}
	limit, latest := messages.LimitUnknown, time.Time{}
	for _, key := range res.Buckets {
		if lim, ok := table.Named(limits.LimitOfKey(key)); ok && ledger.TAT[key].After(latest) {
			limit, latest = lim.Name, ledger.TAT[key]
		}
	}
	return limit
}
