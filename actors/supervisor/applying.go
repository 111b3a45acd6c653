package supervisor

// Carrying out a roster plan (Roster decides): actors spawned and stopped, the cap reported.

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/dfp-letsencrypt/provisioner/actors/certificate"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
)

// rules is the configuration's part of Roster, at now.
func (s *supervisorActor) rules(now time.Time) RosterRules {
	return RosterRules{Excluded: s.cfg.Excluded, MaxNames: s.cfg.MaxNames,
		Gone: func(name string) bool { return s.presence.Gone(name, now, s.cfg.RemovedGrace) }}
}

// apply carries out a roster plan: excluded names logged once, new actors spawned, absent ones
// stopped.
func (s *supervisorActor) apply(ctx actor.Context, plan RosterPlan) RosterPlan {
	for _, name := range plan.Excluded {
		s.excluded[name] = true
		s.cfg.Logger.Info("name excluded by EXCLUDE_DOMAINS; its stored certificate is not renewed", "event", event.DomainExcluded,
			"domain", name)
	}
	for _, name := range plan.Start {
		s.certs[name] = s.spawn(ctx, certificate.Props(name, s.deps), "certificate/"+name)
	}
	for _, name := range plan.Stop {
		ctx.Stop(s.certs[name])
		delete(s.certs, name)
	}
	s.reportCap(plan.Waiting)
	if len(plan.Start) > 0 || len(plan.Stop) > 0 {
		s.cfg.Managed.set(s.certs)
	}
	return plan
}

// reportCap warns once when names wait for MAX_NAMES, and again only after they stopped waiting.
func (s *supervisorActor) reportCap(waiting int) {
	switch {
	case waiting > 0 && !s.overCap:
		s.cfg.Logger.Warn("more names than MAX_NAMES: the rest wait until names are removed or MAX_NAMES is raised",
			"event", event.MaxNamesReached, "max_names", s.cfg.MaxNames, "waiting", waiting)
	case waiting == 0 && s.overCap:
		s.cfg.Logger.Info("every name is managed again", "event", event.MaxNamesReached, "max_names", s.cfg.MaxNames, "waiting", 0)
	}
	s.overCap = waiting > 0
}

func (s *supervisorActor) spawn(ctx actor.Context, props *actor.Props, name string) *actor.PID {
	pid, err := ctx.SpawnNamed(props, name)
	if err != nil {
		// Only a duplicate name fails here, and ensure() prevents that; keep the PID it returns.
		s.cfg.Logger.Error("could not spawn actor", "event", event.SpawnFailed, "actor", name, "error", err)
	}
	return pid
}
