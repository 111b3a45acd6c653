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

	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/proxyapi"
)

// Putter is the part of the DFP client the uploader uses; *proxyapi.Client is the real one.
type Putter interface {
	PutCert(ctx context.Context, certName string, pem []byte, distribute bool) error
}

// Config tunes the uploader.
type Config struct {
	DFP        Putter
	Distribute bool
	Timeout    time.Duration // one PUT; a poisoned PEM makes DFP take 20 s
	MinBackoff time.Duration
	MaxBackoff time.Duration
	Logger     *slog.Logger
	Now        func() time.Time
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
}

// Props builds the uploader.
func Props(cfg Config) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &uploaderActor{cfg: cfg, distribute: cfg.Distribute, latest: map[string]*pending{}}
	})
}

func (u *uploaderActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		u.timers = scheduler.NewTimerScheduler(ctx.ActorSystem().Root)
	case *actor.Stopping, *actor.Restarting:
		if u.cancel != nil {
			u.cancel()
		}
	case *messages.DeployCertificate:
		u.enqueue(msg)
		u.next(ctx)
	case uploaded:
		u.done(ctx, msg)
	case retry:
		u.backingOff = false
		u.next(ctx)
	}
}

// enqueue checks the bundle before it is queued: nothing invalid ever leaves the process.
func (u *uploaderActor) enqueue(msg *messages.DeployCertificate) {
	log := u.cfg.Logger.With("domain", msg.Name)
	b, err := proxyapi.ParseBundle(msg.Bundle)
	if err == nil {
		err = b.Check(msg.Name, u.cfg.Now())
	}
	if err != nil {
		log.Error("certificate not uploaded: bundle failed validation", "event", "upload_rejected", "error", err)
		return
	}
	if _, queued := u.latest[msg.Name]; !queued {
		u.queue = append(u.queue, msg.Name)
	}
	u.latest[msg.Name] = &pending{name: msg.Name, bundle: b}
}

func (u *uploaderActor) next(ctx actor.Context) {
	if u.busy || u.backingOff || len(u.queue) == 0 {
		return
	}
	job := *u.latest[u.queue[0]]
	u.busy = true
	self, root, cfg, distribute := ctx.Self(), ctx.ActorSystem().Root, u.cfg, u.distribute
	go func() {
		reqCtx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
		defer cancel()
		err := cfg.DFP.PutCert(reqCtx, CertName(job.name), job.bundle.PEM, distribute)
		root.Send(self, uploaded{job: job, distribute: distribute, err: err})
	}()
}

func (u *uploaderActor) done(ctx actor.Context, res uploaded) {
	u.busy = false
	log := u.cfg.Logger.With("domain", res.job.name)
	switch {
	case res.err == nil:
		log.Info("certificate uploaded to DFP", "event", "certificate_uploaded", "cert_name", CertName(res.job.name),
			"not_after", res.job.bundle.Leaf.NotAfter, "distribute", res.distribute)
		u.backoff = 0
		// A newer bundle may have arrived meanwhile; only the one sent leaves the queue.
		if cur := u.latest[res.job.name]; cur != nil && cur.bundle == res.job.bundle {
			delete(u.latest, res.job.name)
			u.queue = u.queue[1:]
		}
	case res.distribute && proxyapi.IsDistributeLookupFailure(res.err):
		u.distribute = false
		log.Warn("DFP cannot distribute (not in Swarm?); uploading to this replica only from now on",
			"event", "distribute_disabled", "error", res.err)
	default:
		u.backoff = min(max(u.backoff*2, u.cfg.MinBackoff), u.cfg.MaxBackoff)
		retryAt := u.cfg.Now().Add(u.backoff)
		log.Warn("upload to DFP failed; will retry", "event", "upload_failed", "error", res.err,
			"retry_at", retryAt, "queued", len(u.queue))
		u.backingOff = true
		u.cancel = u.timers.SendOnce(u.backoff, ctx.Self(), retry{})
	}
	u.next(ctx)
}
