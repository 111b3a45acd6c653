package etcdkv

import (
	"crypto/tls"

	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Timeout bounds each request to etcd.
const Timeout = 5 * time.Second

// Dial connects to the etcd members at endpoints (ETCD_ENDPOINTS), with tlsConfig (nil: plain)
// and username and password (empty: none). The client connects lazily; the first request says
// whether etcd answers.
func Dial(endpoints []string, tlsConfig *tls.Config, username, password string) (*clientv3.Client, error) {
	client, err := clientv3.New(clientv3.Config{
		Endpoints:   endpoints,
		DialTimeout: Timeout,
		TLS:         tlsConfig,
		Username:    username,
		Password:    password,
		Logger:      zap.NewNop(), // its errors reach us as errors, logged once with what happens next
		// Keepalives notice a dead etcd member between requests, so the client moves to another.
		DialKeepAliveTime:    10 * time.Second,
		DialKeepAliveTimeout: 5 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("ETCD_ENDPOINTS: %w", err)
	}
	return client, nil
}
