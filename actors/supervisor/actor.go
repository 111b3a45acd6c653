// Package supervisor is the root actor: it spawns the rate limiter, the uploader, discovery and
// one certificate actor per name, and restarts any of them alone when it fails.
package supervisor

import (
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/dfp-letsencrypt/provisioner/actors/certificate"
	"github.com/dfp-letsencrypt/provisioner/actors/certificate/store"
	"github.com/dfp-letsencrypt/provisioner/messages"
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
}

type supervisorActor struct {
	cfg   Config
	certs map[string]*actor.PID
	deps  certificate.Deps
}

// Props builds the supervisor. Children that fail are restarted one by one with a growing delay,
// and never given up on: a name whose actor stopped for good would silently expire.
func Props(cfg Config) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &supervisorActor{cfg: cfg, certs: map[string]*actor.PID{}}
	}, actor.WithSupervisor(actor.NewExponentialBackoffStrategy(10*time.Minute, cfg.RestartBase)))
}

func (s *supervisorActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		s.start(ctx)
	case *messages.DomainsDiscovered:
		for _, n := range msg.Names {
			s.ensure(ctx, n)
		}
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
	}
	// Stored certificates are served and renewed even while DFP lists nothing (it forgets every
	// service on restart).
	names, err := s.cfg.Store.Names()
	if err != nil {
		s.cfg.Logger.Error("could not list stored certificates; relying on discovery", "event", "store_list_failed", "error", err)
	}
	for _, n := range names {
		s.ensure(ctx, n)
	}
	s.spawn(ctx, s.cfg.Discovery, "discovery")
}

func (s *supervisorActor) ensure(ctx actor.Context, name string) {
	if s.certs[name] != nil {
		return
	}
	s.certs[name] = s.spawn(ctx, certificate.Props(name, s.deps), "certificate/"+name)
}

func (s *supervisorActor) spawn(ctx actor.Context, props *actor.Props, name string) *actor.PID {
	pid, err := ctx.SpawnNamed(props, name)
	if err != nil {
		// Only a duplicate name fails here, and ensure() prevents that; keep the PID it returns.
		s.cfg.Logger.Error("could not spawn actor", "event", "spawn_failed", "actor", name, "error", err)
	}
	return pid
}
