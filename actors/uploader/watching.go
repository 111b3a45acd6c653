package uploader

// The watch's actor side: a timer each WatchInterval, the handshakes off the mailbox, and what
// their answers change (see watch.go for the rules).

import (
	"context"
	"errors"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/metrics"
	"github.com/dfp-letsencrypt/provisioner/actors/async"
	"github.com/dfp-letsencrypt/provisioner/actors/uploader/served"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/proxyapi"
)

// watchHandshake bounds one handshake of a round: a proxy that hangs must be found not served,
// not leave the round to the uploader's timeout, which would discard it.
const watchHandshake = 3 * time.Second

// watchTick is the timer message that starts a watch round.
type watchTick struct{}

// watchedName is one handshake of a round.
type watchedName struct {
	name, want, got string
	err             error
}

// watchRound is a round's handshakes, sent back by the goroutine that made them.
type watchRound struct{ names []watchedName }

// watch samples the names not waiting for an upload or its check and asks the proxy for each.
func (u *uploaderActor) watch(ctx actor.Context) {
	if u.watching {
		return
	}
	var candidates []string
	for name := range u.queue.Known() {
		if s, _ := u.cfg.Book.Of(name); s.State != served.Queued && s.State != served.Uploaded && !u.queue.Pending(name) {
			candidates = append(candidates, name)
		}
	}
	var picked []string
	picked, u.watchCursor = served.Sample(candidates, u.watchCursor, served.WatchSize(len(u.queue.Known()), u.cfg.WatchInterval))
	if len(picked) == 0 {
		return
	}
	round := make([]watchedName, len(picked))
	for i, name := range picked {
		round[i] = watchedName{name: name, want: u.queue.Known()[name].Fingerprint()}
	}
	u.watching = true
	addr := u.cfg.ServeCheckAddr
	async.WithTimeout(ctx, u.cfg.Logger, u.cfg.Timeout, func(c context.Context) watchRound {
		for i := range round {
			hc, cancel := context.WithTimeout(c, watchHandshake)
			round[i].got, round[i].err = proxyapi.ServedFingerprint(hc, addr, round[i].name)
			cancel()
			if errors.Is(round[i].err, context.DeadlineExceeded) {
				// A port that accepts and never answers: one such finding is the round's, and the
				// rest would only wait the same.
				return watchRound{names: round[:i+1]}
			}
		}
		return watchRound{names: round}
	}, func(err error) watchRound { return watchRound{} })
}

// watched records a round's answers and reads DFP's list at once when the proxy lost a name.
func (u *uploaderActor) watched(ctx actor.Context, res watchRound) {
	u.watching = false
	now := u.cfg.Now()
	lost := 0
	for _, w := range res.names {
		known := u.queue.Known()[w.name]
		if known == nil || known.Fingerprint() != w.want || u.queue.Pending(w.name) {
			continue // renewed or queued meanwhile: its upload's own check tells
		}
		state, why := served.Watched(w.err, w.got, w.want)
		before, _ := u.cfg.Book.Of(w.name)
		metrics.ServeChecks.WithLabelValues(string(state)).Inc()
		u.cfg.Book.Set(w.name, state, why, now)
		switch {
		case state == served.NotServed && before.State != served.NotServed:
			lost++
			u.trouble(ctx, w.name, true, why)
			u.cfg.Logger.Warn("the proxy does not serve the name's certificate", "event", event.ProxyNotServing,
				"domain", w.name, "why", why, "last_served", before.LastServed)
		case state == served.Served && before.State == served.NotServed:
			u.restored = now
			u.trouble(ctx, w.name, false, "")
			u.cfg.Logger.Info("the proxy serves the name's certificate again", "event", event.CertificateServed,
				"domain", w.name, "fingerprint", w.got)
		}
	}
	if served.WatchReconcile(lost, u.watchAsked, u.restored, now, u.cfg.ReconcileInterval/5) {
		u.watchAsked = now
		u.cfg.Logger.Warn("the proxy lost certificates; comparing DFP's list now", "event", event.ProxyLostCertificates,
			"not_served", lost, "sampled", len(res.names))
		u.reconcile(ctx)
	}
}
