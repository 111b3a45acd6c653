package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store/etcdkv"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/config"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/replica"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/shutdown"
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
	if cfg.Etcd.Password != "" && cfg.Etcd.TLS == nil {
		logger.Warn("ETCD_PASSWORD is sent to etcd without TLS: anyone on the network can read it; give etcd TLS "+
			"(https:// endpoints, ETCD_CA_FILE)", "event", event.EtcdInClear)
	}
	answers := etcdkv.WatchAnswers(client, cfg.Etcd.Prefix, etcdkv.Timeout, logger)
	defer answers.Close()
	responder, err := listenResponder(cfg, answers, logger)
	if err != nil {
		return err
	}
	identity := replica.Identity(Version)
	stopDeadline := shutdown.DeadlineAfter(ctx, cfg.ShutdownTimeout)
	for {
		term, err := replica.StandBy(ctx, client, cfg, identity, logger)
		if term == nil {
			return errors.Join(err, shutdown.Responder(responder, stopDeadline()))
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
			answers: answers, responder: responder.Addr().String(), term: term.Done(),
			watchNotify: func(ctx context.Context, notified func()) { etcdkv.WatchNotify(ctx, client, cfg.Etcd.Prefix, notified) }})
		endTerm()
		answers.Lead(0)
		lapsed := false
		select {
		case <-term.Done():
			lapsed = true
		default:
		}
		if replica.AfterTerm(lapsed, ctx.Err() != nil) == replica.CampaignAgain {
			replica.Resign(term, time.Now().Add(etcdkv.Timeout))
			logger.Error("this replica's etcd session lapsed: it stopped ordering and uploading, and stands by again",
				"event", event.LeadershipLost, "error", err)
			continue
		}
		replica.Resign(term, stopDeadline())
		return errors.Join(err, shutdown.Responder(responder, stopDeadline()))
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
