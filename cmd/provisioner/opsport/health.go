package opsport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/config"
)

// HealthCheck asks the running service's /healthz on METRICS_ADDR, as the image's HEALTHCHECK
// does (the distroless image has no shell and no curl). It returns nil when the service is alive.
func HealthCheck(ctx context.Context, getenv func(string) string) error {
	addr, err := config.MetricsAddr(getenv)
	switch {
	case err != nil:
		return err
	case addr == "":
		return errors.New("METRICS_ADDR is off: there is no health endpoint to ask")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("METRICS_ADDR %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1" // listening on every interface: ask through loopback
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %d %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}
