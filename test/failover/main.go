// Command failover measures how long several replicas on etcd take to recover from their leader's
// death: each round starts a fresh etcd, Pebble, DFP stand-in and three replicas, SIGKILLs the
// leader once Pebble has its first order, and times the next leader's election and its start.
// It prints each round and the median and worst, with the orders Pebble saw per kill.
//
//	go run ./test/failover [-rounds 10] [-ttl 10s] [-names 4]
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/test"
	"github.com/dfp-letsencrypt/provisioner/test/etcdtest"
	"github.com/dfp-letsencrypt/provisioner/test/testca"
)

type round struct {
	elected, resumed time.Duration // from the SIGKILL to the next leader's election, and its start
	names, orders    int           // names, and orders Pebble saw for them
	inFlight         int           // orders the dead leader had started and not finished
	duplicates       int           // certificates obtained more than once
	notFound         int           // challenges answered 404
}

func main() {
	rounds := flag.Int("rounds", 10, "leaders to kill")
	ttl := flag.Duration("ttl", 10*time.Second, "ETCD_LEASE_TTL")
	names := flag.Int("names", 4, "names per round")
	flag.Parse()
	if err := run(*rounds, *ttl, *names); err != nil {
		fmt.Fprintln(os.Stderr, "failover:", err)
		os.Exit(1)
	}
}

func run(rounds int, ttl time.Duration, n int) error {
	dir, err := os.MkdirTemp("", "dfp-letsencrypt-failover-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "provisioner")
	build := exec.Command("go", "build", "-o", bin, "github.com/dfp-letsencrypt/provisioner/cmd/provisioner")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	var results []round
	for i := range rounds {
		r, err := measure(bin, filepath.Join(dir, fmt.Sprint(i)), ttl, n)
		if err != nil {
			return fmt.Errorf("round %d: %w", i+1, err)
		}
		fmt.Printf("kill %2d: elected after %5.2fs, ordering again after %5.2fs; Pebble saw %d orders for %d names (%d in flight at the kill); %d duplicate certificates, %d challenges answered 404\n",
			i+1, r.elected.Seconds(), r.resumed.Seconds(), r.orders, r.names, r.inFlight, r.duplicates, r.notFound)
		results = append(results, r)
	}
	elected := sorted(results, func(r round) time.Duration { return r.elected })
	resumed := sorted(results, func(r round) time.Duration { return r.resumed })
	fmt.Printf("ETCD_LEASE_TTL=%s, %d kills: new leader elected after median %.2fs, worst %.2fs; ordering again after median %.2fs, worst %.2fs\n",
		ttl, len(results), median(elected).Seconds(), elected[len(elected)-1].Seconds(), median(resumed).Seconds(), resumed[len(resumed)-1].Seconds())
	return nil
}

func measure(bin, dir string, ttl time.Duration, n int) (round, error) {
	r := round{names: n}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return r, err
	}
	etcd, err := etcdtest.Start(filepath.Join(dir, "etcd"), true)
	if err != nil {
		return r, err
	}
	defer etcd.Close()
	w, err := test.NewWorld(dir, testca.Options{})
	if err != nil {
		return r, err
	}
	defer w.Close()
	var names []string
	for i := range n {
		names = append(names, fmt.Sprintf("n%d.failover.test", i))
	}
	w.DFP.Restart(false)
	w.Env["DOMAINS"] = strings.Join(names, ",")
	w.Env["LOG_LEVEL"] = "info"
	w.Env["ETCD_LEASE_TTL"] = ttl.String()
	replicas, err := w.StartReplicas(bin, etcd.Endpoint, 3)
	if err != nil {
		return r, err
	}
	defer test.StopReplicas(replicas)
	leader, err := test.AwaitLeader(replicas, nil, 60*time.Second)
	if err != nil {
		return r, err
	}
	// Mid-order: the CA has an order the dead leader will never finish.
	if !await(30*time.Second, func() bool { return w.CA.Orders() > 0 }) {
		return r, fmt.Errorf("the leader placed no order; log:\n%s", leader.Logs.String())
	}
	var alive []*test.Replica
	for _, rep := range replicas {
		if rep != leader {
			alive = append(alive, rep)
		}
	}
	w.RouteTo(alive)
	leader.Kill()
	killed := time.Now()
	next, err := test.AwaitLeader(alive, nil, ttl+60*time.Second)
	if err != nil {
		return r, err
	}
	r.elected = time.Since(killed)
	if !await(60*time.Second, func() bool { return len(next.Logs.Events(event.ServiceStarted)) > 0 }) {
		return r, fmt.Errorf("the new leader did not start; log:\n%s", next.Logs.String())
	}
	r.resumed = time.Since(killed)
	if !await(120*time.Second, func() bool { return len(w.DFP.CertNames()) == n }) {
		return r, fmt.Errorf("DFP holds %d of %d names; log:\n%s", len(w.DFP.CertNames()), n, next.Logs.String())
	}
	obtained := map[string]int{}
	for _, rep := range replicas {
		for _, e := range rep.Logs.Events(event.CertificateObtained) {
			obtained[fmt.Sprint(e["domain"])]++
		}
	}
	for _, c := range obtained {
		r.duplicates += c - 1
	}
	r.inFlight = len(leader.Logs.Events(event.IssuanceStarted)) - len(leader.Logs.Events(event.CertificateObtained))
	r.orders = int(w.CA.Orders())
	r.notFound = w.Frontend.NotFound()
	return r, nil
}

func await(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

func sorted(rs []round, f func(round) time.Duration) []time.Duration {
	var out []time.Duration
	for _, r := range rs {
		out = append(out, f(r))
	}
	slices.Sort(out)
	return out
}

func median(d []time.Duration) time.Duration {
	if len(d)%2 == 1 {
		return d[len(d)/2]
	}
	return (d[len(d)/2-1] + d[len(d)/2]) / 2
}
