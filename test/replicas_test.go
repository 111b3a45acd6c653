package test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	readmodel "github.com/dfp-letsencrypt/provisioner/cmd/provisioner/status"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/test/etcdtest"
)

// etcdWorld is a world serving names, with an etcd beside it.
func etcdWorld(t *testing.T, names string) (*etcdtest.Etcd, *World) {
	t.Helper()
	etcd := startEtcd(t)
	w := newWorld(t)
	onlyDomains(w, names)
	w.Env["LOG_LEVEL"] = "info"
	return etcd, w
}

func startEtcd(t *testing.T) *etcdtest.Etcd {
	t.Helper()
	e, err := etcdtest.Start(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// Three replicas on one etcd, challenges routed to any of them: one leads and orders, every
// challenge is answered whichever replica gets it, and when the leader is SIGKILLed mid-order
// another leads within the lease's TTL and finishes the job, ordering nothing twice.
func TestBinaryReplicasOnEtcdFailOver(t *testing.T) {
	t.Parallel()
	names := []string{"a.rep.test", "b.rep.test", "c.rep.test", "d.rep.test", "e.rep.test", "f.rep.test"}
	bin := buildBinary(t)
	etcd, w := etcdWorld(t, strings.Join(names, ","))
	const ttl = 2 * time.Second
	w.Env["ETCD_LEASE_TTL"] = ttl.String()
	w.Env["ORDER_CONCURRENCY"] = "2" // some orders still wait for a slot when the leader dies

	replicas, err := w.StartReplicas(bin, etcd.Endpoint, 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { StopReplicas(replicas) })
	first, err := AwaitLeader(replicas, nil, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	eventuallyLogged(t, "the leader's first order", 30*time.Second, first.Logs, func() bool {
		return len(first.Logs.Events(event.IssuanceStarted)) > 0
	})
	var alive []*Replica
	for _, r := range replicas {
		if r != first {
			alive = append(alive, r)
			eventuallyLogged(t, "a follower naming the leader", 10*time.Second, r.Logs, func() bool {
				standby := r.Logs.Events(event.Standby)
				return len(standby) == 1 && standby[0]["holder"] == first.Logs.Events(event.LeaderElected)[0]["identity"]
			})
		}
	}
	w.RouteTo(alive)
	first.Kill()
	killed := time.Now()
	second, err := AwaitLeader(alive, nil, ttl+10*time.Second)
	if err != nil {
		t.Fatalf("%v after the leader's SIGKILL; logs:\n%s\n%s", err, alive[0].Logs.String(), alive[1].Logs.String())
	}
	failover := time.Since(killed)
	t.Logf("a new leader %s after the leader's SIGKILL (lease TTL %s)", failover.Round(10*time.Millisecond), ttl)
	if failover > ttl+5*time.Second {
		t.Errorf("failover took %s, want within the TTL (%s) and a few seconds", failover, ttl)
	}
	eventuallyLogged(t, "every name uploaded", 60*time.Second, second.Logs, func() bool {
		return len(w.DFP.CertNames()) == len(names)
	})

	obtained := map[string]int{}
	for _, r := range replicas {
		for _, e := range r.Logs.Events(event.CertificateObtained) {
			obtained[e["domain"].(string)]++
		}
		if r != first && r != second && len(r.Logs.Events(event.IssuanceStarted)) > 0 {
			t.Errorf("a replica that never led ordered; log:\n%s", r.Logs.String())
		}
	}
	for _, n := range names {
		if obtained[n] != 1 {
			t.Errorf("%s obtained %d times, want once", n, obtained[n])
		}
	}
	inFlight := int64(len(first.Logs.Events(event.IssuanceStarted)) - len(first.Logs.Events(event.CertificateObtained)))
	orders, finalized := w.CA.Orders(), w.CA.Finalizations()
	t.Logf("Pebble saw %d orders and %d finalizations for %d names; %d orders were in flight at the kill", orders, finalized, len(names), inFlight)
	if orders > int64(len(names))+inFlight || finalized > int64(len(names))+inFlight {
		t.Errorf("Pebble saw %d orders and %d finalizations for %d names with %d in flight at the kill: something was ordered twice",
			orders, finalized, len(names), inFlight)
	}
	if n := w.Frontend.NotFound(); n != 0 {
		t.Errorf("%d challenge requests were answered 404", n)
	}

	// The state is etcd's: status reads it there, with no volume.
	env := map[string]string{"STORE": "etcd", "ETCD_ENDPOINTS": etcd.Endpoint, "ACME_DIRECTORY": w.Env["ACME_DIRECTORY"],
		"LEGO_CA_CERTIFICATES": w.Env["LEGO_CA_CERTIFICATES"], "RATE_LIMITS": "production"}
	// The upload comes before the limiter's spaced write that closes the order's booking: until
	// that write, status shows the name as renewing.
	var report readmodel.StatusReport
	var out []byte
	valid := 0
	for deadline := time.Now().Add(15 * time.Second); valid != len(names) && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		var err error
		if out, err = runWith(bin, env, "status", "--json"); err != nil {
			t.Fatalf("status: %v\n%s", err, out)
		}
		if err := json.Unmarshal(out, &report); err != nil {
			t.Fatalf("status --json: %v\n%s", err, out)
		}
		valid = 0
		for _, n := range report.Names {
			if n.State == readmodel.StateValid {
				valid++
			}
		}
	}
	if valid != len(names) {
		t.Errorf("status from etcd shows %d valid names, want %d:\n%s", valid, len(names), out)
	}
	// The ledger never counts less than the CA did: one certificate per name against the domain,
	// and at least every order Pebble saw against the account (the order in flight at the kill
	// was booked once, and its name's next order used that booking).
	spent := map[string]int{}
	for _, b := range report.Buckets {
		spent[b.Bucket] = b.Capacity - b.TokensLeft
	}
	t.Logf("the ledger books %d certificates against rep.test and %d orders against the account", spent["certificates_per_registered_domain|rep.test"], spent["new_orders_per_account|account"])
	if got := spent["certificates_per_registered_domain|rep.test"]; got != len(names) {
		t.Errorf("the ledger books %d certificates against rep.test, want %d", got, len(names))
	}
	if got := spent["new_orders_per_account|account"]; int64(got) < orders {
		t.Errorf("the ledger books %d orders against the account; Pebble saw %d", got, orders)
	}
}

// A file store's user moves to etcd: replicas on an empty etcd take DFP's certificates back (the
// recovery of issue 9 part 1, with the etcd store), and a migrated etcd starts where DATA_DIR
// left off. Neither places an order.
func TestBinaryFromFileStoreToEtcd(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	etcd, w := etcdWorld(t, "m1.move.test,m2.move.test")

	cmd, logs := startBinary(t, bin, w)
	eventuallyLogged(t, "both names uploaded from the file store", 60*time.Second, logs, func() bool {
		return len(w.DFP.CertNames()) == 2
	})
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	ordered := w.CA.Orders()
	w.Env["ETCD_LEASE_TTL"] = "2s" // for the replicas; the file store refuses ETCD_* variables

	for _, c := range []struct {
		prefix  string
		migrate bool
		want    event.Name // what the leader logs for each name
	}{
		{prefix: "/recovered", want: event.CertificateRecovered},
		{prefix: "/migrated", migrate: true, want: event.CertificateLoaded},
	} {
		w.Env["ETCD_PREFIX"] = c.prefix
		if c.migrate {
			env := map[string]string{"DATA_DIR": w.Env["DATA_DIR"], "ETCD_ENDPOINTS": etcd.Endpoint, "ETCD_PREFIX": c.prefix,
				"ACME_DIRECTORY": w.Env["ACME_DIRECTORY"], "LEGO_CA_CERTIFICATES": w.Env["LEGO_CA_CERTIFICATES"]}
			for run, want := range []string{"copied", "already there"} {
				out, err := runWith(bin, env, "migrate", "--to", "etcd")
				if err != nil || !strings.Contains(string(out), want) {
					t.Fatalf("migrate, run %d: %v, want %q in:\n%s", run+1, err, want, out)
				}
				t.Logf("migrate, run %d:\n%s", run+1, out)
			}
		}
		replicas, err := w.StartReplicas(bin, etcd.Endpoint, 2)
		if err != nil {
			t.Fatal(err)
		}
		leader, err := AwaitLeader(replicas, nil, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		eventuallyLogged(t, fmt.Sprintf("%s for both names (%s)", c.want, c.prefix), 30*time.Second, leader.Logs, func() bool {
			return len(leader.Logs.Events(c.want)) == 2
		})
		time.Sleep(2 * time.Second) // a discovery poll or two, in which an order would show
		for _, r := range replicas {
			if n := len(r.Logs.Events(event.IssuanceStarted)); n != 0 {
				t.Errorf("%s: a replica ordered %d times; log:\n%s", c.prefix, n, r.Logs.String())
			}
		}
		if c.migrate && len(leader.Logs.Events(event.AccountRegistered))+len(leader.Logs.Events(event.CertificateRecovered)) != 0 {
			t.Errorf("%s: the account or a certificate came from elsewhere than the migration; log:\n%s", c.prefix, leader.Logs.String())
		}
		StopReplicas(replicas)
	}
	if n := w.CA.Orders(); n != ordered {
		t.Errorf("Pebble saw %d orders after the file store's %d", n, ordered)
	}
}

// A stopped leader (an update, a scale-down) hands over at once: it resigns, so the next replica
// does not wait out the lease's TTL.
func TestBinaryStoppedLeaderHandsOverAtOnce(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	etcd, w := etcdWorld(t, "h1.handover.test")
	w.Env["ETCD_LEASE_TTL"] = "60s"
	replicas, err := w.StartReplicas(bin, etcd.Endpoint, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { StopReplicas(replicas) })
	first, err := AwaitLeader(replicas, nil, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	eventuallyLogged(t, "the name uploaded", 60*time.Second, first.Logs, func() bool { return len(w.DFP.CertNames()) == 1 })
	_ = first.Cmd.Process.Signal(syscall.SIGTERM)
	stopped := time.Now()
	second, err := AwaitLeader(replicas, map[*Replica]bool{first: true}, 20*time.Second)
	if err != nil {
		t.Fatalf("%v after the leader's SIGTERM (lease TTL 60s); leader's log:\n%s", err, first.Logs.String())
	}
	took := time.Since(stopped)
	t.Logf("the next replica led %s after the leader's SIGTERM", took.Round(10*time.Millisecond))
	if took > 15*time.Second {
		t.Errorf("handover took %s: the stopped leader did not resign", took)
	}
	eventuallyLogged(t, "the new leader's start", 30*time.Second, second.Logs, func() bool {
		return len(second.Logs.Events(event.CertificateLoaded)) == 1
	})
	if n := w.CA.Orders(); n != 1 {
		t.Errorf("Pebble saw %d orders for one name", n)
	}
}

// A leader whose etcd session lapses while it lives (etcd unreachable past the TTL) stops its
// work, says so, and campaigns again; alone, it leads again and orders nothing twice.
func TestLeaderWhoseSessionLapsesStopsAndLeadsAgain(t *testing.T) {
	t.Parallel()
	etcd, w := etcdWorld(t, "lapse.test")
	for k, v := range map[string]string{"STORE": "etcd", "ETCD_ENDPOINTS": etcd.Endpoint, "ETCD_LEASE_TTL": "2s"} {
		w.Env[k] = v
	}
	r := w.start(t)
	waitFor(t, "the name uploaded", 60*time.Second, r, func() bool { return len(w.DFP.CertNames()) == 1 })

	client, err := etcd.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	leases, err := client.Leases(context.Background())
	if err != nil || len(leases.Leases) == 0 {
		t.Fatalf("leases: %v, %v", leases, err)
	}
	for _, l := range leases.Leases { // what etcd does to a session it has not heard from in its TTL
		if _, err := client.Revoke(context.Background(), l.ID); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "leadership_lost, then a second term", 30*time.Second, r, func() bool {
		return len(r.logs.Events(event.LeadershipLost)) == 1 && len(r.logs.Events(event.LeaderElected)) == 2 &&
			len(r.logs.Events(event.ServiceStarted)) == 2
	})
	if n := len(r.logs.Events(event.ShutdownComplete)); n != 1 {
		t.Errorf("the lapsed term's actors stopped %d times, want once", n)
	}
	if n := w.CA.Orders(); n != 1 {
		t.Errorf("Pebble saw %d orders for one name", n)
	}
}

// A replica whose etcd does not answer waits alive (Swarm must not restart it for that), says
// why and when it tries again, and neither leads nor orders.
func TestBinaryReplicaWaitsAliveForEtcd(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	w := newWorld(t)
	onlyDomains(w, "wait.etcd.test")
	w.Env["LOG_LEVEL"] = "info"
	dead, err := FreeLoopbackAddr() // nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	replicas, err := w.StartReplicas(bin, dead, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { StopReplicas(replicas) })
	r := replicas[0]
	eventuallyLogged(t, "etcd_unavailable", 30*time.Second, r.Logs, func() bool {
		return len(r.Logs.Events(event.EtcdUnavailable)) > 0
	})
	w.Env["METRICS_ADDR"] = r.Ops
	if code, body := check(t, w, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz while etcd is away = %d %v, want 200", code, body)
	}
	if code, body := check(t, w, "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz while etcd is away = %d %v, want 503", code, body)
	}
	if n := len(r.Logs.Events(event.LeaderElected)) + len(r.Logs.Events(event.IssuanceStarted)); n != 0 {
		t.Errorf("led or ordered without etcd; log:\n%s", r.Logs.String())
	}
}

// With polling set to an hour, the swarm listener's notification reaches a standby (Swarm's VIP
// picks any replica): the standby passes it on through etcd, the leader polls DFP at once and the
// new name is served; each replica's /metrics says whether it leads.
func TestBinaryStandbyPassesANotificationOn(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t)
	etcd, w := etcdWorld(t, "first.notify.test")
	w.Env["DISCOVERY_INTERVAL"] = "1h"
	replicas, err := w.StartReplicas(bin, etcd.Endpoint, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { StopReplicas(replicas) })
	leader, err := AwaitLeader(replicas, nil, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	standby := replicas[0]
	if standby == leader {
		standby = replicas[1]
	}
	eventuallyLogged(t, "the first name uploaded", 60*time.Second, leader.Logs, func() bool { return len(w.DFP.CertNames()) == 1 })
	eventuallyLogged(t, "the standby standing by", 10*time.Second, standby.Logs, func() bool { return len(standby.Logs.Events(event.Standby)) == 1 })

	register(t, w, "late", "late.notify.test")
	resp, err := http.Get("http://" + standby.Ops + "/notify/create?serviceName=late")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the standby answered the notification %d, want 200", resp.StatusCode)
	}
	eventuallyLogged(t, "the notified name served", 30*time.Second, leader.Logs, func() bool {
		_, ok := w.DFP.Cert("late.notify.test.pem")
		return ok
	})
	for r, want := range map[*Replica]string{leader: "1", standby: "0"} {
		resp, err := http.Get("http://" + r.Ops + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), "\ndfp_letsencrypt_leader_status "+want+"\n") {
			t.Errorf("a replica's /metrics lacks leader_status %s:\n%s", want, body)
		}
	}
}
