package uploader

// Reconciliation: DFP's list read off the mailbox and compared with what it should hold (Diff).

import (
	"context"
	"maps"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/metrics"
	"github.com/dfp-letsencrypt/provisioner/actors/async"
	"github.com/dfp-letsencrypt/provisioner/actors/uploader/served"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/proxyapi"
)

// reconcile fetches what DFP holds, off the mailbox.
func (u *uploaderActor) reconcile(ctx actor.Context) {
	if u.reconciling || len(u.queue.Known()) == 0 {
		return
	}
	u.reconciling = true
	dfp, askedAt := u.cfg.DFP, u.cfg.Now()
	// The comparison runs with the list as it is decoded, off the mailbox, on copies of what it
	// reads (the bundles themselves are never changed).
	d := NewDiffer(maps.Clone(u.queue.Known()), maps.Clone(u.queue.NotServedVerdicts()), u.cfg.Roots, askedAt)
	async.WithTimeout(ctx, u.cfg.Logger, u.cfg.Timeout, func(c context.Context) listed {
		held := 0
		err := dfp.EachCert(c, func(cert proxyapi.Cert) error {
			held++
			d.Add(cert)
			return nil
		})
		if err != nil {
			return listed{err: err, askedAt: askedAt}
		}
		stale, newer, expired := d.Result()
		return listed{held: held, stale: stale, newer: newer, expired: expired, askedAt: askedAt}
	}, func(err error) listed { return listed{err: err, askedAt: askedAt} })
}

// compare queues every known certificate that DFP lacks, holds in a form HAProxy cannot load, or
// holds in an older version. A newer valid one in DFP (put there by someone else) is left alone.
func (u *uploaderActor) compare(ctx actor.Context, res listed) {
	u.reconciling = false
	now := u.cfg.Now()
	if res.err != nil {
		metrics.Reconciliations.WithLabelValues("failed").Inc()
		u.listFailures++
		decision, wait := AfterListFailure(res.err, u.queue.Unverified() > 0, u.listFailures, u.cfg.MinBackoff, u.cfg.MaxBackoff, u.cfg.ReconcileInterval)
		msg := "could not list DFP's certificates; will compare again"
		if decision == UploadUncompared {
			msg = "could not read DFP's list of certificates; uploading the stored ones without comparing"
		}
		u.cfg.Logger.Warn(msg, "event", event.ReconcileFailed, "error", res.err, "retry_at", now.Add(wait))
		switch decision {
		case CompareSoon:
			u.compareSoon(ctx, wait)
		case UploadUncompared:
			for _, name := range u.queue.OfferUnverified() {
				u.cfg.Book.Set(name, served.Queued, "", now)
			}
			u.next(ctx)
		}
		return
	}
	metrics.Reconciliations.WithLabelValues("ok").Inc()
	u.listFailures = 0
	u.queue.Verified()
	stale := res.stale
	for _, name := range res.expired {
		if k := u.queue.Known()[name]; k != nil && k.Check(name, now) == nil {
			continue // a new certificate arrived while the list was read
		}
		u.queue.Forget(name)
		u.cfg.Book.Forget(name)
		delete(u.saidNewer, name)
	}
	for _, n := range res.newer {
		if fp := n.Held.Fingerprint(); u.saidNewer[n.Name] != fp {
			u.saidNewer[n.Name] = fp
			u.cfg.Logger.Warn("DFP holds a newer certificate than this service; leaving it", "event", event.DFPHasNewer,
				"domain", n.Name, "dfp_not_after", n.Held.Leaf.NotAfter, "not_after", n.NotAfter)
		}
	}
	for _, s := range stale {
		if u.queue.UploadedSince(s.Name, res.askedAt) {
			continue // uploaded while the list was on its way: it is not missing, only late in the list
		}
		known := u.queue.Known()[s.Name]
		if known == nil {
			continue // forgotten while the list was read
		}
		u.cfg.Logger.Info("DFP's copy is out of date; uploading again", "event", event.ReconcileUpload, "domain", s.Name, "reason", string(s.Reason))
		u.queue.Offer(s.Name, known)
		// Not served until the upload is seen: DFP lacks the newest certificate, HAProxy cannot present it.
		u.cfg.Book.Set(s.Name, served.NotServed, s.Reason.Why(), now)
	}
	for name := range u.queue.Known() {
		if s, _ := u.cfg.Book.Of(name); s.State == served.Stored && !u.queue.Pending(name) {
			u.cfg.Book.Set(name, served.Held, "", now)
		}
	}
	u.cfg.Logger.Debug("compared DFP's certificates with the store", "event", event.Reconciled, "held", res.held, "stale", len(stale))
	u.next(ctx)
}

// compareSoon schedules a comparison of the stored certificates with DFP's list after wait, unless
// one is scheduled already.
func (u *uploaderActor) compareSoon(ctx actor.Context, wait time.Duration) {
	if !u.comparing {
		u.comparing = true
		u.timers.SendOnce(wait, ctx.Self(), compareStored{})
	}
}
