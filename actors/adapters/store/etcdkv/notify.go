package etcdkv

import (
	"context"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// notifyKey is where a standby records a notification of the swarm listener for the leader, under
// the store's prefix: the listener calls the service's address, and Swarm's VIP may send the call
// to any replica.
const notifyKey = "notify"

// Notify records that a notification reached this replica; the leader polls DFP at once
// (WatchNotify). It is a hint, not data, so it is written outside the leader's fence.
func Notify(ctx context.Context, client *clientv3.Client, prefix string) error {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	_, err := client.Put(ctx, prefix+notifyKey, time.Now().UTC().Format(time.RFC3339Nano))
	return err
}

// WatchNotify calls notified for every notification a replica records from now until ctx ends.
func WatchNotify(ctx context.Context, client *clientv3.Client, prefix string, notified func()) {
	go func() {
		for resp := range client.Watch(clientv3.WithRequireLeader(ctx), prefix+notifyKey) {
			for _, ev := range resp.Events {
				if ev.Type == clientv3.EventTypePut {
					notified()
				}
			}
		}
	}()
}
