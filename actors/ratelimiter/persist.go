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
	"github.com/dfp-letsencrypt/provisioner/actors/async"
	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
)

// The ledger in the store, and the answers that wait for the write that books them. The write
// runs off the mailbox (on etcd it may take seconds): the limiter keeps answering pings, and
// requests that arrive meanwhile are booked in memory and wait for the next write.

// flush is the message the limiter sends itself to write the ledger and then send the answers
// held for it. It goes to the back of the mailbox, so every message already waiting is handled
// first: a burst of requests costs one write, and no grant leaves before the write that books it.
type flush struct{}

// write is one ledger write in flight. Its result is set before done closes, and the write
// itself is then sent to the limiter: whichever comes first, the message or a stop waiting on
// done, hands out its answers (the other finds it no longer the write in flight).
type write struct {
	done   chan struct{}
	result written
}

// written is a ledger write's end, with the answers it books.
type written struct {
	err error
	// theirs is another writer's ledger, found when the conditional write was refused; the
	// written ledger holds both, and the limiter absorbs it too.
	theirs *Ledger
	batch  []outgoing
}

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

// NextWrite is how long a flush waits so that writes are at least every apart.
func NextWrite(last, now time.Time, every time.Duration) time.Duration {
	if last.IsZero() || every <= 0 {
		return 0
	}
	return max(0, last.Add(every).Sub(now))
}

// flush starts a write of the ledger as it is now, for the answers held so far. One write is in
// flight at a time; a flush meanwhile is taken up when it ends.
func (l *limiterActor) flush(ctx actor.Context) {
	l.flushing = false
	if l.writing != nil {
		l.flushAgain = true
		return
	}
	data, batch := l.snapshot()
	w := &write{done: make(chan struct{})}
	l.writing = w
	blob, log := l.cfg.Ledger, l.cfg.Logger
	self, root := ctx.Self(), ctx.ActorSystem().Root
	go func() {
		w.result = async.Recover(log, func() written {
			theirs, err := writeLedger(blob, data)
			return written{err: err, theirs: theirs, batch: batch}
		}, func(err error) written { return written{err: err, batch: batch} })
		close(w.done)
		root.Send(self, w)
	}()
}

// ended takes up the end of a write, if it is still the one in flight.
func (l *limiterActor) ended(ctx actor.Context, w *write) {
	if w != l.writing {
		return
	}
	l.writing = nil
	l.written(ctx, w.result)
}

// flushNow writes what the instance holds before it goes (an order's report books its issuance),
// in the mailbox: the next instance reads the ledger from the store. A write still in flight
// ends first, so that it cannot land over this later one, and its answers go out.
func (l *limiterActor) flushNow(ctx actor.Context) {
	if w := l.writing; w != nil {
		<-w.done
		l.ended(ctx, w)
	}
	if !l.flushing && !l.flushAgain && len(l.outbox) == 0 {
		return
	}
	l.flushing, l.flushAgain = false, false
	data, batch := l.snapshot()
	theirs, err := writeLedger(l.cfg.Ledger, data)
	l.written(ctx, written{err: err, theirs: theirs, batch: batch})
}

// snapshot is the ledger to write and the answers it books, taken together.
func (l *limiterActor) snapshot() ([]byte, []outgoing) {
	data, err := json.Marshal(l.limits.Ledger())
	if err != nil {
		data = nil // cannot happen for maps of times; writeLedger refuses nil
	}
	batch := l.outbox
	l.outbox = nil
	return data, batch
}

// written sends the answers a write booked. When it failed, no grant leaves: each is taken back
// and deferred (TakeBack).
func (l *limiterActor) written(ctx actor.Context, w written) {
	now := l.cfg.Now()
	l.lastWrite = now
	if l.cfg.Writes != nil {
		l.cfg.Writes.Add(1)
	}
	metrics.LedgerWrites.Inc()
	if w.theirs != nil {
		l.limits.Absorb(*w.theirs)
		l.cfg.Logger.Warn("the rate-limit ledger was changed by another writer; both ledgers' bookings are kept", "event", event.LedgerMerged)
	}
	if w.err != nil {
		l.cfg.Logger.Error("rate-limit ledger not written; orders wait until it can be", "event", event.LedgerWriteFailed,
			"error", w.err, "retry_at", now.Add(unwritableRetry))
	}
	for _, o := range w.batch {
		msg := o.msg
		if g, ok := msg.(*messages.PermitGranted); ok && w.err != nil {
			a, passed := TakeBack(l.limits, l.slots, g.Name, g.Permit, now)
			for _, n := range passed {
				delete(l.waiters, n)
			}
			msg = &messages.PermitDeferred{Name: g.Name, Until: a.Until, Reason: a.Limit}
		}
		ctx.Send(o.to, msg)
	}
	if l.flushAgain {
		l.flushAgain = false
		l.flushSoon(ctx)
	}
}

// writeLedger saves data. On a store that refuses a write over another writer's (etcd: an
// operator's migration, a replica that led meanwhile), it reads theirs, saves what both book, and
// returns theirs. It touches no actor state: it runs off the mailbox.
func writeLedger(blob store.Blob, data []byte) (*Ledger, error) {
	if data == nil {
		return nil, errors.New("ledger could not be encoded")
	}
	err := blob.Save(data)
	if !errors.Is(err, store.ErrChanged) {
		return nil, err
	}
	current, err := blob.Load() // and with it the version to write over
	var theirs, mine Ledger
	if err == nil {
		err = json.Unmarshal(current, &theirs)
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("ledger changed by another writer and unreadable: %w", err)
	}
	if err := json.Unmarshal(data, &mine); err != nil {
		return nil, err
	}
	merged, err := json.Marshal(MergeLedgers(mine, theirs))
	if err != nil {
		return nil, err
	}
	if err := blob.Save(merged); err != nil {
		return nil, err
	}
	return &theirs, nil
}

// load reads the ledger. A missing one is a first start unless the store holds certificates; an
// unreadable one is set aside (never overwritten in place), loudly. Either way, the certificates
// the store holds are booked again (rebuilt: true), so that no limit starts full.
func (l *limiterActor) load() (ledger Ledger, rebuilt bool) {
	data, err := l.cfg.Ledger.Load()
	if errors.Is(err, os.ErrNotExist) {
		return l.rebuild("missing")
	}
	if err == nil {
		err = json.Unmarshal(data, &ledger)
	}
	if err != nil {
		aside, _ := l.cfg.Ledger.SetAside(fmt.Sprint(l.cfg.Now().Unix()))
		l.cfg.Logger.Error("rate-limit ledger unreadable; set aside and rebuilt from the stored certificates", "event", event.LedgerCorrupt,
			"error", err, "moved_to", aside)
		return l.rebuild("unreadable")
	}
	return ledger, false
}

// rebuild books every certificate the store holds in a new ledger.
func (l *limiterActor) rebuild(why string) (Ledger, bool) {
	if l.cfg.Issued == nil {
		return Ledger{}, false
	}
	bookings, err := l.cfg.Issued()
	if err != nil {
		l.cfg.Logger.Error("could not list the stored certificates to rebuild the rate-limit ledger; starting empty",
			"event", event.LedgerCorrupt, "error", err)
		return Ledger{}, false
	}
	if len(bookings) == 0 {
		return Ledger{}, false // a first start
	}
	l.cfg.Logger.Warn("rate-limit ledger "+why+"; rebuilt from the stored certificates", "event", event.LedgerRebuilt,
		"certificates", len(bookings))
	return RebuildLedger(l.cfg.Table, bookings), true
}
