package etcdkv

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/dfp-letsencrypt/provisioner/webroot"
)

// answersKey is where HTTP-01 answers are published, under the store's prefix.
const answersKey = "challenges/"

// Answers are HTTP-01 answers shared by every replica. The leader publishes each under its term's
// lease, and Publish returns only once etcd has it, so the CA is told to validate only when every
// replica can answer. Each replica keeps a copy from a watch and, when a token is not there yet,
// reads etcd before it answers 404: the CA asks within milliseconds, from several places at once,
// and DFP's VIP may send each request to a different replica.
type Answers struct {
	client  *clientv3.Client
	key     string
	timeout time.Duration
	logger  *slog.Logger

	mu        sync.RWMutex
	seen      map[string]string // from the watch
	published map[string]int    // this replica's publications, counted (authorisation reuse)
	lease     clientv3.LeaseID  // 0: not leading; Publish refuses
	misses    *misses           // bounds the etcd reads a request for an unknown token makes
	reads     atomic.Int64      // etcd reads misses made
	now       func() time.Time
	cancel    context.CancelFunc
	done      chan struct{}
}

var _ webroot.Answers = (*Answers)(nil)

// WatchAnswers starts watching the answers under prefix until Close.
func WatchAnswers(client *clientv3.Client, prefix string, timeout time.Duration, logger *slog.Logger) *Answers {
	ctx, cancel := context.WithCancel(context.Background())
	a := &Answers{client: client, key: prefix + answersKey, timeout: timeout, logger: logger,
		seen: map[string]string{}, published: map[string]int{}, misses: newMisses(), now: time.Now, cancel: cancel, done: make(chan struct{})}
	go a.watch(ctx)
	return a
}

// Lead makes Publish write under lease (a term's), or refuse when lease is 0.
func (a *Answers) Lead(lease clientv3.LeaseID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.lease = lease
	if lease == 0 {
		clear(a.published) // they go with the term's lease
	}
}

// Publish writes token's answer under the term's lease and returns once etcd acknowledged it.
func (a *Answers) Publish(token, keyAuth string) error {
	a.mu.Lock()
	lease := a.lease
	a.mu.Unlock()
	if lease == 0 {
		return fmt.Errorf("publish challenge answer: %w", ErrNotLeader)
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.timeout)
	defer cancel()
	if _, err := a.client.Put(ctx, a.key+token, keyAuth, clientv3.WithLease(lease)); err != nil {
		return fmt.Errorf("publish challenge answer in etcd: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.published[token]++
	a.seen[token] = keyAuth // this replica answers at once, whatever the watch's delay
	return nil
}

// Withdraw removes token's answer after its last Publish is done with it.
func (a *Answers) Withdraw(token string) {
	a.mu.Lock()
	a.published[token]--
	last := a.published[token] <= 0
	if last {
		delete(a.published, token)
	}
	lease := a.lease
	a.mu.Unlock()
	if !last || lease == 0 {
		return // not leading: the term's lease takes the answer with it
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.timeout)
	defer cancel()
	// Fenced: only while the answer is still this term's (another leader may have published the
	// same token since, under its own lease).
	key := a.key + token
	if _, err := a.client.Txn(ctx).If(clientv3.Compare(clientv3.LeaseValue(key), "=", lease)).Then(clientv3.OpDelete(key)).Commit(); err != nil {
		// The term's lease removes it at the latest; a stale answer for a spent token harms nothing.
		a.logger.Debug("could not withdraw a challenge answer from etcd; it goes with the lease", "error", err)
	}
}

// Get answers from the watched copy, or from etcd when the copy does not have token yet.
func (a *Answers) Get(token string) (string, bool) { return a.GetContext(context.Background(), token) }

// GetContext is Get for a request: the read of etcd a miss makes ends with ctx, and such reads
// are bounded (see misses).
func (a *Answers) GetContext(ctx context.Context, token string) (string, bool) {
	a.mu.Lock()
	keyAuth, ok := a.seen[token]
	allowed := !ok && a.misses.budget.Allow(a.now())
	a.mu.Unlock()
	if ok {
		return keyAuth, true
	}
	return a.misses.read(ctx, token, allowed, func(ctx context.Context) (string, bool) {
		a.reads.Add(1)
		resp, err := a.client.Get(ctx, a.key+token)
		if err != nil || len(resp.Kvs) == 0 {
			return "", false
		}
		return string(resp.Kvs[0].Value), true
	})
}

// Reads is how many reads of etcd misses have made.
func (a *Answers) Reads() int64 { return a.reads.Load() }

// Close stops the watch.
func (a *Answers) Close() {
	a.cancel()
	<-a.done
}

// watch keeps seen equal to etcd's answers: a full read, then the changes after it; again from a
// full read whenever the watch breaks (etcd restarted, history compacted).
func (a *Answers) watch(ctx context.Context) {
	defer close(a.done)
	for ctx.Err() == nil {
		rev, err := a.reload(ctx)
		if err == nil {
			err = a.follow(ctx, rev)
		}
		if ctx.Err() != nil {
			return
		}
		a.logger.Debug("challenge answers' watch broke; reading them again", "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (a *Answers) reload(ctx context.Context) (int64, error) {
	resp, err := a.client.Get(ctx, a.key, clientv3.WithPrefix())
	if err != nil {
		return 0, err
	}
	seen := make(map[string]string, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		seen[strings.TrimPrefix(string(kv.Key), a.key)] = string(kv.Value)
	}
	a.mu.Lock()
	a.seen = seen
	a.mu.Unlock()
	return resp.Header.Revision, nil
}

func (a *Answers) follow(ctx context.Context, rev int64) error {
	for resp := range a.client.Watch(clientv3.WithRequireLeader(ctx), a.key, clientv3.WithPrefix(), clientv3.WithRev(rev+1)) {
		if err := resp.Err(); err != nil {
			return err
		}
		a.mu.Lock()
		for _, ev := range resp.Events {
			token := strings.TrimPrefix(string(ev.Kv.Key), a.key)
			if ev.Type == clientv3.EventTypeDelete {
				delete(a.seen, token)
			} else {
				a.seen[token] = string(ev.Kv.Value)
			}
		}
		a.mu.Unlock()
	}
	return fmt.Errorf("watch closed")
}
