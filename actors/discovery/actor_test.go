package discovery

import (
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/messages/dnsname"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/proxyapi"
	"github.com/dfp-letsencrypt/provisioner/test/dfpstub"
	"github.com/dfp-letsencrypt/provisioner/test/testkit"
)

// parent spawns discovery as its child, as the supervisor does, and counts its reports.
type parent struct {
	props   *actor.Props
	mu      sync.Mutex
	reports int
	child   *actor.PID
}

func (p *parent) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		p.mu.Lock()
		p.child = ctx.Spawn(p.props)
		p.mu.Unlock()
	case *messages.DomainsDiscovered:
		p.mu.Lock()
		p.reports++
		p.mu.Unlock()
	}
}

func (p *parent) polls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reports
}

// A name is announced once while DFP lists it, a restarted discovery does not announce every name
// again, and a name that leaves DFP and comes back is announced again (the set is pruned).
func TestNamesAreAnnouncedOnceWhileListedAndAgainWhenBack(t *testing.T) {
	dfp, err := dfpstub.New(dfpstub.Fixture)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dfp.Close)
	u, _ := url.Parse(dfp.URL())
	logs := &testkit.LogBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }))
	t.Cleanup(system.Shutdown)
	p := &parent{props: Props(Config{DFP: proxyapi.New(u, 5*time.Second), Interval: 20 * time.Millisecond, Timeout: 5 * time.Second,
		Exclusions: dnsname.NewPatterns(nil), Logger: logger, Now: time.Now})}
	system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return p }))

	announced := func(name string) int {
		n := 0
		for _, e := range logs.Events(event.DomainDiscovered) {
			if e["domain"] == name {
				n++
			}
		}
		return n
	}
	waitPolls := func(more int) {
		t.Helper()
		target := p.polls() + more
		deadline := time.Now().Add(5 * time.Second)
		for p.polls() < target {
			if time.Now().After(deadline) {
				t.Fatalf("discovery stopped polling; log:\n%s", logs.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitPolls(3)
	p.mu.Lock()
	child := p.child
	p.mu.Unlock()
	proc, _ := system.ProcessRegistry.Get(child)
	proc.SendSystemMessage(child, &actor.Restart{})
	waitPolls(3)
	if n := announced("dsvc.test"); n != 1 {
		t.Fatalf("dsvc.test announced %d times over polls and a restart, want once", n)
	}

	dfp.RemoveService("dsvc")
	waitPolls(3)
	q := url.Values{"serviceName": {"dsvc"}, "serviceDomain": {"dsvc.test"}, "port": {"80"}}
	resp, err := http.Get(dfp.URL() + "/v1/docker-flow-proxy/reconfigure?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitPolls(3)
	if n := announced("dsvc.test"); n != 2 {
		t.Fatalf("dsvc.test announced %d times after leaving DFP and coming back, want twice", n)
	}
}
