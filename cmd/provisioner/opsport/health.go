package opsport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/config"
)

// HealthCheck asks the running service's /healthz on METRICS_ADDR, as the image's HEALTHCHECK
// does (the distroless image has no shell and no curl). It returns nil when the service is alive.
// With METRICS_ADDR=off there is no /healthz: the responder accepting a connection on
// CHALLENGE_ADDR is then what says the process lives, so that Swarm does not replace a task that
// only has its port off.
func HealthCheck(ctx context.Context, getenv func(string) string) error {
	if addr, err := config.MetricsAddr(getenv); err == nil && addr == "" {
		return responderAlive(ctx, getenv)
	}
	body, code, err := ask(ctx, getenv, http.MethodGet, "/healthz", 4096)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	if code != http.StatusOK {
		return fmt.Errorf("health: %d %s", code, strings.TrimSpace(string(body)))
	}
	return nil
}

// ask sends one request to the running service's internal port (METRICS_ADDR, through loopback
// when it listens on every interface) and reads at most limit bytes of the answer.
func ask(ctx context.Context, getenv func(string) string, method, path string, limit int64) ([]byte, int, error) {
	addr, err := config.MetricsAddr(getenv)
	switch {
	case err != nil:
		return nil, 0, err
	case addr == "":
		return nil, 0, errors.New("METRICS_ADDR is off: the running service has no internal port to ask")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, 0, fmt.Errorf("METRICS_ADDR %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1" // listening on every interface: ask through loopback
	}
	token, err := config.NotifyToken(getenv)
	if err != nil {
		return nil, 0, err
	}
	if token != "" {
		path += "?token=" + url.QueryEscape(token)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://"+net.JoinHostPort(host, port)+path, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	return body, resp.StatusCode, err
}

// responderAlive dials the challenge responder (CHALLENGE_ADDR, through loopback when it listens
// on every interface).
func responderAlive(ctx context.Context, getenv func(string) string) error {
	addr, err := config.ChallengeAddr(getenv)
	if err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("CHALLENGE_ADDR %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	d := net.Dialer{Timeout: 3 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		return fmt.Errorf("health (METRICS_ADDR=off, so the responder was asked): %w", err)
	}
	return conn.Close()
}
