package discovery

import "time"

// A notification from docker-flow-swarm-listener is a hint, never data: it makes discovery poll DFP
// at once, and again each hintRetry until DFP lists the service (DFP applies the same notification
// a moment later) or hintWindow has passed. What DFP lists stays the only truth.
const (
	hintRetry  = time.Second
	hintWindow = 10 * time.Second
	// MaxHints bounds the services waited for at once: whoever can reach the internal port can
	// send notifications, and each is kept for hintWindow.
	MaxHints = 64
	// MaxServiceName is the longest service name a hint keeps (Docker's limit is 63).
	MaxServiceName = 255
	// MinPollSpacing is the least time between the starts of two polls that notifications ask for:
	// a flood of them costs DFP at most one GET /config a second.
	MinPollSpacing = time.Second
)

// NextPoll says whether a poll asked for at now may start at once, given when the last one
// started, or when it may (at): polls asked for meanwhile are folded into that one.
func NextPoll(lastStart, now time.Time) (at time.Time, pollNow bool) {
	if lastStart.IsZero() || now.Sub(lastStart) >= MinPollSpacing {
		return now, true
	}
	return lastStart.Add(MinPollSpacing), false
}

// Hints are the services notifications announced that DFP did not list yet: service -> give up at.
type Hints map[string]time.Time

// Add records a notification for service at now. A name too long to be a service's, or one more
// than MaxHints waits for, is not kept: the poll it asks for still happens.
func (h Hints) Add(service string, now time.Time) {
	if _, known := h[service]; service == "" || len(service) > MaxServiceName || !known && len(h) >= MaxHints {
		return
	}
	h[service] = now.Add(hintWindow)
}

// AfterPoll drops the hints DFP now lists (listed: the service names of a successful poll; nil
// when the poll failed) and those past their window, and returns when to poll again for the rest
// (zero: no need).
func (h Hints) AfterPoll(listed map[string]bool, now time.Time) time.Time {
	for service, giveUp := range h {
		if listed[service] || !now.Before(giveUp) {
			delete(h, service)
		}
	}
	if len(h) == 0 {
		return time.Time{}
	}
	return now.Add(hintRetry)
}
