// Package uploader puts certificates into DFP one at a time (each upload reloads HAProxy),
// after checking each bundle, because DFP stores whatever it gets and a PEM HAProxy cannot load
// breaks every later reload. While DFP is down it retries with backoff; nothing is dropped.
package uploader

import (
	"context"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"

	"github.com/dfp-letsencrypt/provisioner/actors/async"
	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/proxyapi"
)

// DFP is the part of the DFP client the uploader uses; *proxyapi.Client is the real one.
type DFP interface {
	PutCert(ctx context.Context, certName string, pem []byte, distribute bool) error
	Certs(ctx context.Context) ([]proxyapi.Cert, error)
}

// Config tunes the uploader.
type Config struct {
	DFP        DFP
	Distribute bool
	// ReconcileInterval is how often DFP's certificates are compared with the newest known ones.
	ReconcileInterval time.Duration
	// ServeCheckAddr is the proxy's TLS address (host:443) where each upload is checked to be
	// served; "" turns the check off.
	ServeCheckAddr string
	// ServeCheckDelay lets HAProxy finish its reload (about 0.6 s) before an upload is checked.
	ServeCheckDelay time.Duration
	Timeout         time.Duration // one PUT; a poisoned PEM makes DFP take 20 s
	MinBackoff      time.Duration
	MaxBackoff      time.Duration
	Logger          *slog.Logger
	Now             func() time.Time
}

// CertName is the file name a certificate for name gets in DFP's /certs.
func CertName(name string) string { return name + ".pem" }

type pending struct {
	name   string
	bundle *proxyapi.Bundle
}

// uploaded is the result of one PUT, sent back by the goroutine that made it.
type uploaded struct {
	job        pending
	distribute bool
	err        error
}

// retry is the timer message that ends a backoff.
type retry struct{}

// checkServed is the timer message that starts a serve check of one upload.
type checkServed struct {
	name        string
	fingerprint string
}

// served is what the proxy presented for a name.
type served struct {
	checkServed
	got string
	err error
}

// reconcileTick is the timer message that starts a reconciliation.
type reconcileTick struct{}

// listed is DFP's certificate list, fetched for a reconciliation.
type listed struct {
	certs []proxyapi.Cert
	err   error
}

type uploaderActor struct {
	cfg        Config
	distribute bool
	queue      []string            // names in arrival order
	latest     map[string]*pending // newest bundle per queued name
	busy       bool
	backingOff bool
	backoff    time.Duration
	timers     *scheduler.TimerScheduler
	cancel     scheduler.CancelFunc
	// known is the newest valid bundle per name: what DFP should hold.
	known           map[string]*proxyapi.Bundle
	reconciling     bool
	cancelReconcile scheduler.CancelFunc
	said            map[string]bool
}

// Props builds the uploader.
func Props(cfg Config) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &uploaderActor{cfg: cfg, distribute: cfg.Distribute, latest: map[string]*pending{},
			known: map[string]*proxyapi.Bundle{}, said: map[string]bool{}}
	})
}

func (u *uploaderActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		u.timers = scheduler.NewTimerScheduler(ctx.ActorSystem().Root)
		every := u.cfg.ReconcileInterval
		u.cancelReconcile = u.timers.SendRepeatedly(every, every, ctx.Self(), reconcileTick{})
	case *actor.Stopping, *actor.Restarting:
		if u.cancel != nil {
			u.cancel()
		}
		if u.cancelReconcile != nil {
			u.cancelReconcile()
		}
	case *messages.DeployCertificate:
		if b := u.validate(msg.Name, msg.Bundle); b != nil {
			u.enqueue(msg.Name, b)
			u.next(ctx)
		}
	case reconcileTick, *messages.ReconcileNow:
		u.reconcile(ctx)
	case listed:
		u.compare(ctx, msg)
	case uploaded:
		u.done(ctx, msg)
	case retry:
		u.backingOff = false
		u.next(ctx)
	case checkServed:
		addr := u.cfg.ServeCheckAddr
		async.WithTimeout(ctx, u.cfg.Timeout, func(c context.Context) any {
			got, err := proxyapi.ServedFingerprint(c, addr, msg.name)
			return served{checkServed: msg, got: got, err: err}
		})
	case served:
		u.reportServed(msg)
	}
}

// validate checks a bundle before it is queued: nothing invalid ever leaves the process.
func (u *uploaderActor) validate(name string, pem []byte) *proxyapi.Bundle {
	b, err := proxyapi.ParseBundle(pem)
	if err == nil {
		err = b.Check(name, u.cfg.Now())
	}
	if err != nil {
		u.cfg.Logger.Error("certificate not uploaded: bundle failed validation", "event", event.UploadRejected,
			"domain", name, "error", err)
		return nil
	}
	return b
}

// enqueue queues the newest bundle known for name: one arriving late never overwrites a newer one.
func (u *uploaderActor) enqueue(name string, b *proxyapi.Bundle) {
	if cur := u.known[name]; cur == nil || !b.Leaf.NotAfter.Before(cur.Leaf.NotAfter) {
		u.known[name] = b
	}
	if _, queued := u.latest[name]; !queued {
		u.queue = append(u.queue, name)
	}
	u.latest[name] = &pending{name: name, bundle: u.known[name]}
}

// reconcile fetches what DFP holds, off the mailbox.
func (u *uploaderActor) reconcile(ctx actor.Context) {
	if u.reconciling || len(u.known) == 0 {
		return
	}
	u.reconciling = true
	dfp := u.cfg.DFP
	async.WithTimeout(ctx, u.cfg.Timeout, func(c context.Context) any {
		certs, err := dfp.Certs(c)
		return listed{certs: certs, err: err}
	})
}

// compare queues every known certificate that DFP lacks, holds in a form HAProxy cannot load, or
// holds in an older version. A newer one in DFP (put there by someone else) is left alone.
func (u *uploaderActor) compare(ctx actor.Context, res listed) {
	u.reconciling = false
	if res.err != nil {
		u.cfg.Logger.Warn("could not list DFP's certificates; will compare again", "event", event.ReconcileFailed,
			"error", res.err, "retry_at", u.cfg.Now().Add(u.cfg.ReconcileInterval))
		return
	}
	held := map[string]string{}
	for _, c := range res.certs {
		held[c.ProxyServiceName] = c.CertContent
	}
	stale := 0
	for name, want := range u.known {
		if want.Check(name, u.cfg.Now()) != nil {
			delete(u.known, name) // expired meanwhile: never upload it again
			continue
		}
		reason := ""
		content, ok := held[CertName(name)]
		if !ok {
			reason = "missing"
		} else if have, err := proxyapi.ParseBundle([]byte(content)); err != nil {
			reason = "unloadable"
		} else if have.Fingerprint() != want.Fingerprint() {
			if have.Leaf.NotAfter.After(want.Leaf.NotAfter) {
				if !u.said["newer:"+have.Fingerprint()] {
					u.said["newer:"+have.Fingerprint()] = true
					u.cfg.Logger.Warn("DFP holds a newer certificate than this service; leaving it", "event", event.DFPHasNewer,
						"domain", name, "dfp_not_after", have.Leaf.NotAfter, "not_after", want.Leaf.NotAfter)
				}
				continue
			}
			reason = "older"
		}
		if reason == "" {
			continue
		}
		stale++
		u.cfg.Logger.Info("DFP's copy is out of date; uploading again", "event", event.ReconcileUpload, "domain", name, "reason", reason)
		u.enqueue(name, want)
	}
	u.cfg.Logger.Debug("compared DFP's certificates with the store", "event", event.Reconciled, "held", len(res.certs), "stale", stale)
	u.next(ctx)
}

func (u *uploaderActor) next(ctx actor.Context) {
	if u.busy || u.backingOff || len(u.queue) == 0 {
		return
	}
	job := *u.latest[u.queue[0]]
	u.busy = true
	dfp, distribute := u.cfg.DFP, u.distribute
	async.WithTimeout(ctx, u.cfg.Timeout, func(c context.Context) any {
		err := dfp.PutCert(c, CertName(job.name), job.bundle.PEM, distribute)
		return uploaded{job: job, distribute: distribute, err: err}
	})
}

func (u *uploaderActor) done(ctx actor.Context, res uploaded) {
	u.busy = false
	log := u.cfg.Logger.With("domain", res.job.name)
	switch {
	case res.err == nil:
		log.Info("certificate uploaded to DFP", "event", event.CertificateUploaded, "cert_name", CertName(res.job.name),
			"not_after", res.job.bundle.Leaf.NotAfter, "distribute", res.distribute)
		u.backoff = 0
		if u.cfg.ServeCheckAddr != "" {
			u.timers.SendOnce(u.cfg.ServeCheckDelay, ctx.Self(), checkServed{name: res.job.name, fingerprint: res.job.bundle.Fingerprint()})
		}
		// A newer bundle may have arrived meanwhile; only the one sent leaves the queue.
		if cur := u.latest[res.job.name]; cur != nil && cur.bundle == res.job.bundle {
			delete(u.latest, res.job.name)
			u.queue = u.queue[1:]
		}
	case res.distribute && proxyapi.IsDistributeLookupFailure(res.err):
		u.distribute = false
		log.Warn("DFP cannot distribute (not in Swarm?); uploading to this replica only from now on",
			"event", event.DistributeDisabled, "error", res.err)
	default:
		u.backoff = min(max(u.backoff*2, u.cfg.MinBackoff), u.cfg.MaxBackoff)
		retryAt := u.cfg.Now().Add(u.backoff)
		log.Warn("upload to DFP failed; will retry", "event", event.UploadFailed, "error", res.err,
			"retry_at", retryAt, "queued", len(u.queue))
		u.backingOff = true
		u.cancel = u.timers.SendOnce(u.backoff, ctx.Self(), retry{})
	}
	u.next(ctx)
}

// reportServed logs whether HAProxy presents the uploaded certificate. DFP answers 200 even when
// its reload failed (a bad PEM elsewhere in /certs, dfp-api.md b), so this is the only proof.
func (u *uploaderActor) reportServed(res served) {
	log := u.cfg.Logger.With("domain", res.name)
	switch {
	case res.err != nil:
		log.Warn("could not check what the proxy serves", "event", event.ServeCheckFailed, "addr", u.cfg.ServeCheckAddr, "error", res.err)
	case res.got == res.fingerprint:
		log.Info("the proxy serves the uploaded certificate", "event", event.CertificateServed, "fingerprint", res.got)
	case u.known[res.name] != nil && u.known[res.name].Fingerprint() != res.fingerprint:
		// A newer upload has overtaken this one; its own check will tell.
	default:
		log.Error("the proxy still serves another certificate after the upload: DFP's reload may have failed; "+
			"look for a bad PEM in DFP's /certs", "event", event.CertificateNotServed, "served", res.got, "uploaded", res.fingerprint)
	}
}
