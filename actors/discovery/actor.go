package discovery

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"

	"github.com/dfp-letsencrypt/provisioner/actors/async"
	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/messages/dnsname"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/proxyapi"
)

// Lister is the part of the DFP client discovery uses; *proxyapi.Client is the real one.
type Lister interface {
	Services(ctx context.Context) (map[string]proxyapi.Service, error)
}

// Config tunes discovery.
type Config struct {
	DFP        Lister
	Interval   time.Duration
	Timeout    time.Duration
	Extra      []string         // DOMAINS: names DFP cannot list
	Exclusions dnsname.Patterns // EXCLUDE_DOMAINS
	// Wildcards says DNS-01 is configured: wildcard names are issued, not skipped.
	Wildcards bool
	Logger    *slog.Logger
	Now       func() time.Time
	// Answered, when set, gets the time (Unix nanoseconds) of DFP's last answer: readiness is
	// DFP answering within the last three intervals.
	Answered *atomic.Int64
}

type poll struct{}

type polled struct {
	services map[string]proxyapi.Service
	err      error
}

type discoveryActor struct {
	cfg    Config
	timers *scheduler.TimerScheduler
	cancel scheduler.CancelFunc
	busy   bool
	// hints are services a notification announced that DFP does not list yet.
	hints     Hints
	hintTimer scheduler.CancelFunc
	// Each name, skipped host and excluded name is logged once while DFP lists it, not once per
	// poll; the set outlives an instance, so a restart does not log them all again. thisPoll is
	// what the current poll mentioned: the rest is forgotten after a poll that lists DFP's services
	// (so the set does not grow forever, and a name that comes back is announced again).
	announced map[string]bool
	thisPoll  map[string]bool
	dfp       DFPState
	// lastStart is when the last poll began; spaced is a poll set for later by NextPoll.
	lastStart time.Time
	spaced    bool
}

// spacedPoll is the timer message of a poll that NextPoll set for later.
type spacedPoll struct{}

// Props builds discovery; it reports DomainsDiscovered to its parent after every successful poll.
func Props(cfg Config) *actor.Props {
	announced := map[string]bool{}
	return actor.PropsFromProducer(func() actor.Actor {
		return &discoveryActor{cfg: cfg, announced: announced, thisPoll: map[string]bool{}, hints: Hints{}}
	})
}

func (d *discoveryActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		d.timers = scheduler.NewTimerScheduler(ctx.ActorSystem().Root)
		d.cancel = async.Every(ctx, d.cfg.Interval, d.cfg.Interval, poll{})
		d.poll(ctx)
	case *actor.Stopping, *actor.Restarting:
		if d.cancel != nil {
			d.cancel()
		}
		if d.hintTimer != nil {
			d.hintTimer()
		}
	case poll:
		d.poll(ctx)
	case *messages.PollNow:
		d.hints.Add(msg.Service, d.cfg.Now())
		d.cfg.Logger.Debug("notified by the swarm listener; polling DFP now", "service", event.PeerText(msg.Service))
		at, now := NextPoll(d.lastStart, d.cfg.Now())
		switch {
		case now:
			d.poll(ctx) // if a poll is under way, the hint polls again after it
		case !d.spaced:
			d.spaced = true
			d.timers.SendOnce(max(at.Sub(d.cfg.Now()), 0), ctx.Self(), spacedPoll{})
		}
	case spacedPoll:
		d.spaced = false
		d.poll(ctx)
	case polled:
		d.busy = false
		d.report(ctx, msg)
	}
}

func (d *discoveryActor) poll(ctx actor.Context) {
	if d.busy {
		return
	}
	d.busy = true
	d.lastStart = d.cfg.Now()
	dfp := d.cfg.DFP
	async.WithTimeout(ctx, d.cfg.Logger, d.cfg.Timeout, func(c context.Context) polled {
		services, err := dfp.Services(c)
		return polled{services: services, err: err}
	}, func(err error) polled { return polled{err: err} })
}

func (d *discoveryActor) report(ctx actor.Context, res polled) {
	log := d.cfg.Logger
	if res.err == nil && d.cfg.Answered != nil {
		d.cfg.Answered.Store(d.cfg.Now().UnixNano())
	}
	if res.err != nil {
		// Only DOMAINS are reported meanwhile; names already known keep their actors.
		log.Warn("could not list DFP services; will poll again", "event", event.DiscoveryFailed,
			"error", res.err, "retry_at", d.cfg.Now().Add(d.cfg.Interval))
		res.services = nil
	}
	for name, svc := range res.services {
		if strings.Contains(svc.ServiceDomainAlgo, "hdr_dom") && d.once("hdr_dom:"+name) {
			log.Info("service matches every subdomain of its domains (hdr_dom); those cannot be listed, add them to DOMAINS",
				"event", event.SubdomainsUnlisted, "service", event.PeerText(name))
		}
	}
	ex := proxyapi.ExtractNames(res.services, d.cfg.Wildcards)
	for _, s := range ex.Skipped {
		if d.once("skip:" + s.Host) {
			level := slog.LevelWarn
			if errors.Is(s.Reason, proxyapi.ErrTerminatesTLS) {
				level = slog.LevelInfo // as intended: nothing to fix
			}
			log.Log(context.Background(), level, "host gets no certificate", "event", event.DomainSkipped, "host", event.PeerText(s.Host),
				"service", event.PeerText(s.Service), "reason", s.Reason.Error())
		}
	}
	prev := d.dfp
	var reconcile string
	d.dfp, reconcile = AfterPoll(prev, res.err == nil, len(res.services))
	if d.dfp.Empty && !prev.Empty { // a failed poll keeps Empty as it was
		log.Warn("DFP lists no services (restarted or not yet registered); keeping every certificate",
			"event", event.DiscoveryEmpty)
	}
	if reconcile != "" {
		ctx.Send(ctx.Parent(), &messages.ReconcileNow{Reason: reconcile})
	}
	names, excluded := Merge(ex.Names, d.cfg.Extra, d.cfg.Exclusions)
	for _, n := range excluded {
		if d.once("exclude:" + n) {
			log.Info("name excluded by EXCLUDE_DOMAINS", "event", event.DomainExcluded, "domain", n)
		}
	}
	for _, n := range names {
		if d.once("name:" + n) {
			log.Info("domain discovered", "event", event.DomainDiscovered, "domain", n)
		}
	}
	authoritative := d.dfp.Authoritative()
	ctx.Send(ctx.Parent(), &messages.DomainsDiscovered{Names: names, Authoritative: authoritative})
	d.followHints(ctx, res)
	if authoritative {
		for k := range d.announced {
			if !d.thisPoll[k] {
				delete(d.announced, k)
			}
		}
	}
	clear(d.thisPoll)
}

// followHints polls again shortly while a notified service is not listed yet.
func (d *discoveryActor) followHints(ctx actor.Context, res polled) {
	var listed map[string]bool
	if res.err == nil {
		listed = make(map[string]bool, len(res.services))
		for name := range res.services {
			listed[name] = true
		}
	}
	if next := d.hints.AfterPoll(listed, d.cfg.Now()); !next.IsZero() {
		if d.hintTimer != nil {
			d.hintTimer()
		}
		d.hintTimer = d.timers.SendOnce(max(next.Sub(d.cfg.Now()), 0), ctx.Self(), poll{})
	}
}

func (d *discoveryActor) once(key string) bool {
	d.thisPoll[key] = true
	if d.announced[key] {
		return false
	}
	d.announced[key] = true
	return true
}

// DFPState is what discovery remembers of DFP between polls.
type DFPState struct {
	Failing  bool // the last poll failed
	Empty    bool // the last successful poll listed no services
	PolledOK bool // a poll has succeeded before
}

// Authoritative says whether the list of the poll that led to s may remove names: the poll
// succeeded and listed services. An empty list is a DFP that restarted and forgot its services
// (DFP rule D in proxyapi), never "every name removed"; a failed poll lists nothing at all.
func (s DFPState) Authoritative() bool { return !s.Failing && !s.Empty }

// AfterPoll is DFP's state after a poll, and why DFP's certificates should be compared with the
// store now ("" if there is no reason): a DFP that comes back after an outage, or that lost its
// services (a restart: DFP rule D in proxyapi), may have lost certificates too.
func AfterPoll(prev DFPState, ok bool, services int) (DFPState, string) {
	if !ok {
		return DFPState{Failing: true, Empty: prev.Empty, PolledOK: prev.PolledOK}, ""
	}
	next := DFPState{Empty: services == 0, PolledOK: true}
	switch {
	case prev.Failing:
		return next, "dfp_reachable_again"
	case next.Empty && prev.PolledOK && !prev.Empty:
		return next, "dfp_restarted"
	}
	return next, ""
}
