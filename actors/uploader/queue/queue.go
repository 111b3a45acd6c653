// Package queue is the uploader's work as plain code: what each name should have in DFP, what is
// left to upload, in which order, and when each name may be tried again.
package queue

import (
	"sort"
	"time"

	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
)

// Queue is the uploader's work as plain code: the newest bundle per name, names in arrival
// order, and a retry time per name, so that one name DFP keeps refusing never holds up the
// others. It also remembers the newest valid bundle per name: what DFP should hold, compact
// (bundle.Compact) once it is there or stored, so that no PEM is held for a name with nothing
// to upload.
type Queue struct {
	names    []string // names with an upload to make, in arrival order
	pending  map[string]*bundle.Bundle
	known    map[string]*bundle.Bundle
	failures map[string]int
	retryAt  map[string]time.Time
	// unverified are known names not yet compared with what DFP holds (loaded from the store):
	// most are in DFP already, and each upload costs an HAProxy reload.
	unverified map[string]bool
	// notServed is the serve check's verdict: the fingerprint the proxy did not present after its
	// upload (HAProxy's reload failed), and how many uploads in a row it has not presented.
	notServed    map[string]string
	notServedRun map[string]int
	// uploaded is when each name's newest known bundle last reached DFP.
	uploaded map[string]time.Time
	// MinBackoff and MaxBackoff bound a name's wait after failed uploads; it doubles each time.
	MinBackoff, MaxBackoff time.Duration
	// CompactKnown keeps known bundles compact once they have no upload to make: set when the
	// uploader can read a PEM back from the store.
	CompactKnown bool
}

// New returns an empty queue.
func New(minBackoff, maxBackoff time.Duration) *Queue {
	return &Queue{pending: map[string]*bundle.Bundle{}, known: map[string]*bundle.Bundle{},
		failures: map[string]int{}, retryAt: map[string]time.Time{}, unverified: map[string]bool{},
		notServed: map[string]string{}, notServedRun: map[string]int{}, uploaded: map[string]time.Time{},
		MinBackoff: minBackoff, MaxBackoff: maxBackoff}
}

// Learn records b as what DFP should hold for name without queueing an upload: the next
// comparison with DFP's list decides (see Diff). A newer bundle known already wins.
// It reports whether b became the known one.
func (q *Queue) Learn(name string, b *bundle.Bundle) bool {
	if cur := q.known[name]; cur == nil || b.NotAfter().After(cur.NotAfter()) {
		q.known[name] = q.kept(b)
		delete(q.uploaded, name)
		if _, queued := q.pending[name]; !queued {
			q.unverified[name] = true
		}
		return true
	}
	return false
}

// Unverified is the number of known names waiting for a comparison with DFP's list.
func (q *Queue) Unverified() int { return len(q.unverified) }

// Verified records that every known name has been compared with DFP's list.
func (q *Queue) Verified() { clear(q.unverified) }

// OfferUnverified queues every name not yet compared, soonest expiry first, and returns them:
// the fallback when DFP's list cannot be read.
func (q *Queue) OfferUnverified() []string {
	names := sortedNames(q.unverified)
	sort.SliceStable(names, func(i, j int) bool { return q.known[names[i]].NotAfter().Before(q.known[names[j]].NotAfter()) })
	for _, name := range names {
		q.Offer(name, q.known[name])
	}
	return names
}

// Pending reports whether name waits for an upload.
func (q *Queue) Pending(name string) bool {
	_, ok := q.pending[name]
	return ok
}

// Offer queues b for name unless a newer bundle is already known: one arriving late never
// overwrites a newer one. A name already queued keeps its place and its retry time.
func (q *Queue) Offer(name string, b *bundle.Bundle) {
	if cur := q.known[name]; cur == nil || !b.NotAfter().Before(cur.NotAfter()) {
		if cur == nil || cur.Fingerprint() != b.Fingerprint() {
			delete(q.uploaded, name)
		}
		q.known[name] = b
	}
	if _, queued := q.pending[name]; !queued {
		q.names = append(q.names, name)
	}
	q.pending[name] = q.known[name]
	delete(q.unverified, name)
}

// Next returns the first queued name whose retry time has come, and its bundle. When none has,
// wake is the earliest retry time (zero when nothing is queued).
func (q *Queue) Next(now time.Time) (name string, b *bundle.Bundle, wake time.Time) {
	for _, n := range q.names {
		at := q.retryAt[n]
		if !at.After(now) {
			return n, q.pending[n], time.Time{}
		}
		if wake.IsZero() || at.Before(wake) {
			wake = at
		}
	}
	return "", nil, wake
}

// Succeeded records that sent reached DFP for name. The name leaves the queue unless a newer
// bundle arrived meanwhile.
func (q *Queue) Succeeded(name string, sent *bundle.Bundle) {
	delete(q.failures, name)
	delete(q.retryAt, name)
	if p := q.pending[name]; p != nil && p.Fingerprint() == sent.Fingerprint() {
		q.remove(name)
	}
}

// Stored records that the store holds sent for name, byte for byte: with nothing left to upload,
// the known bundle is kept compact, its PEM read back from the store when needed. One the store
// could not keep (the CA issued it, the write failed) keeps its PEM, so a later upload still has it.
func (q *Queue) Stored(name string, sent *bundle.Bundle) {
	if known := q.known[name]; known != nil && !q.Pending(name) && known.Fingerprint() == sent.Fingerprint() {
		q.known[name] = q.kept(known)
	}
}

// kept is b as the queue keeps it with no upload to make.
func (q *Queue) kept(b *bundle.Bundle) *bundle.Bundle {
	if q.CompactKnown {
		return b.Compact()
	}
	return b
}

// Failed records a failed upload of name and returns when it is tried again; the name goes to
// the back of the queue so that the others move on.
func (q *Queue) Failed(name string, now time.Time) time.Time {
	q.failures[name]++
	backoff := q.MinBackoff
	for i := 1; i < q.failures[name] && backoff < q.MaxBackoff; i++ {
		backoff *= 2
	}
	at := now.Add(min(backoff, q.MaxBackoff))
	q.retryAt[name] = at
	if _, queued := q.pending[name]; queued {
		q.remove(name)
		q.names = append(q.names, name)
		q.pending[name] = q.known[name]
	}
	return at
}

// MaxNotServedRetries is how many uploads in a row may go unserved before the retries wait for the
// next reconciliation: each upload is an HAProxy reload, and a proxy whose configuration is broken
// must not be reloaded in a tight loop.
const MaxNotServedRetries = 4

// NotServed records that the proxy did not present fingerprint for name after its upload, and
// queues the upload again after a backoff that doubles with each such upload in a row. After
// MaxNotServedRetries it queues nothing (retryAt is zero): the next reconciliation uploads again.
func (q *Queue) NotServed(name, fingerprint string, now time.Time) (attempts int, retryAt time.Time) {
	q.notServed[name] = fingerprint
	q.notServedRun[name]++
	attempts = q.notServedRun[name]
	if attempts > MaxNotServedRetries || q.known[name] == nil || q.known[name].Fingerprint() != fingerprint {
		return attempts, time.Time{}
	}
	backoff := q.MinBackoff
	for i := 1; i < attempts && backoff < q.MaxBackoff; i++ {
		backoff *= 2
	}
	retryAt = now.Add(min(backoff, q.MaxBackoff))
	q.Offer(name, q.known[name])
	q.retryAt[name] = retryAt
	return attempts, retryAt
}

// Served records that the proxy presents name's certificate.
func (q *Queue) Served(name string) {
	delete(q.notServed, name)
	delete(q.notServedRun, name)
}

// NotServedVerdicts is, per name, the fingerprint the proxy did not present (for Diff).
func (q *Queue) NotServedVerdicts() map[string]string { return q.notServed }

// Uploaded records that sent reached DFP for name at.
func (q *Queue) Uploaded(name string, sent *bundle.Bundle, at time.Time) {
	if known := q.known[name]; known != nil && known.Fingerprint() == sent.Fingerprint() {
		q.uploaded[name] = at
	}
}

// UploadedSince reports whether name's newest known bundle reached DFP at or after t: a list of
// DFP's certificates asked for at t may not show it yet.
func (q *Queue) UploadedSince(name string, t time.Time) bool {
	at, ok := q.uploaded[name]
	return ok && !at.Before(t)
}

// Len is the number of names with an upload to make.
func (q *Queue) Len() int { return len(q.names) }

// Known is the newest valid bundle per name, compact when it has no upload to make.
func (q *Queue) Known() map[string]*bundle.Bundle { return q.known }

// Forget drops name entirely (its certificate expired: never upload it again).
func (q *Queue) Forget(name string) {
	delete(q.known, name)
	delete(q.uploaded, name)
	delete(q.unverified, name)
	q.Served(name)
	delete(q.failures, name)
	delete(q.retryAt, name)
	if _, queued := q.pending[name]; queued {
		q.remove(name)
	}
}

func (q *Queue) remove(name string) {
	delete(q.pending, name)
	for i, n := range q.names {
		if n == name {
			q.names = append(q.names[:i:i], q.names[i+1:]...)
			return
		}
	}
}

func sortedNames(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
