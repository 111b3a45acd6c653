package queue

import (
	"reflect"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
	"github.com/dfp-letsencrypt/provisioner/test/certgen"
	"github.com/dfp-letsencrypt/provisioner/test/testkit"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// issued is a bundle for name, valid from an hour before t0 until notAfter.
func issued(t *testing.T, ca *certgen.CA, name string, notAfter time.Time) *bundle.Bundle {
	return testkit.Bundle(t, ca, []string{name}, t0.Add(-time.Hour), notAfter)
}

func TestQueueNewestWinsAndNamesKeepTheirPlace(t *testing.T) {
	ca, _ := certgen.NewCA("t")
	older, newer := issued(t, ca, "a.test", t0.Add(24*time.Hour)), issued(t, ca, "a.test", t0.Add(48*time.Hour))
	b := issued(t, ca, "b.test", t0.Add(24*time.Hour))
	q := New(time.Second, time.Minute)
	q.Offer("a.test", older)
	q.Offer("b.test", b)
	q.Offer("a.test", newer)
	q.Offer("a.test", older) // late, and older
	name, got, _ := q.Next(t0)
	if name != "a.test" || got != newer {
		t.Fatalf("next = %s (newer: %v); want a.test first, with its newest bundle", name, got == newer)
	}
	// A newer bundle arrives while the older one is on its way: the name stays queued.
	q.Succeeded("a.test", older)
	if name, got, _ := q.Next(t0); name != "a.test" || got != newer {
		t.Fatalf("after the older upload: next = %s; want a.test again with the newer bundle", name)
	}
	q.Succeeded("a.test", newer)
	if name, _, _ := q.Next(t0); name != "b.test" || q.Len() != 1 {
		t.Fatalf("next = %s with %d queued; want b.test alone", name, q.Len())
	}
}

func TestQueueRetriesPerNameAndKeepsMoving(t *testing.T) {
	ca, _ := certgen.NewCA("t")
	refused, fine := issued(t, ca, "refused.test", t0.Add(24*time.Hour)), issued(t, ca, "fine.test", t0.Add(24*time.Hour))
	q := New(time.Second, 4*time.Second)
	q.Offer("refused.test", refused)
	q.Offer("fine.test", fine)

	wantBackoff := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}
	now := t0
	for i, want := range wantBackoff {
		if at := q.Failed("refused.test", now); !at.Equal(now.Add(want)) {
			t.Fatalf("failure %d: retry at +%s, want +%s", i+1, at.Sub(now), want)
		}
		if i == 0 {
			// The refused name waits; the other one goes now.
			if name, _, _ := q.Next(now); name != "fine.test" {
				t.Fatalf("next = %q while refused.test backs off; want fine.test", name)
			}
			q.Succeeded("fine.test", fine)
		}
		if name, _, wake := q.Next(now); name != "" || !wake.Equal(now.Add(want)) {
			t.Fatalf("next = %q, wake %s; want nothing until refused.test's retry", name, wake)
		}
		now = now.Add(want)
	}
	if name, _, _ := q.Next(now); name != "refused.test" {
		t.Fatalf("next = %q at the retry time; want refused.test", name)
	}
	q.Succeeded("refused.test", refused)
	q.Offer("refused.test", refused)
	if at := q.Failed("refused.test", now); !at.Equal(now.Add(time.Second)) {
		t.Fatalf("backoff after a success restarted at +%s, want +1s", at.Sub(now))
	}
	q.Forget("refused.test")
	if name, _, wake := q.Next(now); name != "" || !wake.IsZero() || len(q.Known()) != 1 {
		t.Fatalf("after Forget: next %q, wake %s, known %d; want nothing queued and one known", name, wake, len(q.Known()))
	}
}

func TestLearnWaitsForTheComparison(t *testing.T) {
	ca, _ := certgen.NewCA("ours")
	a, newer := issued(t, ca, "a.test", t0.Add(24*time.Hour)), issued(t, ca, "a.test", t0.Add(48*time.Hour))
	q := New(time.Second, time.Minute)
	q.Learn("a.test", a)
	if q.Len() != 0 || q.Unverified() != 1 || q.Known()["a.test"] != a {
		t.Fatalf("after Learn: %d queued, %d unverified", q.Len(), q.Unverified())
	}
	q.Offer("a.test", newer) // just issued: queued at once, and no longer waiting for a comparison
	q.Learn("a.test", a)     // an older stored copy arriving late changes nothing
	if q.Len() != 1 || q.Unverified() != 0 || q.Known()["a.test"] != newer {
		t.Fatalf("after Offer: %d queued, %d unverified", q.Len(), q.Unverified())
	}
	q2 := New(time.Second, time.Minute)
	q2.Learn("a.test", a)
	q2.OfferUnverified()
	if q2.Len() != 1 || q2.Unverified() != 0 {
		t.Fatalf("OfferUnverified: %d queued, %d unverified", q2.Len(), q2.Unverified())
	}
}

// NotServed: the upload goes again after a backoff that doubles, a few times; then not until the
// next reconciliation. A served check ends the run.
func TestNotServedBacksOffAndStops(t *testing.T) {
	ca, _ := certgen.NewCA("ours")
	a := issued(t, ca, "a.test", t0.Add(24*time.Hour))
	q := New(time.Second, time.Minute)
	q.Offer("a.test", a)
	q.Succeeded("a.test", a)
	var waits []time.Duration
	for i := 0; i < MaxNotServedRetries+1; i++ {
		attempts, at := q.NotServed("a.test", a.Fingerprint(), t0)
		if attempts != i+1 {
			t.Fatalf("attempt %d counted as %d", i+1, attempts)
		}
		if at.IsZero() {
			waits = append(waits, 0)
			continue
		}
		waits = append(waits, at.Sub(t0))
		q.Succeeded("a.test", a)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 0}
	if !reflect.DeepEqual(waits, want) {
		t.Fatalf("waits %v, want %v", waits, want)
	}
	if q.Len() != 0 {
		t.Error("queued after the retries ran out")
	}
	q.Served("a.test")
	if attempts, _ := q.NotServed("a.test", a.Fingerprint(), t0); attempts != 1 {
		t.Errorf("after a served check the run restarts at 1, got %d", attempts)
	}
}

// A list of DFP's certificates asked for before an upload ended does not show it: that name is
// not missing, and uploading it again would be a needless HAProxy reload.
func TestUploadedSince(t *testing.T) {
	ca, _ := certgen.NewCA("ours")
	a, newer := issued(t, ca, "a.test", t0.Add(24*time.Hour)), issued(t, ca, "a.test", t0.Add(48*time.Hour))
	q := New(time.Second, time.Minute)
	q.Offer("a.test", a)
	q.Succeeded("a.test", a)
	q.Uploaded("a.test", a, t0.Add(time.Second))
	if !q.UploadedSince("a.test", t0) {
		t.Error("an upload after the list was asked for is not recognised")
	}
	if q.UploadedSince("a.test", t0.Add(2*time.Second)) {
		t.Error("a list asked for after the upload must be believed")
	}
	q.Offer("a.test", newer)
	if q.UploadedSince("a.test", t0) {
		t.Error("the upload of an older bundle vouches for a newer one")
	}
}

// With CompactKnown, a name with nothing to upload is known compact: learned from the store, or
// uploaded and found in the store; one queued, or not stored, keeps its PEM.
func TestKnownBundlesAreCompactWithNothingToUpload(t *testing.T) {
	ca, _ := certgen.NewCA("ours")
	a, b := issued(t, ca, "a.test", t0.Add(24*time.Hour)), issued(t, ca, "b.test", t0.Add(24*time.Hour))
	q := New(time.Second, time.Minute)
	q.CompactKnown = true
	q.Learn("a.test", a)
	if k := q.Known()["a.test"]; k.PEM != nil || k.Fingerprint() != a.Fingerprint() {
		t.Errorf("learned: PEM held %v, fingerprint %s", k.PEM != nil, k.Fingerprint())
	}
	q.Offer("b.test", b)
	if _, next, _ := q.Next(t0); next == nil || next.PEM == nil {
		t.Fatal("a queued upload lost its PEM")
	}
	q.Succeeded("b.test", b)
	q.Uploaded("b.test", b, t0)
	if k := q.Known()["b.test"]; k.PEM == nil || !q.UploadedSince("b.test", t0) || q.Len() != 0 {
		t.Errorf("uploaded, not known stored: PEM held %v, uploaded %v, %d queued", k.PEM != nil, q.UploadedSince("b.test", t0), q.Len())
	}
	q.Stored("b.test", b)
	if k := q.Known()["b.test"]; k.PEM != nil {
		t.Error("uploaded and stored, the PEM is still held")
	}
}
