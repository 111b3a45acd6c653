// Package etcdkv is the store's KV on etcd: every value under one prefix, for replicas on several
// nodes that share their state (issue 9; STORE=etcd is not wired yet). A Put is one etcd write,
// atomic as the KV requires.
package etcdkv

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/dfp-letsencrypt/provisioner/actors/store"
)

// KV keeps values under Prefix ("/dfp-letsencrypt/") in etcd.
type KV struct {
	Client *clientv3.Client
	Prefix string
	// Timeout bounds each request; the KV's callers have no context of their own.
	Timeout time.Duration
}

var _ store.KV = (*KV)(nil)

func (k *KV) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), k.Timeout)
}

func (k *KV) Get(key string) ([]byte, error) {
	if err := store.CheckKey(key); err != nil {
		return nil, err
	}
	ctx, cancel := k.ctx()
	defer cancel()
	resp, err := k.Client.Get(ctx, k.Prefix+key)
	if err != nil {
		return nil, fmt.Errorf("etcd: get %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, fmt.Errorf("etcd: %s: %w", key, fs.ErrNotExist)
	}
	return resp.Kvs[0].Value, nil
}

func (k *KV) Put(key string, value []byte) error {
	if err := store.CheckKey(key); err != nil {
		return err
	}
	ctx, cancel := k.ctx()
	defer cancel()
	if _, err := k.Client.Put(ctx, k.Prefix+key, string(value)); err != nil {
		return fmt.Errorf("etcd: put %s: %w", key, err)
	}
	return nil
}

func (k *KV) Delete(key string) error {
	if err := store.CheckKey(key); err != nil {
		return err
	}
	ctx, cancel := k.ctx()
	defer cancel()
	if _, err := k.Client.Delete(ctx, k.Prefix+key); err != nil {
		return fmt.Errorf("etcd: delete %s: %w", key, err)
	}
	return nil
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
