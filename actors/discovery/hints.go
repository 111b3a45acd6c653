package discovery

import "time"

// A notification from docker-flow-swarm-listener is a hint, never data: it makes discovery poll DFP
// at once, and again each hintRetry until DFP lists the service (DFP applies the same notification
// a moment later) or hintWindow has passed. What DFP lists stays the only truth.
const (
	hintRetry  = time.Second
	hintWindow = 10 * time.Second
)

// Hints are the services notifications announced that DFP did not list yet: service -> give up at.
type Hints map[string]time.Time

// Add records a notification for service at now.
func (h Hints) Add(service string, now time.Time) {
	if service != "" {
		h[service] = now.Add(hintWindow)
	}
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
