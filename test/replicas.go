package test

import (
	"fmt"
	"os/exec"
	"time"

	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/test/testkit"
)

// Replica is one process of the service with STORE=etcd, as a task of a Swarm service with
// several replicas: its own responder and internal port, the world's etcd, CA and DFP.
type Replica struct {
	Cmd       *exec.Cmd
	Logs      *testkit.LogBuffer
	Challenge string // its responder's address
	Ops       string // its internal port
	exited    chan struct{}
}

// StartReplicas starts n replicas of bin on the etcd at endpoint, and routes the proxy's challenge
// requests to a random one of them, as DFP's VIP does.
func (w *World) StartReplicas(bin, endpoint string, n int) ([]*Replica, error) {
	var replicas []*Replica
	for range n {
		r, err := w.startReplica(bin, endpoint)
		if err != nil {
			StopReplicas(replicas)
			return nil, err
		}
		replicas = append(replicas, r)
	}
	w.RouteTo(replicas)
	return replicas, nil
}

func (w *World) startReplica(bin, endpoint string) (*Replica, error) {
	challenge, err := FreeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	ops, err := FreeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	env := map[string]string{"STORE": "etcd", "ETCD_ENDPOINTS": endpoint, "CHALLENGE_ADDR": challenge, "METRICS_ADDR": ops}
	r := &Replica{Cmd: exec.Command(bin), Logs: &testkit.LogBuffer{}, Challenge: challenge, Ops: ops, exited: make(chan struct{})}
	for k, v := range w.Env {
		if _, own := env[k]; !own && k != "DATA_DIR" { // STORE=etcd needs no volume
			r.Cmd.Env = append(r.Cmd.Env, k+"="+v)
		}
	}
	for k, v := range env {
		r.Cmd.Env = append(r.Cmd.Env, k+"="+v)
	}
	r.Cmd.Stdout, r.Cmd.Stderr = r.Logs, r.Logs
	if err := r.Cmd.Start(); err != nil {
		return nil, fmt.Errorf("start a replica: %w", err)
	}
	go func() {
		_ = r.Cmd.Wait()
		close(r.exited)
	}()
	return r, nil
}

// RouteTo sends challenge requests to these replicas only, as Swarm takes a dead task out of the
// VIP.
func (w *World) RouteTo(replicas []*Replica) {
	var addrs []string
	for _, r := range replicas {
		addrs = append(addrs, r.Challenge)
	}
	w.Frontend.SetBackends(addrs...)
}

// Leads says whether the replica is alive and leads: elected more often than it lost a term.
func (r *Replica) Leads() bool {
	select {
	case <-r.exited:
		return false
	default:
	}
	return len(r.Logs.Events(event.LeaderElected)) > len(r.Logs.Events(event.LeadershipLost))
}

// Kill is SIGKILL: no resignation, the lease lapses after its TTL.
func (r *Replica) Kill() {
	_ = r.Cmd.Process.Kill()
	<-r.exited
}

// StopReplicas kills every replica still running.
func StopReplicas(replicas []*Replica) {
	for _, r := range replicas {
		r.Kill()
	}
}

// AwaitLeader returns the replica that leads, among those not in skip, within timeout.
func AwaitLeader(replicas []*Replica, skip map[*Replica]bool, timeout time.Duration) (*Replica, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, r := range replicas {
			if !skip[r] && r.Leads() {
				return r, nil
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil, fmt.Errorf("no replica led within %s", timeout)
}
