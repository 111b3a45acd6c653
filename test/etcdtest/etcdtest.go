// Package etcdtest runs a real one-member etcd in the calling process, on loopback, for the tests
// and scripts of STORE=etcd.
package etcdtest

import (
	"fmt"
	"net"
	"net/url"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Etcd is a running member.
type Etcd struct {
	server   *embed.Etcd
	Endpoint string // host:port for clients
}

// Start runs a member with its data in dir. durable turns fsync on, as in production; a test's
// data need not survive a power cut.
func Start(dir string, durable bool) (*Etcd, error) {
	cfg := embed.NewConfig()
	cfg.Dir = dir
	cfg.LogLevel = "error"
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop()) // its stop is noisy, and not ours to report
	cfg.UnsafeNoFsync = !durable
	client, err := loopbackURL()
	if err != nil {
		return nil, err
	}
	peer, err := loopbackURL()
	if err != nil {
		return nil, err
	}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("etcd: %w", err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(30 * time.Second):
		e.Close()
		return nil, fmt.Errorf("etcd did not become ready within 30s")
	}
	return &Etcd{server: e, Endpoint: client.Host}, nil
}

// Client is a client of the member that logs nothing.
func (e *Etcd) Client() (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{Endpoints: []string{e.Endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
}

// Close stops the member.
func (e *Etcd) Close() { e.server.Close() }

// loopbackURL is an http URL on a loopback port that was free a moment ago.
func loopbackURL() (url.URL, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return url.URL{}, err
	}
	defer ln.Close()
	return url.URL{Scheme: "http", Host: ln.Addr().String()}, nil
}
