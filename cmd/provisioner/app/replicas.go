package app

import (
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/opsport"

	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/config"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store/etcdkv"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
)

// runReplicated is the run with STORE=etcd: every replica answers challenges from the answers
// shared in etcd; one at a time leads, and only the leader discovers, orders, renews and uploads.
// A replica whose term ends stops all of that at once and stands by again.
func runReplicated(ctx context.Context, cfg config.Config, logger *slog.Logger, faults Faults) error {
	client, err := etcdkv.Dial(cfg.Etcd.Endpoints, cfg.Etcd.TLS, cfg.Etcd.Username, cfg.Etcd.Password)
	if err != nil {
		return err
	}
	defer client.Close()
	answers := etcdkv.WatchAnswers(client, cfg.Etcd.Prefix, etcdkv.Timeout, logger)
	defer answers.Close()
	responder, err := listenResponder(cfg, answers, logger)
	if err != nil {
		return err
	}
	identity := replicaIdentity()
	stopDeadline := deadlineAfter(ctx, cfg.ShutdownTimeout)
	for {
		term, err := standBy(ctx, client, cfg, identity, logger)
		if term == nil {
			return errors.Join(err, stopResponder(responder, stopDeadline()))
		}
		answers.Lead(term.Lease())
		termCtx, endTerm := context.WithCancel(ctx)
		go func() {
			select {
			case <-term.Done():
				endTerm()
			case <-termCtx.Done():
			}
		}()
		kv := &etcdkv.KV{Client: client, Prefix: cfg.Etcd.Prefix, Timeout: etcdkv.Timeout, Fence: term.Fence()}
		err = lead(termCtx, leading{cfg: cfg, logger: logger, faults: faults, store: store.OpenKV(kv, cfg.DirectoryURL),
			answers: answers, responder: responder.Addr().String(), term: term.Done()})
		endTerm()
		answers.Lead(0)
		lapsed := false
		select {
		case <-term.Done():
			lapsed = true
		default:
		}
		if AfterTerm(lapsed, ctx.Err() != nil) == CampaignAgain {
			resign(term, time.Now().Add(etcdkv.Timeout))
			logger.Error("this replica's etcd session lapsed: it stopped ordering and uploading, and stands by again",
				"event", event.LeadershipLost, "error", err)
			continue
		}
		resign(term, stopDeadline())
		return errors.Join(err, stopResponder(responder, stopDeadline()))
	}
}

// TermEnd is what a replica does once its term of leadership is over.
type TermEnd int

const (
	// CampaignAgain: the etcd session lapsed under a running replica; it stands by and campaigns.
	CampaignAgain TermEnd = iota
	// HandOver: the replica is stopping, or failed for a reason that is not the term's (a refused
	// account); it resigns at once, so the next replica leads without waiting out the lease's TTL,
	// and the run ends.
	HandOver
)

// AfterTerm decides what a replica does when lead returns: lapsed says its session ended, stopping
// that the service is being stopped.
func AfterTerm(lapsed, stopping bool) TermEnd {
	if lapsed && !stopping {
		return CampaignAgain
	}
	return HandOver
}

func resign(term *etcdkv.Term, deadline time.Time) {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	term.Resign(ctx)
}

// standBy campaigns until this replica leads; nil when ctx ends first. While it waits it answers
// /healthz (alive) and /readyz (503) on the internal port, and says who leads.
func standBy(ctx context.Context, client *clientv3.Client, cfg config.Config, identity string, logger *slog.Logger) (*etcdkv.Term, error) {
	// Alive while it waits, whatever etcd says: Swarm must not restart a replica for waiting.
	health := opsport.ServeStandby(cfg.MetricsAddr, "another replica leads, or etcd is not answering", "leader", "not this replica", logger)
	defer func() {
		if health != nil {
			_ = health.Close()
		}
	}()
	began := time.Now()
	said := false
	for {
		term, err := campaignSaying(ctx, client, cfg, identity, func(leader string) {
			if !said {
				said = true
				logger.Info("another replica leads; this one answers challenges and stands by to lead", "event", event.Standby,
					"holder", leader, "store", storeName(cfg))
			}
		})
		if err == nil {
			if health != nil {
				_ = health.Close() // the leader's own internal port takes the address
				health = nil
			}
			logger.Info("this replica leads", "event", event.LeaderElected, "identity", identity,
				"waited", time.Since(began).Round(100*time.Millisecond).String())
			return term, nil
		}
		if ctx.Err() != nil {
			return nil, nil
		}
		logger.Warn("could not campaign in etcd; trying again in 2s", "event", event.EtcdUnavailable, "error", err)
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(2 * time.Second):
		}
	}
}

// campaignSaying campaigns, and while it waits tells standingBy who leads, once one does.
func campaignSaying(ctx context.Context, client *clientv3.Client, cfg config.Config, identity string, standingBy func(leader string)) (*etcdkv.Term, error) {
	type result struct {
		term *etcdkv.Term
		err  error
	}
	won := make(chan result, 1)
	go func() {
		term, err := etcdkv.Campaign(ctx, client, cfg.Etcd.Prefix, cfg.Etcd.LeaseTTL, identity)
		won <- result{term, err}
	}()
	for {
		select {
		case r := <-won:
			return r.term, r.err
		case <-time.After(500 * time.Millisecond):
			askCtx, cancel := context.WithTimeout(ctx, etcdkv.Timeout)
			leader, _ := etcdkv.Leader(askCtx, client, cfg.Etcd.Prefix)
			cancel()
			if leader != "" && leader != identity {
				standingBy(leader)
			}
		}
	}
}

// replicaIdentity is what the other replicas log as the leader.
func replicaIdentity() string {
	host, _ := os.Hostname()
	// The random part tells apart replicas that share a host and pid (in-process, as the sandbox runs them).
	return fmt.Sprintf("host %s pid %d id %08x version %s since %s", host, os.Getpid(), rand.Uint32(), Version, time.Now().UTC().Format(time.RFC3339))
}

// whileLeading refuses every request once term is closed: a replica that no longer leads must not
// place or finalise an order, nor upload. A nil term (STORE=file) never closes.
func whileLeading(term <-chan struct{}, next http.RoundTripper) http.RoundTripper {
	if term == nil {
		return next
	}
	return termTransport{term: term, next: next}
}

type termTransport struct {
	term <-chan struct{}
	next http.RoundTripper
}

var errNotLeading = errors.New("this replica no longer leads; the request was not sent")

func (t termTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	select {
	case <-t.term:
		return nil, errNotLeading
	default:
		return t.next.RoundTrip(r)
	}
}

// OpenStore opens the store the configuration names for a command beside the running service
// (status, retry-now, migrate): DATA_DIR, which must exist, or etcd without a fence. The returned
// func closes it.
func OpenStore(cfg config.Config) (*store.Store, func(), error) {
	if cfg.Store != "etcd" {
		if _, err := os.Stat(cfg.DataDir); err != nil {
			return nil, nil, fmt.Errorf("DATA_DIR %s: %w", cfg.DataDir, err)
		}
		st, err := store.Open(cfg.DataDir, cfg.DirectoryURL)
		if err != nil {
			return nil, nil, fmt.Errorf("DATA_DIR %s: %w", cfg.DataDir, err)
		}
		return st, func() {}, nil
	}
	client, err := etcdkv.Dial(cfg.Etcd.Endpoints, cfg.Etcd.TLS, cfg.Etcd.Username, cfg.Etcd.Password)
	if err != nil {
		return nil, nil, err
	}
	kv := &etcdkv.KV{Client: client, Prefix: cfg.Etcd.Prefix, Timeout: etcdkv.Timeout}
	return store.OpenKV(kv, cfg.DirectoryURL), func() { _ = client.Close() }, nil
}
