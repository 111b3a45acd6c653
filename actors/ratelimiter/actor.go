package ratelimiter

import (
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"

	"github.com/dfp-letsencrypt/provisioner/messages"
)

// reclaim is the actor's timer message that takes back permits whose lease ran out.
type reclaim struct{}

type limiterActor struct {
	slots   *Slots
	log     *slog.Logger
	now     func() time.Time
	waiters map[string]*actor.PID
	cancel  scheduler.CancelFunc
}

// Props builds the limiter: at most concurrency orders in flight, each permit leased for lease.
func Props(concurrency int, lease time.Duration, logger *slog.Logger) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &limiterActor{
			slots:   NewSlots(concurrency, lease),
			log:     logger,
			now:     time.Now,
			waiters: map[string]*actor.PID{},
		}
	})
}

func (l *limiterActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		every := l.slots.Lease / 4
		l.cancel = scheduler.NewTimerScheduler(ctx.ActorSystem().Root).SendRepeatedly(every, every, ctx.Self(), reclaim{})
	case *actor.Stopping, *actor.Restarting:
		if l.cancel != nil {
			l.cancel()
		}
	case *messages.PermitRequest:
		if l.slots.Request(msg.Name, l.now()) {
			ctx.Respond(&messages.PermitGranted{Name: msg.Name})
			return
		}
		l.waiters[msg.Name] = ctx.Sender()
		l.log.Debug("order queued for a free slot", "event", "order_queued", "domain", msg.Name,
			"in_flight", l.slots.InFlight(), "waiting", l.slots.Waiting())
	case *messages.OrderFinished:
		l.grant(ctx, l.slots.Release(msg.Name, l.now()))
	case reclaim:
		l.grant(ctx, l.slots.Release("", l.now()))
	}
}

func (l *limiterActor) grant(ctx actor.Context, names []string) {
	for _, n := range names {
		if pid := l.waiters[n]; pid != nil {
			ctx.Send(pid, &messages.PermitGranted{Name: n})
		}
		delete(l.waiters, n)
	}
}
