// Package uploader puts certificates into DFP one at a time (each upload reloads HAProxy),
// after checking each bundle, because DFP stores whatever it gets and a PEM HAProxy cannot load
// breaks every later reload. While DFP is down it retries with backoff; nothing is dropped.
package uploader

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/metrics"
	"github.com/dfp-letsencrypt/provisioner/actors/async"
	"github.com/dfp-letsencrypt/provisioner/actors/uploader/queue"
	"github.com/dfp-letsencrypt/provisioner/actors/uploader/served"
	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/proxyapi"
)

type uploaderActor struct {
	cfg          Config
	distribution Distribution
	queue        *queue.Queue
	// busy: an upload is in flight (one at a time: each reloads HAProxy).
	busy            bool
	timers          *scheduler.TimerScheduler
	cancel          scheduler.CancelFunc
	reconciling     bool
	cancelReconcile scheduler.CancelFunc
	// comparing: a compareStored is scheduled. listFailures: DFP's list unreachable in a row.
	comparing    bool
	listFailures int
	// saidNewer is, per name, the newer certificate in DFP last warned about: one entry a name,
	// however many certificates someone else puts there.
	saidNewer map[string]string
	notServed map[string]bool // as last told to the parent, for alerts
	// The proxy watch: a round in flight, the name the last round ended on, when a round last
	// asked for DFP's list, and when a name not served was last served again.
	watching    bool
	watchCursor string
	watchAsked  time.Time
	restored    time.Time
	cancelWatch scheduler.CancelFunc
}

// Props builds the uploader. Its queue (what waits to be uploaded, and the newest bundle of every
// name) outlives an instance: a restarted uploader carries on where the failed one stopped.
func Props(cfg Config) *actor.Props {
	if cfg.DistributeRetry <= 0 {
		cfg.DistributeRetry = time.Hour
	}
	if cfg.SettleDelay <= 0 {
		cfg.SettleDelay = time.Second
	}
	q := queue.New(cfg.MinBackoff, cfg.MaxBackoff)
	q.CompactKnown = cfg.Load != nil
	return actor.PropsFromProducer(func() actor.Actor {
		return &uploaderActor{cfg: cfg, queue: q, saidNewer: map[string]string{}, notServed: map[string]bool{}}
	})
}

func (u *uploaderActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		u.timers = scheduler.NewTimerScheduler(ctx.ActorSystem().Root)
		every := u.cfg.ReconcileInterval
		u.cancelReconcile = async.Every(ctx, every, every, reconcileTick{})
		if u.cfg.ServeCheckAddr != "" && u.cfg.WatchInterval > 0 {
			u.cancelWatch = async.Every(ctx, u.cfg.WatchInterval, u.cfg.WatchInterval, watchTick{})
		}
		u.next(ctx) // after a restart, the kept queue may hold work
	case *actor.Stopping, *actor.Restarting:
		if u.cancel != nil {
			u.cancel()
		}
		if u.cancelReconcile != nil {
			u.cancelReconcile()
		}
		if u.cancelWatch != nil {
			u.cancelWatch()
		}
	case *messages.DeployCertificate:
		b, err := Validate(msg.Name, msg.Bundle, msg.Parsed, u.cfg.Now())
		switch {
		case err != nil:
			u.cfg.Logger.Error("certificate not uploaded: bundle failed validation", "event", event.UploadRejected,
				"domain", msg.Name, "error", err)
		case msg.Stored:
			if u.queue.Learn(msg.Name, b) {
				u.cfg.Book.Set(msg.Name, served.Stored, "", u.cfg.Now())
			}
			u.compareSoon(ctx, u.cfg.SettleDelay)
		default:
			u.offer(msg.Name, b)
			u.next(ctx)
		}
	case reconcileTick, *messages.ReconcileNow:
		u.reconcile(ctx)
	case compareStored:
		u.comparing = false
		u.reconcile(ctx)
	case listed:
		u.compare(ctx, msg)
	case uploaded:
		u.done(ctx, msg)
	case retry:
		u.next(ctx)
	case checkServed:
		addr := u.cfg.ServeCheckAddr
		async.WithTimeout(ctx, u.cfg.Logger, u.cfg.Timeout, func(c context.Context) serveChecked {
			got, err := proxyapi.ServedFingerprint(c, addr, msg.name)
			return serveChecked{checkServed: msg, got: got, err: err}
		}, func(err error) serveChecked { return serveChecked{checkServed: msg, err: err} })
	case serveChecked:
		u.reportServed(ctx, msg)
		u.next(ctx)
	case watchTick:
		u.watch(ctx)
	case watchRound:
		u.watched(ctx, msg)
	}
}

// next starts the next upload that is due, or sets a timer for the earliest retry.
func (u *uploaderActor) next(ctx actor.Context) {
	if u.busy {
		return
	}
	if u.cancel != nil {
		u.cancel()
		u.cancel = nil
	}
	name, b, wake := u.queue.Next(u.cfg.Now())
	if b == nil {
		if !wake.IsZero() {
			u.cancel = u.timers.SendOnce(max(wake.Sub(u.cfg.Now()), 0), ctx.Self(), retry{})
		}
		return
	}
	u.busy = true
	dfp, load, distribute := u.cfg.DFP, u.cfg.Load, u.cfg.Distribute && u.distribution.Use(u.cfg.Now())
	async.WithTimeout(ctx, u.cfg.Logger, u.cfg.Timeout, func(c context.Context) uploaded {
		pem, err := pemOf(name, b, load)
		if err == nil {
			err = dfp.PutCert(c, CertName(name), pem, distribute)
		}
		return uploaded{name: name, bundle: b, distribute: distribute, stored: err == nil && inStore(name, b, load), err: err}
	}, func(err error) uploaded { return uploaded{name: name, bundle: b, distribute: distribute, err: err} })
}

// inStore says whether the store holds b's very bytes (a compact b was read from it): only then
// may its PEM be let go.
func inStore(name string, b *bundle.Bundle, load func(string) ([]byte, error)) bool {
	if b.PEM == nil {
		return true
	}
	if load == nil {
		return false
	}
	pem, err := load(name)
	return err == nil && b.SamePEM(pem)
}

// pemOf is what is uploaded for b: its PEM, or, for a compact bundle, the store's, which must be
// the very bytes b was checked from.
func pemOf(name string, b *bundle.Bundle, load func(string) ([]byte, error)) ([]byte, error) {
	if b.PEM != nil {
		return b.PEM, nil
	}
	if load == nil {
		return nil, errors.New("the certificate is not held and there is no store to read it from")
	}
	pem, err := load(name)
	if err != nil {
		return nil, fmt.Errorf("reading the certificate to upload from the store: %w", err)
	}
	if !b.SamePEM(pem) {
		return nil, errors.New("the store holds another certificate for the name now; its own upload follows")
	}
	return pem, nil
}

func (u *uploaderActor) done(ctx actor.Context, res uploaded) {
	u.busy = false
	log := u.cfg.Logger.With("domain", res.name)
	var change DistributionChange
	u.distribution, change = AfterUpload(u.distribution, res.distribute, res.err, u.cfg.Now(), u.cfg.DistributeRetry)
	switch {
	case res.err == nil:
		metrics.Uploads.WithLabelValues("ok").Inc()
		log.Info("certificate uploaded to DFP", "event", event.CertificateUploaded, "cert_name", CertName(res.name),
			"not_after", res.bundle.NotAfter(), "distribute", res.distribute)
		if u.cfg.ServeCheckAddr != "" {
			u.timers.SendOnce(u.cfg.ServeCheckDelay, ctx.Self(), checkServed{name: res.name, fingerprint: res.bundle.Fingerprint()})
		}
		u.queue.Succeeded(res.name, res.bundle)
		if res.stored {
			u.queue.Stored(res.name, res.bundle)
		}
		u.queue.Uploaded(res.name, res.bundle, u.cfg.Now())
		// A name known not served stays so until its serve check sees it.
		if s, _ := u.cfg.Book.Of(res.name); !u.queue.Pending(res.name) && s.State != served.NotServed {
			u.cfg.Book.Set(res.name, served.Uploaded, "", u.cfg.Now())
		}
		if change == DistributionBack {
			log.Info("DFP distributes again; uploads reach every replica", "event", event.DistributeRestored)
		}
	case change == DistributionOff:
		metrics.Uploads.WithLabelValues("distribute_refused").Inc()
		log.Warn("DFP cannot distribute (not in Swarm?); uploading to this replica only until retry_at",
			"event", event.DistributeDisabled, "error", res.err, "retry_at", u.distribution.OffUntil)
	default:
		metrics.Uploads.WithLabelValues("failed").Inc()
		retryAt := u.queue.Failed(res.name, u.cfg.Now())
		log.Warn("upload to DFP failed; will retry", "event", event.UploadFailed, "error", res.err,
			"retry_at", retryAt, "queued", u.queue.Len())
	}
	u.next(ctx)
}

// offer queues b for name and says so in the book, unless the name is known not to be served:
// that stays the truth until its upload is seen served.
func (u *uploaderActor) offer(name string, b *bundle.Bundle) {
	u.queue.Offer(name, b)
	if s, _ := u.cfg.Book.Of(name); s.State != served.NotServed {
		u.cfg.Book.Set(name, served.Queued, "", u.cfg.Now())
	}
}
