package certificate

import (
	"crypto/x509"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/dfp-letsencrypt/provisioner/actors/certificate/issuer"
	"github.com/dfp-letsencrypt/provisioner/actors/store"
	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/proxyapi"
	"github.com/dfp-letsencrypt/provisioner/test"
	"github.com/dfp-letsencrypt/provisioner/test/certgen"
)

// memoryCA issues from an in-memory CA and stores the bundle, as the real issuer does.
type memoryCA struct {
	ca     *certgen.CA
	store  *store.Store
	orders atomic.Int32
}

func (m *memoryCA) Obtain(name string, _ *x509.Certificate) (*proxyapi.Bundle, error) {
	m.orders.Add(1)
	pem, err := m.ca.Bundle([]string{name}, time.Now().Add(-time.Minute), time.Now().Add(90*24*time.Hour))
	if err != nil {
		return nil, err
	}
	if err := m.store.SaveBundle(name, pem); err != nil {
		return nil, err
	}
	return proxyapi.ParseBundle(pem)
}

func (m *memoryCA) RenewalWindow(*proxyapi.Bundle) (issuer.Window, error) {
	return issuer.Window{}, issuer.ErrNoARI
}

// recorder is a stand-in limiter or uploader: it keeps what it is sent, and answers permit
// requests with answer.
type recorder struct {
	mu     sync.Mutex
	got    []any
	answer func(n int) any // n: how many requests came before this one
	asked  int
}

func (r *recorder) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *messages.PermitRequest:
		r.mu.Lock()
		reply := r.answer(r.asked)
		r.asked++
		r.mu.Unlock()
		ctx.Respond(reply)
	case *messages.OrderFinished, *messages.DeployCertificate:
		r.mu.Lock()
		r.got = append(r.got, msg)
		r.mu.Unlock()
	}
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

func startCertActor(t *testing.T, answer func(n int) any) (*actor.ActorSystem, *actor.PID, *memoryCA, *recorder, *test.LogBuffer) {
	t.Helper()
	logs := &test.LogBuffer{}
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
	pid := system.Root.Spawn(Props("a.example.com", Deps{Store: st, Issuer: iss, Limiter: limiterPID, Uploader: uploaderPID,
		Logger: logger, Now: time.Now}))
	t.Cleanup(func() {
		_ = system.Root.StopFuture(pid).Wait()
		system.Shutdown()
	})
	return system, pid, iss, limiter, logs
}

func eventually(t *testing.T, what string, logs *test.LogBuffer, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; log:\n%s", what, logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A deferred permit is asked for again at the limiter's time, and the order follows.
func TestDeferredPermitIsAskedAgainAtItsTime(t *testing.T) {
	_, _, iss, limiter, logs := startCertActor(t, func(n int) any {
		if n == 0 {
			return &messages.PermitDeferred{Name: "a.example.com", Until: time.Now().Add(50 * time.Millisecond), Reason: messages.LimitNewOrders}
		}
		return &messages.PermitGranted{Name: "a.example.com"}
	})
	eventually(t, "the order after the deferral", logs, func() bool { return len(limiter.finished()) == 1 })
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
	eventually(t, "the first certificate", logs, func() bool { return len(limiter.finished()) == 1 })
	system.Root.Send(pid, &messages.PermitGranted{Name: "a.example.com"})
	eventually(t, "the permit given back", logs, func() bool { return len(limiter.finished()) == 2 })
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
	eventually(t, "the first certificate", logs, func() bool { return len(limiter.finished()) == 1 })
	system.Root.Send(pid, obtained{from: 0, err: issuer.ErrInFlight})
	eventually(t, "the adopted result reported", logs, func() bool { return len(limiter.finished()) == 2 })
	if f := limiter.finished()[1]; f.Outcome != messages.OutcomeNotOrdered {
		t.Fatalf("limiter told %+v for an adopted in-flight result, want not_ordered", f)
	}
	if n := len(logs.Events(event.OrderAdopted)); n != 1 {
		t.Fatalf("order_adopted logged %d times, want 1", n)
	}
}
