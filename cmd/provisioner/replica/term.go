// Package replica is a replica's term: with STORE=etcd, campaigning in etcd while it stands by
// (term.go), and what it does when its term ends (AfterTerm); with STORE=file, the DATA_DIR lock
// that keeps a second instance a standby (datadir.go). Requests that must not outlive the term go
// through WhileLeading.
package replica

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store/etcdkv"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/config"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/opsport"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
)

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

func Resign(term *etcdkv.Term, deadline time.Time) {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	term.Resign(ctx)
}

// StandBy campaigns until this replica leads; nil when ctx ends first. While it waits it answers
// /healthz (alive) and /readyz (503) on the internal port, and says who leads.
func StandBy(ctx context.Context, client *clientv3.Client, cfg config.Config, identity string, logger *slog.Logger) (*etcdkv.Term, error) {
	// Alive while it waits, whatever etcd says: Swarm must not restart a replica for waiting.
	pass := func(ctx context.Context) error { return etcdkv.Notify(ctx, client, cfg.Etcd.Prefix) }
	health := opsport.ServeStandby(cfg.MetricsAddr, "another replica leads, or etcd is not answering", "leader", "not this replica", cfg.NotifyToken, pass, logger)
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
					"holder", leader, "store", cfg.StoreText())
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

// Identity is what the other replicas log as the leader.
func Identity(version string) string {
	host, _ := os.Hostname()
	// The random part tells apart replicas that share a host and pid (in-process, as the sandbox runs them).
	return fmt.Sprintf("host %s pid %d id %08x version %s since %s", host, os.Getpid(), rand.Uint32(), version, time.Now().UTC().Format(time.RFC3339))
}

// WhileLeading refuses every request once term is closed, and cuts short the ones in flight when
// it closes (their answer, body included): a replica that no longer leads must not place or
// finalise an order, nor upload. A nil term (STORE=file) never closes.
func WhileLeading(term <-chan struct{}, next http.RoundTripper) http.RoundTripper {
	if term == nil {
		return next
	}
	return termTransport{term: term, next: next}
}

type termTransport struct {
	term <-chan struct{}
	next http.RoundTripper
}

var (
	errNotLeading = errors.New("this replica no longer leads; the request was not sent")
	errTermEnded  = errors.New("this replica's term ended while the request was in flight; it was cut short")
)

func (t termTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	select {
	case <-t.term:
		return nil, errNotLeading
	default:
	}
	ctx, cancel := context.WithCancelCause(r.Context())
	done := make(chan struct{})
	var once sync.Once
	stop := func() { once.Do(func() { close(done); cancel(nil) }) }
	go func() {
		select {
		case <-t.term:
			cancel(errTermEnded)
		case <-done:
		}
	}()
	resp, err := t.next.RoundTrip(r.WithContext(ctx))
	if err != nil {
		stop()
		if cause := context.Cause(ctx); errors.Is(cause, errTermEnded) {
			return nil, fmt.Errorf("%w: %w", errTermEnded, err)
		}
		return nil, err
	}
	resp.Body = stopOnClose{ReadCloser: resp.Body, stop: stop}
	return resp, nil
}

// stopOnClose ends a request's watch of the term when its body is closed.
type stopOnClose struct {
	io.ReadCloser
	stop func()
}

func (b stopOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.stop()
	return err
}
