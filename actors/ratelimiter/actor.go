package ratelimiter

import (
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/metrics"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/actors/async"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter/inflight"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter/limits"
	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
)

// Config is the rate limiter's configuration.
type Config struct {
	Table       limits.Table // already with the safety margin applied
	Ledger      store.Blob   // where the ledger persists; every change is written atomically
	Concurrency int          // orders in flight at once
	Lease       time.Duration
	Logger      *slog.Logger
	Now         func() time.Time
	// Writes, when set, counts the ledger's writes (one per burst of messages, not per message).
	Writes *atomic.Int64
	// WriteEvery spaces the ledger's writes: while orders finish one by one (a bulk issuance),
	// each would otherwise be a write of the whole ledger; answers wait at most this long.
	WriteEvery time.Duration
	// Issued, when set, lists the certificates the store holds for this CA: a missing or torn
	// ledger is rebuilt from them before any grant.
	Issued func() ([]Booking, error)
}

// unwritableRetry is how long a request waits when the ledger cannot be persisted: granting an
// order that a restart would forget could exceed a limit.
const unwritableRetry = time.Minute

// tick is the actor's timer message: reclaim lapsed order slots and forget spent bookkeeping.
type tick struct{}

type limiterActor struct {
	cfg    Config
	limits *Limiter
	*kept
	cancel scheduler.CancelFunc
	// outbox holds answers until the ledger that books them is written.
	outbox []outgoing
	// flushing: a flush is on its way; writing: the write in flight; flushAgain: a flush came
	// while it was, and waits for its end.
	flushing, flushAgain bool
	writing              *write
	lastWrite            time.Time
}

// waiter is a granted request still waiting for an order slot.
type waiter struct {
	pid    *actor.PID
	permit string
}

// kept is what outlives a limiter instance (see Props).
type kept struct {
	slots   *inflight.Slots
	waiters map[string]waiter
	// started: an instance has run in this process. restarted: the last one failed and protoactor
	// restarted it in place; its siblings (the permit holders) ran on, so the ledger's granted
	// orders are still theirs. A new instance that was not restarted follows the supervisor's own
	// restart, which stopped every holder.
	started, restarted bool
}

// Props builds the rate limiter. Every order asks it first (PermitRequest) and reports back
// (OrderFinished).
//
// Who holds an order slot and who waits for one outlives an instance: a restarted limiter must not
// strand the actors waiting for its answer, nor forget the orders in flight. The buckets are read
// again from the ledger, which is written before any answer leaves.
func Props(cfg Config) *actor.Props {
	k := &kept{slots: inflight.New(cfg.Concurrency, cfg.Lease), waiters: map[string]waiter{}}
	return actor.PropsFromProducer(func() actor.Actor { return &limiterActor{cfg: cfg, kept: k} })
}

func (l *limiterActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		ledger, rebuilt := l.load()
		l.limits = New(l.cfg.Table, ledger)
		l.limits.Clamp(l.cfg.Now())
		if rebuilt {
			l.flushSoon(ctx)
		}
		switch {
		case !l.started:
			l.limits.Reopen(l.cfg.Now())
			l.flushSoon(ctx)
		case !l.restarted:
			l.closeAbandoned(ctx)
		}
		l.started, l.restarted = true, false
		every := l.cfg.Lease / 4
		l.cancel = async.Every(ctx, every, every, tick{})
	case *actor.Restarting:
		l.restarted = true
		l.stopTimer()
		l.flushNow(ctx)
	case *actor.Stopping:
		l.stopTimer()
		l.flushNow(ctx)
	case *messages.Ping:
		ctx.Respond(&messages.Pong{})
	case *messages.PermitRequest:
		l.request(ctx, msg)
	case *messages.OrderFinished:
		if l.finished(msg) {
			l.grant(ctx, l.slots.Release(msg.Name, l.cfg.Now()))
		}
	case tick:
		l.limits.Forget(l.cfg.Now())
		l.grant(ctx, l.slots.Release("", l.cfg.Now()))
		l.flushSoon(ctx)
	case flush:
		l.flush(ctx)
	case *write:
		l.ended(ctx, msg)
	}
}

// closeAbandoned closes the orders whose holders the supervisor's restart stopped; their answers
// will not come. Those that had a slot may still issue (their tokens stay spent); the rest are
// refunded.
func (l *limiterActor) closeAbandoned(ctx actor.Context) {
	if n := l.limits.AbandonAll(l.cfg.Now()); n > 0 {
		l.cfg.Logger.Debug("orders granted to holders that are gone were closed; their tokens stay spent", "orders", n)
	}
	l.slots.Reset()
	clear(l.waiters)
	l.flushSoon(ctx)
}

func (l *limiterActor) request(ctx actor.Context, msg *messages.PermitRequest) {
	a := Admit(l.limits, l.slots, Order{Name: msg.Name, Permit: msg.Permit, Renewal: msg.Renewal, ARI: msg.ARI}, l.cfg.Now())
	l.flushSoon(ctx)
	switch a.Verdict {
	case Defer:
		l.send(ctx.Sender(), &messages.PermitDeferred{Name: msg.Name, Until: a.Until, Reason: a.Limit})
	case Grant:
		l.send(ctx.Sender(), &messages.PermitGranted{Name: msg.Name, Permit: msg.Permit})
	case Wait:
		l.waiters[msg.Name] = waiter{pid: ctx.Sender(), permit: msg.Permit}
		l.cfg.Logger.Debug("order waits for a free slot", "event", event.OrderQueued, "domain", msg.Name,
			"in_flight", l.slots.InFlight(), "waiting", l.slots.Waiting())
	}
}

// finished records an order's end, and reports whether it ended the name's permit (false: the end
// of an order whose grant had lapsed, while the name holds a newer permit and its slot).
func (l *limiterActor) finished(msg *messages.OrderFinished) bool {
	now := l.cfg.Now()
	outcome := FailedOther
	switch msg.Outcome {
	case messages.OutcomeIssued:
		outcome = Issued
	case messages.OutcomeValidationFailed, messages.OutcomePaused:
		outcome = FailedValidation
	}
	metrics.Orders.WithLabelValues(string(msg.Outcome)).Inc()
	mine := l.limits.Report(msg.Name, msg.Permit, outcome, now)
	if msg.Outcome == messages.OutcomeRateLimited { // after Report, whose refund must not shorten the hold
		l.limits.Hold(msg.Name, msg.Limit, msg.RetryAt)
		l.cfg.Logger.Warn("the CA's rate limit holds orders until its time", "event", event.CaRateLimited,
			"domain", msg.Name, "limit", orUnknown(msg.Limit), "retry_at", msg.RetryAt)
	}
	return mine
}

// grant tells the names that freed slots passed to that their orders may go.
func (l *limiterActor) grant(ctx actor.Context, freed []string) {
	for _, n := range freed {
		if w, ok := l.waiters[n]; ok {
			l.limits.SlotTaken(n)
			l.send(w.pid, &messages.PermitGranted{Name: n, Permit: w.permit})
		}
		delete(l.waiters, n)
	}
	l.flushSoon(ctx)
}

func (l *limiterActor) stopTimer() {
	if l.cancel != nil {
		l.cancel()
	}
}

func orUnknown(s messages.Limit) messages.Limit {
	if s == "" {
		return "unknown"
	}
	return s
}
