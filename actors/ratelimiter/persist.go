package ratelimiter

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/metrics"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
)

// The ledger on disk, and the answers that wait for the write that books them.

// flush is the message the limiter sends itself to write the ledger and then send the answers
// held for it. It goes to the back of the mailbox, so every message already waiting is handled
// first: a burst of requests costs one write, and no grant leaves before the write that books it.
type flush struct{}

type outgoing struct {
	to  *actor.PID
	msg any
}

// send holds an answer until the next flush.
func (l *limiterActor) send(to *actor.PID, msg any) {
	if to != nil {
		l.outbox = append(l.outbox, outgoing{to: to, msg: msg})
	}
}

func (l *limiterActor) flushSoon(ctx actor.Context) {
	if l.flushing {
		return
	}
	l.flushing = true
	if wait := NextWrite(l.lastWrite, l.cfg.Now(), l.cfg.WriteEvery); wait > 0 {
		scheduler.NewTimerScheduler(ctx).SendOnce(wait, ctx.Self(), flush{})
		return
	}
	ctx.Send(ctx.Self(), flush{})
}

// flushNow writes what a spaced flush still holds (an order's report books its issuance) before
// the instance goes: the next one reads the ledger from disk.
func (l *limiterActor) flushNow(ctx actor.Context) {
	if l.flushing {
		l.flush(ctx)
	}
}

// NextWrite is how long a flush waits so that writes are at least every apart.
func NextWrite(last, now time.Time, every time.Duration) time.Duration {
	if last.IsZero() || every <= 0 {
		return 0
	}
	return max(0, last.Add(every).Sub(now))
}

// flush writes the ledger once, then sends the answers it books. When it cannot be written, no
// grant leaves: granting an order a restart would forget could exceed a limit.
func (l *limiterActor) flush(ctx actor.Context) {
	l.flushing = false
	now := l.cfg.Now()
	err := l.save()
	l.lastWrite = now
	for _, o := range l.outbox {
		msg := o.msg
		if g, ok := msg.(*messages.PermitGranted); ok && err != nil {
			// Taken back: booking and slot. Names the slot would pass to keep their place and
			// get it when they ask again (see certificate.Deps.PermitWait); none is told now, so
			// a broken disk does not spin.
			l.limits.Report(g.Name, g.Permit, FailedOther, now)
			for _, n := range l.slots.Release(g.Name, now) {
				delete(l.waiters, n)
			}
			msg = &messages.PermitDeferred{Name: g.Name, Until: now.Add(unwritableRetry), Reason: messages.LimitLedgerUnwritable}
		}
		ctx.Send(o.to, msg)
	}
	l.outbox = l.outbox[:0]
}

// load reads the ledger. A missing one is a first start; an unreadable one is set aside (never
// overwritten in place) and the limiter starts empty, loudly.
func (l *limiterActor) load() Ledger {
	var ledger Ledger
	data, err := l.cfg.Ledger.Load()
	if errors.Is(err, os.ErrNotExist) {
		return ledger
	}
	if err == nil {
		err = json.Unmarshal(data, &ledger)
	}
	if err != nil {
		aside, _ := l.cfg.Ledger.SetAside(fmt.Sprint(l.cfg.Now().Unix()))
		l.cfg.Logger.Error("rate-limit ledger unreadable; set aside and starting empty", "event", event.LedgerCorrupt,
			"error", err, "moved_to", aside)
		return Ledger{}
	}
	return ledger
}

func (l *limiterActor) save() error {
	data, err := json.Marshal(l.limits.Ledger())
	if err == nil {
		err = l.cfg.Ledger.Save(data)
	}
	if errors.Is(err, store.ErrChanged) {
		err = l.absorb()
	}
	if l.cfg.Writes != nil {
		l.cfg.Writes.Add(1)
	}
	metrics.LedgerWrites.Inc()
	if err != nil {
		l.cfg.Logger.Error("rate-limit ledger not written; orders wait until it can be", "event", event.LedgerWriteFailed,
			"error", err, "retry_at", l.cfg.Now().Add(unwritableRetry))
	}
	return err
}

// absorb takes in a ledger another writer saved since this one read it (an operator's migration,
// a replica that led meanwhile), keeping every booking of both, and saves the result.
func (l *limiterActor) absorb() error {
	data, err := l.cfg.Ledger.Load() // and with it the version to write over
	var theirs Ledger
	if err == nil {
		err = json.Unmarshal(data, &theirs)
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("ledger changed by another writer and unreadable: %w", err)
	}
	l.limits.Absorb(theirs)
	if data, err = json.Marshal(l.limits.Ledger()); err != nil {
		return err
	}
	if err := l.cfg.Ledger.Save(data); err != nil {
		return err
	}
	l.cfg.Logger.Warn("the rate-limit ledger was changed by another writer; both ledgers' bookings are kept", "event", event.LedgerMerged)
	return nil
}
