package etcdkv

import (
	"context"
	"errors"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// Term is one replica's leadership, held while its session's lease is kept alive. When the
// replica dies the lease lapses after its TTL and the next replica in line leads.
type Term struct {
	session  *concurrency.Session
	election *concurrency.Election
}

// electionKey is where the replicas campaign, under the store's prefix.
const electionKey = "leader"

// grantTimeout bounds the wait for etcd's first answer to a campaign.
const grantTimeout = 5 * time.Second

// Campaign blocks until this replica leads or ctx ends. identity is what the others see as the
// leader while they stand by.
func Campaign(ctx context.Context, client *clientv3.Client, prefix string, ttl time.Duration, identity string) (*Term, error) {
	// The lease first, with a deadline: a session opened on an etcd that does not answer would
	// wait for it forever, saying nothing.
	grantCtx, cancelGrant := context.WithTimeout(ctx, grantTimeout)
	lease, err := client.Grant(grantCtx, max(int64(ttl/time.Second), 1))
	cancelGrant()
	if err != nil {
		return nil, fmt.Errorf("etcd: grant a lease: %w", err)
	}
	session, err := concurrency.NewSession(client, concurrency.WithLease(lease.ID))
	if err != nil {
		revokeCtx, cancelRevoke := context.WithTimeout(context.Background(), grantTimeout)
		_, _ = client.Revoke(revokeCtx, lease.ID) // else it lapses after its TTL
		cancelRevoke()
		return nil, fmt.Errorf("etcd: open a session: %w", err)
	}
	// A session that lapses while waiting can never win: campaign again with a new one.
	campaignCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-session.Done():
			cancel()
		case <-campaignCtx.Done():
		}
	}()
	election := concurrency.NewElection(session, prefix+electionKey)
	if err := election.Campaign(campaignCtx, identity); err != nil {
		_ = session.Close()
		if ctx.Err() == nil && errors.Is(err, context.Canceled) {
			return nil, fmt.Errorf("etcd: campaign: the session lapsed while waiting")
		}
		return nil, fmt.Errorf("etcd: campaign: %w", err)
	}
	return &Term{session: session, election: election}, nil
}

// Leader is the identity of the replica that leads now, "" when none does.
func Leader(ctx context.Context, client *clientv3.Client, prefix string) (string, error) {
	resp, err := client.Get(ctx, prefix+electionKey+"/", clientv3.WithFirstCreate()...)
	if err != nil {
		return "", fmt.Errorf("etcd: read the leader: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return "", nil
	}
	return string(resp.Kvs[0].Value), nil
}

// Done is closed when the term ends: the session's lease lapsed or could not be kept alive.
func (t *Term) Done() <-chan struct{} { return t.session.Done() }

// Fence is the guard every write of this term carries.
func (t *Term) Fence() *Fence { return &Fence{Key: t.election.Key(), Rev: t.election.Rev()} }

// Lease is the term's lease: what is published under it goes when the term ends.
func (t *Term) Lease() clientv3.LeaseID { return t.session.Lease() }

// Resign ends the term at once, so that the next replica leads without waiting for the TTL.
func (t *Term) Resign(ctx context.Context) {
	_ = t.election.Resign(ctx)
	_ = t.session.Close()
}
