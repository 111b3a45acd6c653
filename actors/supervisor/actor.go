// Package supervisor is the root actor: it spawns the rate limiter, the uploader, discovery and
// one certificate actor per name, and restarts any of them alone when it fails.
package supervisor

import (
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/actors/async"
	"github.com/dfp-letsencrypt/provisioner/actors/certificate"
	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
)

// Config carries the props of the children; the supervisor wires their PIDs together.
type Config struct {
	Store       *store.Store
	Issuer      certificate.Obtainer
	Preflight   certificate.Preflighter
	Limiter     *actor.Props
	Uploader    *actor.Props
	Discovery   *actor.Props
	Logger      *slog.Logger
	Now         func() time.Time
	RestartBase time.Duration // first restart delay of a failed child; grows with each failure
	// RenewInterval is the sweep that re-checks every certificate, first at a random offset.
	RenewInterval time.Duration
	// RemovedGrace is how long a name may be absent from DFP before it is no longer renewed.
	RemovedGrace time.Duration
	// Excluded says whether EXCLUDE_DOMAINS covers a name; nil excludes nothing. It is applied
	// wherever an actor is made (stored certificates, certbot imports, discovery), so an excluded
	// name is never renewed, whatever the store holds.
	Excluded func(name string) bool
	// MaxNames caps the names managed at once (MAX_NAMES; 0: no cap). Names past it wait until
	// others are removed: a DFP that suddenly lists ten times its names must not start ten times
	// the orders.
	MaxNames int
	// Alerter receives the actors' troubles (nil: ALERT_WEBHOOK_URL is not set);
	// AlertAfterFailures is when a name counts as failing.
	Alerter            *actor.Props
	AlertAfterFailures int
	// Managed, when set, gets the names with an actor after every change (for status).
	Managed *Managed
	// Live, when set, gets each certificate actor's view of its name (for status and /metrics).
	Live *certificate.Live
}

// sweep is the supervisor's timer message.
type sweep struct{}

type supervisorActor struct {
	cfg      Config
	certs    map[string]*actor.PID
	excluded map[string]bool // names refused by Excluded, each logged once
	// overCap: names wait for MaxNames; said once until they no longer do.
	overCap  bool
	deps     certificate.Deps
	discover *actor.PID
	alerter  *actor.PID
	presence *Presence
	working  chan struct{} // closed when the poll's store work in flight ends
	cancel   scheduler.CancelFunc
}

// Props builds the supervisor. Children that fail are restarted one by one with a growing delay,
// and never given up on: a name whose actor stopped for good would silently expire.
func Props(cfg Config) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &supervisorActor{cfg: cfg, certs: map[string]*actor.PID{}, excluded: map[string]bool{}}
	}, actor.WithSupervisor(actor.NewExponentialBackoffStrategy(10*time.Minute, cfg.RestartBase)))
}

func (s *supervisorActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		s.start(ctx)
	case *actor.Stopping, *actor.Restarting:
		if s.cancel != nil {
			s.cancel()
		}
		if s.working != nil {
			<-s.working // so that the record written last is this one
		}
		if s.presence != nil {
			_ = s.presence.Save(s.cfg.Now(), true)
		}
	case *messages.DomainsDiscovered:
		s.discovered(ctx, msg)
	case *messages.ReconcileNow:
		ctx.Send(s.deps.Uploader, msg)
	case *messages.Ping:
		ctx.Respond(&messages.Pong{})
	case *messages.Trouble:
		if s.alerter != nil {
			ctx.Send(s.alerter, msg)
		}
	case *polled:
		s.storeWorked(ctx, msg)
	case *messages.PollNow:
		ctx.Send(s.discover, msg)
	case sweep:
		for _, pid := range s.certs {
			ctx.Send(pid, &messages.CheckNow{})
		}
	}
}

func (s *supervisorActor) discovered(ctx actor.Context, msg *messages.DomainsDiscovered) {
	now := s.cfg.Now()
	s.presence.Seen(msg.Names, now)
	src := FromDFP
	if msg.Authoritative {
		src = FromDFPAuthoritative
	}
	plan := s.apply(ctx, Roster(s.rules(now), s.certs, s.excluded, msg.Names, src))
	for _, name := range plan.Stop {
		s.cfg.Logger.Info("name absent from DFP past the grace period: no longer renewed; its files stay",
			"event", event.DomainRemoved, "domain", name, "last_seen", s.presence.LastSeen[name])
	}
	s.storeWork(ctx, now)
}

// polled is the store's side of a discovery poll, done off the mailbox (on etcd a write may take
// seconds, and the health check pings this actor): the operator's retry requests, taken, and the
// last-seen record, written when due.
type polled struct {
	retry    []string
	saveErr  error
	unsaved  bool // a due write of the record failed
	finished chan struct{}
}

// storeWork starts a poll's store work, unless the last one is still running: the next poll
// takes up what this one skips.
func (s *supervisorActor) storeWork(ctx actor.Context, now time.Time) {
	if s.working != nil {
		return
	}
	record := s.presence.Due(now, false)
	st, blob, finished := s.cfg.Store, s.presence.blob, make(chan struct{})
	s.working = finished
	async.Do(ctx, s.cfg.Logger, func() *polled {
		defer close(finished)
		p := &polled{retry: st.TakeRetryRequests(), finished: finished}
		if record != nil {
			p.saveErr = blob.Save(record)
			p.unsaved = p.saveErr != nil
		}
		return p
	}, func(err error) *polled { return &polled{saveErr: err, unsaved: record != nil, finished: finished} })
}

// storeWorked passes on the operator's "retry now" requests (written by "provisioner retry-now
// NAME") and says when the last-seen record could not be written.
func (s *supervisorActor) storeWorked(ctx actor.Context, p *polled) {
	if p.finished == s.working {
		s.working = nil
	}
	if p.unsaved {
		s.presence.Unsaved()
		s.cfg.Logger.Warn("could not persist when names were last seen; retried at the next poll", "event", event.PresenceWriteFailed, "error", p.saveErr)
	}
	for _, name := range p.retry {
		if pid := s.certs[name]; pid != nil {
			ctx.Send(pid, &messages.RetryNow{})
			continue
		}
		s.cfg.Logger.Warn("retry requested for a name this service does not manage", "event", event.RetryUnknown, "domain", name)
	}
}

func (s *supervisorActor) start(ctx actor.Context) {
	limiter := s.spawn(ctx, s.cfg.Limiter, "ratelimiter")
	up := s.spawn(ctx, s.cfg.Uploader, "uploader")
	s.deps = certificate.Deps{
		Store:     s.cfg.Store,
		Issuer:    s.cfg.Issuer,
		Preflight: s.cfg.Preflight,
		Limiter:   limiter,
		Uploader:  up,
		Logger:    s.cfg.Logger,
		Now:       s.cfg.Now,

		AlertAfterFailures: s.cfg.AlertAfterFailures,
		Live:               s.cfg.Live,
	}
	if s.cfg.Alerter != nil {
		s.alerter = s.spawn(ctx, s.cfg.Alerter, "alerter")
	}
	for _, imp := range s.cfg.Store.ImportCertbot(s.cfg.Now()) {
		if imp.Err != nil {
			s.cfg.Logger.Warn("certbot certificate not adopted; a new one will be ordered if the name is served",
				"event", event.ImportSkipped, "domain", imp.Name, "reason", imp.Err.Error())
			continue
		}
		s.cfg.Logger.Info("certbot certificate adopted", "event", event.CertificateImported, "domain", imp.Name, "not_after", imp.NotAfter)
	}
	// Stored certificates are served and renewed even while DFP lists nothing (it forgets every
	// service on restart).
	names, err := s.cfg.Store.Names()
	if err != nil {
		s.cfg.Logger.Error("could not list stored certificates; relying on discovery", "event", event.StoreListFailed, "error", err)
	}
	now := s.cfg.Now()
	if s.presence, err = LoadPresence(s.cfg.Store.Presence(), names, now); err != nil {
		// Without the record every stored name counts as seen now: renewing too long beats too short.
		s.cfg.Logger.Warn("last-seen record unreadable; every stored name counts as seen now", "event", event.PresenceCorrupt, "error", err)
		s.presence = &Presence{blob: s.cfg.Store.Presence(), LastSeen: map[string]time.Time{}}
		s.presence.Seen(names, now)
	}
	s.presence.Prune(names, now, s.cfg.RemovedGrace)
	s.apply(ctx, Roster(s.rules(now), s.certs, s.excluded, names, FromStore))
	s.discover = s.spawn(ctx, s.cfg.Discovery, "discovery")
	first := time.Duration(rand.Int64N(int64(s.cfg.RenewInterval)))
	s.cancel = async.Every(ctx, first, s.cfg.RenewInterval, sweep{})
}
