package test

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"os"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter/limits"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/app"
	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
)

// slow delays requests that match, so that restarts land while work is in flight.
func slow(match func(*http.Request) bool, d time.Duration) func(http.RoundTripper) http.RoundTripper {
	return func(next http.RoundTripper) http.RoundTripper {
		return roundTrip(func(r *http.Request) (*http.Response, error) {
			if match(r) {
				time.Sleep(d)
			}
			return next.RoundTrip(r)
		})
	}
}

// Every actor kind is restarted in place while orders wait for a slot, orders and uploads are in
// flight, and the supervisor once restarts everything under it: every name still reaches a
// certificate in DFP, and the ledger never books fewer certificates than the CA issued.
func TestRestartsOfEveryActorKindMidWorkLoseNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.Env["ORDER_CONCURRENCY"] = "2" // most names wait in the limiter for a slot
	var (
		mu     sync.Mutex
		system *actor.ActorSystem
	)
	faults := app.Faults{
		ACME: slow(func(r *http.Request) bool { return len(orderNames(r)) > 0 }, 300*time.Millisecond),
		DFP:  slow(func(r *http.Request) bool { return r.Method == http.MethodPut }, 200*time.Millisecond),
		System: func(s *actor.ActorSystem) {
			mu.Lock()
			system = s
			mu.Unlock()
		},
	}
	r := w.startWith(t, faults)

	restarted := map[string]int{}
	restart := func(id string) {
		mu.Lock()
		s := system
		mu.Unlock()
		if s == nil {
			return
		}
		if p, ok := s.ProcessRegistry.GetLocal(id); ok {
			p.SendSystemMessage(&actor.PID{Address: s.Address(), Id: id}, &actor.Restart{})
			restarted[id]++
		}
	}
	kinds := []string{"supervisor/ratelimiter", "supervisor/uploader", "supervisor/discovery", "certificate"}
	for i := 0; i < 40; i++ {
		time.Sleep(150 * time.Millisecond)
		id := kinds[i%len(kinds)]
		if id == "certificate" {
			id = "supervisor/certificate/" + fixtureNames[rand.IntN(len(fixtureNames))]
		}
		if i == 21 {
			id = "supervisor" // stops every child, orders in flight included, and starts them anew
		}
		restart(id)
	}
	if restarted["supervisor/ratelimiter"] == 0 || restarted["supervisor/uploader"] == 0 || restarted["supervisor"] != 1 {
		t.Fatalf("restarts made: %v", restarted)
	}

	want := certFiles(fixtureNames)
	waitFor(t, "every name in DFP after the restarts", 90*time.Second, r, func() bool {
		return reflect.DeepEqual(w.DFP.CertNames(), want)
	})
	r.shutdown(t)
	if f := r.logs.Events(event.IssuanceFailed); len(f) != 0 {
		t.Errorf("orders failed during the restarts: %v", f)
	}
	// Never undercount: the certificates booked in the exact-set buckets cover every order the
	// CA received (each was issued: no failures above).
	booked := bookedCertificates(t, w, fixtureNames...)
	if orders := int(w.CA.Orders()); booked < orders {
		t.Errorf("the ledger books %d certificates, the CA received %d orders", booked, orders)
	}
	t.Logf("restarts %v; %d orders at the CA, %d booked", restarted, w.CA.Orders(), booked)
}

// bookedCertificates is how many certificates the ledger has booked, and not yet seen refilled, in
// the exact-set buckets of names.
func bookedCertificates(t *testing.T, w *World, names ...string) int {
	t.Helper()
	st, err := store.Open(w.Env["DATA_DIR"], w.CA.DirectoryURL)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(st.LedgerPath())
	if err != nil {
		t.Fatal(err)
	}
	var ledger ratelimiter.Ledger
	if err := json.Unmarshal(data, &ledger); err != nil {
		t.Fatal(err)
	}
	exactSet, _ := limits.Production.WithMargin(0.1).Named(messages.LimitCertificatesPerExactSet)
	booked := 0
	now := time.Now()
	for _, name := range names {
		if tat, ok := ledger.TAT[string(messages.LimitCertificatesPerExactSet)+"|"+name]; ok && tat.After(now) {
			booked += int((tat.Sub(now) + exactSet.Interval() - 1) / exactSet.Interval())
		}
	}
	return booked
}
