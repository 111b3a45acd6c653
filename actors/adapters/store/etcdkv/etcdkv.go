// Package etcdkv is the store's KV on etcd (STORE=etcd): every value under one prefix, shared by
// replicas on several nodes; the election that picks the one replica that writes; and the HTTP-01
// answers every replica serves. A Put is one etcd write, atomic as the KV requires.
package etcdkv

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
)

// KV keeps values under Prefix ("/dfp-letsencrypt/") in etcd.
type KV struct {
	Client *clientv3.Client
	Prefix string
	// Timeout bounds each request; the KV's callers have no context of their own.
	Timeout time.Duration
	// Fence, when set, makes every write conditional on this replica still leading: a replica
	// whose session lapsed can write nothing, whatever it was doing when it lapsed.
	Fence *Fence
}

var (
	_ store.KV        = (*KV)(nil)
	_ store.Versioned = (*KV)(nil)
)

// ErrNotLeader is a write refused because the replica no longer leads.
var ErrNotLeader = errors.New("this replica no longer leads (its etcd session lapsed)")

// Fence is a term of leadership as etcd sees it: the election key this replica campaigned with,
// at the revision it was created. The key goes when the session's lease lapses, and no later
// leader's key has that revision.
type Fence struct {
	Key string
	Rev int64
}

func (k *KV) guards() []clientv3.Cmp {
	if k.Fence == nil {
		return nil
	}
	return []clientv3.Cmp{clientv3.Compare(clientv3.CreateRevision(k.Fence.Key), "=", k.Fence.Rev)}
}

// write runs op if every guard holds, and returns etcd's revision after it. A failed guard is
// ErrNotLeader, or ErrChanged when the fence still holds and it was the value that moved.
func (k *KV) write(key string, op clientv3.Op, extra ...clientv3.Cmp) (int64, error) {
	ctx, cancel := k.ctx()
	defer cancel()
	// With no guard at all (no fence, a plain write) the transaction always succeeds.
	resp, err := k.Client.Txn(ctx).If(append(k.guards(), extra...)...).Then(op).Commit()
	if err != nil {
		return 0, fmt.Errorf("etcd: write %s: %w", key, err)
	}
	if resp.Succeeded {
		return resp.Header.Revision, nil
	}
	if k.Fence == nil {
		return 0, fmt.Errorf("etcd: write %s: %w", key, store.ErrChanged)
	}
	// Which guard failed: a second read rather than a nested transaction, on the rare path.
	if got, err := k.Client.Get(ctx, k.Fence.Key); err == nil && len(extra) > 0 && len(got.Kvs) == 1 && got.Kvs[0].CreateRevision == k.Fence.Rev {
		return 0, fmt.Errorf("etcd: write %s: %w", key, store.ErrChanged)
	}
	return 0, fmt.Errorf("etcd: write %s: %w", key, ErrNotLeader)
}

func (k *KV) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), k.Timeout)
}

func (k *KV) Get(key string) ([]byte, error) {
	data, _, err := k.GetVersion(key)
	return data, err
}

func (k *KV) Put(key string, value []byte) error {
	if err := store.CheckKey(key); err != nil {
		return err
	}
	_, err := k.write(key, clientv3.OpPut(k.Prefix+key, string(value)))
	return err
}

func (k *KV) Delete(key string) error {
	if err := store.CheckKey(key); err != nil {
		return err
	}
	_, err := k.write(key, clientv3.OpDelete(k.Prefix+key))
	return err
}

// GetVersion is Get with the key's modification revision as its version.
func (k *KV) GetVersion(key string) ([]byte, int64, error) {
	if err := store.CheckKey(key); err != nil {
		return nil, 0, err
	}
	ctx, cancel := k.ctx()
	defer cancel()
	resp, err := k.Client.Get(ctx, k.Prefix+key)
	if err != nil {
		return nil, 0, fmt.Errorf("etcd: get %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, 0, fmt.Errorf("etcd: %s: %w", key, fs.ErrNotExist)
	}
	return resp.Kvs[0].Value, resp.Kvs[0].ModRevision, nil
}

// PutIfVersion writes in one transaction on the key's modification revision (0: missing).
func (k *KV) PutIfVersion(key string, value []byte, version int64) (int64, error) {
	if err := store.CheckKey(key); err != nil {
		return 0, err
	}
	return k.write(key, clientv3.OpPut(k.Prefix+key, string(value)),
		clientv3.Compare(clientv3.ModRevision(k.Prefix+key), "=", version))
}

func (k *KV) List(prefix string) ([]string, error) {
	ctx, cancel := k.ctx()
	defer cancel()
	resp, err := k.Client.Get(ctx, k.Prefix+prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly(),
		clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return nil, fmt.Errorf("etcd: list %s: %w", prefix, err)
	}
	keys := make([]string, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		keys = append(keys, strings.TrimPrefix(string(kv.Key), k.Prefix))
	}
	return keys, nil
}
