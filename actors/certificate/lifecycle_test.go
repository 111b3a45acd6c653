package certificate

import (
	"slices"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/issuer"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/actors/certificate/schedule"
	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
	"github.com/dfp-letsencrypt/provisioner/test/certgen"
	"github.com/dfp-letsencrypt/provisioner/test/testkit"
)

var (
	day = 24 * time.Hour
	// t0 is when the test certificate was issued; it is valid for 90 days.
	t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

func ninetyDayBundle(t *testing.T) *bundle.Bundle {
	return testkit.Bundle(t, testkit.Must[*certgen.CA](t)(certgen.NewCA("t")), []string{"a.example.com"}, t0, t0.Add(90*day))
}

func TestDecide(t *testing.T) {
	b := ninetyDayBundle(t)
	fp := b.Fingerprint()
	window := func(start, end, renewAt time.Duration) *store.ARI {
		return &store.ARI{Certificate: fp, Start: t0.Add(start), End: t0.Add(end), RenewAt: t0.Add(renewAt), NextCheck: t0.Add(100 * day)}
	}
	cases := []struct {
		name      string
		now       time.Duration // after t0
		state     store.State
		stored    *bundle.Bundle
		usable    bool
		preflight bool
		want      Decision
	}{
		{name: "no certificate: ask for a permit", now: 0,
			want: Decision{Step: AskPermit}},
		{name: "no certificate, pre-flight on: check first", now: 0, preflight: true,
			want: Decision{Step: CheckFirst}},
		{name: "fresh certificate without a window: ask the CA", now: day, stored: b, usable: true,
			want: Decision{Step: FetchARI, Renewal: true}},
		{name: "a window for another certificate is not trusted", now: day, stored: b, usable: true,
			state: store.State{ARI: &store.ARI{Certificate: "other", Start: t0, End: t0.Add(day), NextCheck: t0.Add(100 * day)}},
			want:  Decision{Step: FetchARI, Renewal: true}},
		{name: "window due for a re-check: ask the CA", now: 61 * day, stored: b, usable: true,
			state: store.State{ARI: &store.ARI{Certificate: fp, Start: t0.Add(60 * day), End: t0.Add(62 * day), RenewAt: t0.Add(61 * day), NextCheck: t0.Add(61 * day)}},
			want:  Decision{Step: FetchARI, Renewal: true}},
		{name: "not due: wait for the renewal time", now: day, stored: b, usable: true,
			state: store.State{ARI: window(60*day, 62*day, 61*day)},
			want:  Decision{Step: Wait, At: t0.Add(61 * day), Why: UntilDue, Renewal: true}},
		{name: "the next ARI check comes before the renewal time", now: day, stored: b, usable: true,
			state: store.State{ARI: &store.ARI{Certificate: fp, Start: t0.Add(60 * day), End: t0.Add(62 * day), RenewAt: t0.Add(61 * day), NextCheck: t0.Add(2 * day)}},
			want:  Decision{Step: Wait, At: t0.Add(2 * day), Why: UntilDue, Renewal: true}},
		{name: "a window that opens at issuance does not renew a fresh certificate", now: time.Hour, stored: b, usable: true,
			state: store.State{ARI: window(0, 90*day, 30*time.Minute)},
			want:  Decision{Step: Wait, At: t0.Add(30 * day), Why: UntilDue, Renewal: true}},
		{name: "a window already over at issuance: held back a day, and said", now: time.Hour, stored: b, usable: true,
			state: store.State{ARI: window(-day, time.Hour, 0)},
			want:  Decision{Step: Wait, At: t0.Add(day), Why: UntilDue, Renewal: true, Spaced: true}},
		{name: "a day old, that window renews, still said", now: day, stored: b, usable: true,
			state: store.State{ARI: window(-day, time.Hour, 0)},
			want:  Decision{Step: AskPermit, Renewal: true, Due: t0.Add(day), Replaces: true, Spaced: true}},
		{name: "inside the window: renew with replaces, exempt", now: 61 * day, stored: b, usable: true,
			state: store.State{ARI: window(60*day, 62*day, 61*day)},
			want:  Decision{Step: AskPermit, Renewal: true, Due: t0.Add(61 * day), Replaces: true, InWindow: true}},
		{name: "past the window: replaces, but not exempt", now: 63 * day, stored: b, usable: true,
			state: store.State{ARI: window(60*day, 62*day, 61*day)},
			want:  Decision{Step: AskPermit, Renewal: true, Due: t0.Add(61 * day), Replaces: true}},
		{name: "replaces refused: renew without it", now: 61 * day, stored: b, usable: true,
			state: store.State{ARI: &store.ARI{Certificate: fp, Start: t0.Add(60 * day), End: t0.Add(62 * day), RenewAt: t0.Add(61 * day), NextCheck: t0.Add(100 * day), ReplacesRefused: true}},
			want:  Decision{Step: AskPermit, Renewal: true, Due: t0.Add(61 * day)}},
		{name: "CA without ARI: a third of the lifetime left", now: 60 * day, stored: b, usable: true,
			state: store.State{ARI: &store.ARI{Certificate: fp, Unsupported: true, NextCheck: t0.Add(100 * day)}},
			want:  Decision{Step: AskPermit, Renewal: true, Due: t0.Add(60 * day)}},
		{name: "due but backing off: wait for the retry", now: 61 * day, stored: b, usable: true,
			state: store.State{ARI: window(60*day, 62*day, 61*day), Failures: 2, NextAttempt: t0.Add(61*day + 10*time.Minute)},
			want:  Decision{Step: Wait, At: t0.Add(61*day + 10*time.Minute), Why: UntilRetry, Renewal: true, Due: t0.Add(61 * day), Replaces: true, InWindow: true}},
		{name: "a paused name stays paused, even when due", now: 61 * day, stored: b, usable: true,
			state: store.State{ARI: window(60*day, 62*day, 61*day), PausedURL: "https://ca/unpause"},
			want:  Decision{Step: StayPaused, Renewal: true, Due: t0.Add(61 * day), Replaces: true, InWindow: true}},
		{name: "a paused name without a certificate stays paused past its retry time", now: day,
			state: store.State{PausedURL: "https://ca/unpause", NextAttempt: t0},
			want:  Decision{Step: StayPaused}},
		{name: "past the alarm time and not renewed: the alarm", now: 86 * day, stored: b, usable: true,
			state: store.State{ARI: window(60*day, 62*day, 61*day), NextAttempt: t0.Add(87 * day)},
			want:  Decision{Step: Wait, At: t0.Add(87 * day), Why: UntilRetry, Renewal: true, Due: t0.Add(61 * day), Replaces: true, Expiring: true}},
		{name: "an expired certificate under backoff waits, and still alarms", now: 91 * day, stored: b, usable: false,
			state: store.State{Failures: 5, NextAttempt: t0.Add(92 * day)},
			want:  Decision{Step: Wait, At: t0.Add(92 * day), Why: UntilRetry, Renewal: true, Expiring: true}},
		{name: "an expired certificate past its backoff: order, as a renewal", now: 92 * day, stored: b, usable: false,
			state: store.State{Failures: 5, NextAttempt: t0.Add(92 * day)},
			want:  Decision{Step: AskPermit, Renewal: true, Expiring: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Decide(Facts{Now: t0.Add(c.now), State: c.state, Stored: c.stored, Usable: c.usable, Preflight: c.preflight})
			if got != c.want {
				t.Fatalf("Decide =\n  %+v\nwant\n  %+v", got, c.want)
			}
		})
	}
}

func TestOrdered(t *testing.T) {
	now := t0
	noJitter := func(time.Duration) time.Duration { return 0 }
	fullJitter := func(n time.Duration) time.Duration { return max(n-1, 0) }
	withARI := store.State{Failures: 2, ARI: &store.ARI{Certificate: "fp", Start: now, End: now.Add(day)}}
	cases := []struct {
		name    string
		state   store.State
		failure *issuer.Failure
		jitter  schedule.Jitter
		want    Result
	}{
		{name: "issued: failures, pause and window are forgotten", state: store.State{Failures: 3, PausedURL: "x", LastError: "boom"},
			want: Result{State: store.State{LastAttempt: now}, Outcome: messages.OutcomeIssued, WakeAt: now}},
		{name: "replaces refused: again at once, without replaces", state: withARI, failure: &issuer.Failure{Kind: issuer.ReplacesRefused},
			want: Result{State: store.State{Failures: 2, ARI: &store.ARI{Certificate: "fp", Start: now, End: now.Add(day), ReplacesRefused: true}},
				Outcome: messages.OutcomeNotOrdered, WakeAt: now}},
		{name: "issued but not stored: counted as issued, saved again shortly, no failure", state: store.State{Failures: 2},
			failure: &issuer.Failure{Kind: issuer.NotKept},
			want:    Result{State: store.State{LastAttempt: now, LastError: "err"}, Outcome: messages.OutcomeIssued, WakeAt: now.Add(SaveRetry)}},
		{name: "issued but unusable here: counted as issued, the next order after a backoff", failure: &issuer.Failure{Kind: issuer.IssuedUnusable},
			want: Result{State: store.State{Failures: 1, LastError: "err", LastAttempt: now, NextAttempt: now.Add(time.Minute)},
				Outcome: messages.OutcomeIssued, WakeAt: now.Add(time.Minute)}},
		{name: "in flight elsewhere: look again shortly, nothing spent", state: store.State{Failures: 1}, failure: &issuer.Failure{Kind: issuer.InFlight},
			want: Result{State: store.State{Failures: 1}, Outcome: messages.OutcomeNotOrdered, WakeAt: now.Add(inFlightRecheck)}},
		{name: "paused: no wake-up until an operator acts", failure: &issuer.Failure{Kind: issuer.Paused, RetryAt: now.Add(day), UnpauseURL: "https://ca/unpause"},
			want: Result{State: store.State{PausedURL: "https://ca/unpause", LastError: "err", LastAttempt: now}, Outcome: messages.OutcomePaused}},
		{name: "rate limited: the CA's time, spread a little after it", failure: &issuer.Failure{Kind: issuer.RateLimited, RetryAt: now.Add(time.Hour), Limit: messages.LimitNewOrders},
			jitter: fullJitter,
			want: Result{State: store.State{LastError: "err", LastAttempt: now, NextAttempt: now.Add(time.Hour + time.Minute - 1)},
				Outcome: messages.OutcomeRateLimited, RetryAt: now.Add(time.Hour), Limit: messages.LimitNewOrders, WakeAt: now.Add(time.Hour + time.Minute - 1)}},
		{name: "rate limited with a time already past: the normal backoff, never sooner", state: store.State{Failures: 1},
			failure: &issuer.Failure{Kind: issuer.RateLimited, RetryAt: now.Add(-time.Hour), Limit: messages.LimitCertificatesPerExactSet},
			want: Result{State: store.State{Failures: 2, LastError: "err", LastAttempt: now, NextAttempt: now.Add(10 * time.Minute)},
				Outcome: messages.OutcomeRateLimited, RetryAt: now.Add(10 * time.Minute), Limit: messages.LimitCertificatesPerExactSet, WakeAt: now.Add(10 * time.Minute)}},
		{name: "rate limited without a time: the normal backoff", failure: &issuer.Failure{Kind: issuer.RateLimited},
			want: Result{State: store.State{Failures: 1, LastError: "err", LastAttempt: now, NextAttempt: now.Add(time.Minute)},
				Outcome: messages.OutcomeRateLimited, RetryAt: now.Add(time.Minute), WakeAt: now.Add(time.Minute)}},
		{name: "validation failed: third failure waits 100 min plus up to 10%", state: store.State{Failures: 2}, failure: &issuer.Failure{Kind: issuer.ValidationFailed},
			jitter: fullJitter,
			want: Result{State: store.State{Failures: 3, LastError: "err", LastAttempt: now, NextAttempt: now.Add(110 * time.Minute)},
				Outcome: messages.OutcomeValidationFailed, WakeAt: now.Add(110 * time.Minute)}},
		{name: "any other failure: daily from the fourth", state: store.State{Failures: 7}, failure: &issuer.Failure{Kind: issuer.Other},
			want: Result{State: store.State{Failures: 8, LastError: "err", LastAttempt: now, NextAttempt: now.Add(day)},
				Outcome: messages.OutcomeFailed, WakeAt: now.Add(day)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			jitter := c.jitter
			if jitter == nil {
				jitter = noJitter
			}
			got := Ordered(c.state, c.failure, "err", now, jitter)
			if c.failure == nil {
				got.State.LastError = "" // an issued order carries no error text
			}
			if !sameResult(got, c.want) {
				t.Fatalf("Ordered =\n  %+v (ARI %+v)\nwant\n  %+v (ARI %+v)", got, got.State.ARI, c.want, c.want.State.ARI)
			}
		})
	}
	// The caller's state is not changed behind its back.
	Ordered(withARI, &issuer.Failure{Kind: issuer.ReplacesRefused}, "err", now, noJitter)
	if withARI.ARI.ReplacesRefused {
		t.Fatal("Ordered changed the ARI record it was given")
	}
}

func sameResult(a, b Result) bool {
	aARI, bARI := a.State.ARI, b.State.ARI
	a.State.ARI, b.State.ARI = nil, nil
	if (aARI == nil) != (bARI == nil) || aARI != nil && *aARI != *bARI {
		return false
	}
	return a == b
}

func TestRetryRequestedAndPreflightFailed(t *testing.T) {
	st := RetryRequested(store.State{Failures: 4, NextAttempt: t0.Add(day), PausedURL: "https://ca/unpause"})
	if !st.NextAttempt.IsZero() || st.PausedURL != "" || st.Failures != 4 {
		t.Fatalf("after retry-now: %+v; want no backoff, no pause, the count kept", st)
	}
	st = PreflightFailed(store.State{}, "no such host", t0, func(time.Duration) time.Duration { return 0 })
	if st.Failures != 1 || !st.NextAttempt.Equal(t0.Add(time.Minute)) || st.LastError != "no such host" {
		t.Fatalf("after a failed pre-flight: %+v; want one failure and a retry in a minute", st)
	}
}

func TestTroubles(t *testing.T) {
	cases := []struct {
		name  string
		st    store.State
		d     Decision
		after int
		want  []string
	}{
		{"nothing wrong", store.State{}, Decision{}, 3, nil},
		{"two failures, alert after three", store.State{Failures: 2}, Decision{}, 3, nil},
		{"three failures", store.State{Failures: 3}, Decision{}, 3, []string{messages.TroubleFailing}},
		{"alerts off", store.State{Failures: 9}, Decision{}, 0, nil},
		{"paused and failing", store.State{Failures: 1, PausedURL: "https://u"}, Decision{}, 1, []string{messages.TroubleFailing, messages.TroublePaused}},
		{"expiring", store.State{}, Decision{Expiring: true}, 3, []string{messages.TroubleExpiring}},
		{"renewals held back", store.State{}, Decision{Spaced: true}, 3, []string{messages.TroubleSpaced}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for kind, active := range Troubles(c.st, c.d, c.after) {
				if active {
					got = append(got, kind)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Fatalf("Troubles = %v, want %v", got, c.want)
			}
		})
	}
}

// The lifetime changes need no change here: without a window from the CA (no ARI), 45-day and
// 64-day certificates fall due when a third of their lifetime is left, 30 and 42.7 days after
// issuance, as 90-day ones do at 60.
func TestShorterLifetimesRenewOnTimeWithoutARI(t *testing.T) {
	ca := testkit.Must[*certgen.CA](t)(certgen.NewCA("t"))
	for _, c := range []struct {
		life, due time.Duration
	}{
		{45 * day, 30 * day},
		{64 * day, 64 * day * 2 / 3},
		{90 * day, 60 * day},
	} {
		b := testkit.Bundle(t, ca, []string{"a.example.com"}, t0, t0.Add(c.life))
		state := store.State{ARI: &store.ARI{Certificate: b.Fingerprint(), Unsupported: true, NextCheck: t0.Add(c.life)}}
		before := Decide(Facts{Now: t0.Add(c.due - time.Minute), State: state, Stored: b, Usable: true})
		if before.Step != Wait || !before.At.Equal(t0.Add(c.due)) {
			t.Errorf("%s: a minute before %s: %+v, want to wait for then", c.life, c.due, before)
		}
		at := Decide(Facts{Now: t0.Add(c.due), State: state, Stored: b, Usable: true})
		if at.Step != AskPermit || !at.Due.Equal(t0.Add(c.due)) || at.Replaces {
			t.Errorf("%s: at %s: %+v, want a permit asked, without replaces", c.life, c.due, at)
		}
	}
}
