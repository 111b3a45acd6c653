package certificate

import (
	"crypto/x509"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/issuer"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/test/certgen"
	"github.com/dfp-letsencrypt/provisioner/test/testkit"
)

// memoryCA issues from an in-memory CA and stores the bundle, as the real issuer does.
type memoryCA struct {
	ca     *certgen.CA
	store  *store.Store
	orders atomic.Int32
}

func (m *memoryCA) Obtain(name string, _ *x509.Certificate) (*bundle.Bundle, error) {
	m.orders.Add(1)
	pem, err := m.ca.Bundle([]string{name}, time.Now().Add(-time.Minute), time.Now().Add(90*24*time.Hour))
	if err != nil {
		return nil, err
	}
	if err := m.store.SaveBundle(name, pem); err != nil {
		return nil, err
	}
	return bundle.Parse(pem)
}

func (m *memoryCA) RenewalWindow(*bundle.Bundle) (issuer.Window, error) {
	return issuer.Window{}, issuer.ErrNoARI
}

// recorder is a stand-in limiter or uploader: it keeps what it is sent, and answers permit
// requests with answer.
type recorder struct {
	mu     sync.Mutex
	got    []any
	answer func(n int) any // n: how many requests came before this one; nil: no answer
	asked  []*messages.PermitRequest
}

func (r *recorder) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *messages.PermitRequest:
		r.mu.Lock()
		reply := r.answer(len(r.asked))
		r.asked = append(r.asked, msg)
		r.mu.Unlock()
		if g, ok := reply.(*messages.PermitGranted); ok {
			reply = &messages.PermitGranted{Name: g.Name, Permit: msg.Permit} // a grant answers its request
		}
		if reply != nil {
			ctx.Respond(reply)
		}
	case *messages.OrderFinished, *messages.DeployCertificate:
		r.mu.Lock()
		r.got = append(r.got, msg)
		r.mu.Unlock()
	}
}

func (r *recorder) requests() []*messages.PermitRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*messages.PermitRequest(nil), r.asked...)
}

func (r *recorder) finished() []*messages.OrderFinished {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*messages.OrderFinished
	for _, m := range r.got {
		if f, ok := m.(*messages.OrderFinished); ok {
			out = append(out, f)
		}
	}
	return out
}

func startCertActor(t *testing.T, answer func(n int) any) (*actor.ActorSystem, *actor.PID, *memoryCA, *recorder, *testkit.LogBuffer) {
	t.Helper()
	return startCertActorWith(t, answer, func(*Deps) {})
}

func startCertActorWith(t *testing.T, answer func(n int) any, tune func(*Deps)) (*actor.ActorSystem, *actor.PID, *memoryCA, *recorder, *testkit.LogBuffer) {
	t.Helper()
	logs := &testkit.LogBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	st, err := store.Open(t.TempDir(), "https://ca.test/dir")
	if err != nil {
		t.Fatal(err)
	}
	ca, err := certgen.NewCA("t")
	if err != nil {
		t.Fatal(err)
	}
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }))
	limiter := &recorder{answer: answer}
	limiterPID := system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return limiter }))
	uploaderPID := system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return &recorder{} }))
	iss := &memoryCA{ca: ca, store: st}
	deps := Deps{Store: st, Issuer: iss, Limiter: limiterPID, Uploader: uploaderPID, Logger: logger, Now: time.Now}
	tune(&deps)
	pid := system.Root.Spawn(Props("a.example.com", deps))
	t.Cleanup(func() {
		_ = system.Root.StopFuture(pid).Wait()
		system.Shutdown()
	})
	return system, pid, iss, limiter, logs
}

// A deferred permit is asked for again at the limiter's time, and the order follows.
func TestDeferredPermitIsAskedAgainAtItsTime(t *testing.T) {
	_, _, iss, limiter, logs := startCertActor(t, func(n int) any {
		if n == 0 {
			return &messages.PermitDeferred{Name: "a.example.com", Until: time.Now().Add(50 * time.Millisecond), Reason: messages.LimitNewOrders}
		}
		return &messages.PermitGranted{Name: "a.example.com"}
	})
	testkit.Eventually(t, "the order after the deferral", logs, func() bool { return len(limiter.finished()) == 1 })
	if n := iss.orders.Load(); n != 1 {
		t.Fatalf("%d orders, want 1", n)
	}
	if f := limiter.finished()[0]; f.Outcome != messages.OutcomeIssued {
		t.Fatalf("limiter told %+v, want issued", f)
	}
}

// A permit this instance did not ask for (one granted to a previous instance) goes back to the
// limiter at once instead of holding an order slot until its lease ends.
func TestUnaskedPermitIsGivenBack(t *testing.T) {
	system, pid, iss, limiter, logs := startCertActor(t, func(int) any { return &messages.PermitGranted{Name: "a.example.com"} })
	testkit.Eventually(t, "the first certificate", logs, func() bool { return len(limiter.finished()) == 1 })
	system.Root.Send(pid, &messages.PermitGranted{Name: "a.example.com"})
	testkit.Eventually(t, "the permit given back", logs, func() bool { return len(limiter.finished()) == 2 })
	if f := limiter.finished()[1]; f.Outcome != messages.OutcomeNotOrdered {
		t.Fatalf("limiter told %+v, want not_ordered", f)
	}
	if n := iss.orders.Load(); n != 1 {
		t.Fatalf("%d orders, want 1: an unasked permit was used", n)
	}
}

// The result of an order placed by a previous instance (same PID, another incarnation) is
// adopted: the limiter learns its outcome, and it is never taken for this instance's own order.
func TestAPreviousInstancesResultIsAdopted(t *testing.T) {
	system, pid, _, limiter, logs := startCertActor(t, func(int) any { return &messages.PermitGranted{Name: "a.example.com"} })
	testkit.Eventually(t, "the first certificate", logs, func() bool { return len(limiter.finished()) == 1 })
	system.Root.Send(pid, obtained{from: 0, err: issuer.ErrInFlight})
	testkit.Eventually(t, "the adopted result reported", logs, func() bool { return len(limiter.finished()) == 2 })
	if f := limiter.finished()[1]; f.Outcome != messages.OutcomeNotOrdered {
		t.Fatalf("limiter told %+v for an adopted in-flight result, want not_ordered", f)
	}
	if n := len(logs.Events(event.OrderAdopted)); n != 1 {
		t.Fatalf("order_adopted logged %d times, want 1", n)
	}
}

// A restarted limiter forgets who waits for an order slot: the actor asks again, with the same
// permit, instead of waiting forever.
func TestUnansweredPermitRequestIsAskedAgain(t *testing.T) {
	_, _, iss, limiter, logs := startCertActorWith(t, func(n int) any {
		if n == 0 {
			return nil // lost with the limiter's restart
		}
		return &messages.PermitGranted{Name: "a.example.com"}
	}, func(d *Deps) { d.PermitWait = 50 * time.Millisecond })
	testkit.Eventually(t, "the order after asking again", logs, func() bool { return len(limiter.finished()) == 1 })
	asked := limiter.requests()
	if len(asked) != 2 || asked[0].Permit == "" || asked[1].Permit != asked[0].Permit {
		t.Fatalf("requests %+v, want two with the same permit", asked)
	}
	if f := limiter.finished()[0]; f.Permit != asked[0].Permit || iss.orders.Load() != 1 {
		t.Fatalf("finished %+v after %d orders; want one order under the permit", f, iss.orders.Load())
	}
}

// A previous instance's order ends while this instance waits for a permit: its result is adopted
// under its own permit, and the grant this instance then gets is given back unused (ordering on
// the older view would place an order the limiter never booked).
func TestAdoptedResultWhileWaitingForAPermitAbandonsTheRequest(t *testing.T) {
	system, pid, iss, limiter, logs := startCertActor(t, func(n int) any { return nil })
	testkit.Eventually(t, "the permit request", logs, func() bool { return len(limiter.requests()) == 1 })
	mine := limiter.requests()[0].Permit
	system.Root.Send(pid, obtained{from: 0, permit: "old", err: errors.New("connection reset")})
	testkit.Eventually(t, "the adopted result reported", logs, func() bool { return len(limiter.finished()) == 1 })
	system.Root.Send(pid, &messages.PermitGranted{Name: "a.example.com", Permit: mine}) // the late answer
	testkit.Eventually(t, "the late grant given back", logs, func() bool { return len(limiter.finished()) == 2 })
	f := limiter.finished()
	if f[0].Permit != "old" || f[0].Outcome != messages.OutcomeFailed {
		t.Errorf("adopted result reported as %+v, want failed under the old permit", f[0])
	}
	if f[1].Permit != mine || f[1].Outcome != messages.OutcomeNotOrdered {
		t.Errorf("late grant reported as %+v, want not_ordered under %s", f[1], mine)
	}
	if n := iss.orders.Load(); n != 0 {
		t.Errorf("%d orders on a stale view, want 0", n)
	}
}
