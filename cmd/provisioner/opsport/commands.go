package opsport

// What the operator's commands ask the running service on its internal port: status from the
// service's own state (which knows what the proxy serves), and a retry acted on at once.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/status"
	"github.com/dfp-letsencrypt/provisioner/messages"
)

// maxStatusBody bounds the status answer a command reads (about 400 bytes per name).
const maxStatusBody = 64 << 20

// FetchStatus asks the running service for its status report; an error means no service answered
// (the command then reads the store).
func FetchStatus(ctx context.Context, getenv func(string) string) (status.StatusReport, error) {
	body, code, err := ask(ctx, getenv, http.MethodGet, "/status", maxStatusBody)
	if err != nil {
		return status.StatusReport{}, err
	}
	if code != http.StatusOK {
		return status.StatusReport{}, fmt.Errorf("/status answered %d: %s", code, strings.TrimSpace(string(body)))
	}
	var r status.StatusReport
	if err := json.Unmarshal(body, &r); err != nil {
		return status.StatusReport{}, fmt.Errorf("/status: %w", err)
	}
	return r, nil
}

// PokeRetry tells the running service to read the retry requests now rather than at its next
// discovery poll; an error means no service answered.
func PokeRetry(ctx context.Context, getenv func(string) string) error {
	body, code, err := ask(ctx, getenv, http.MethodPost, "/retry-now", 4096)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("/retry-now answered %d: %s", code, strings.TrimSpace(string(body)))
	}
	return nil
}

// statusHandler serves the running service's report: the store read with the rules the actors
// use, and what the uploader knows of the proxy.
func (d Deps) statusHandler(cache *status.Cache) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		report, err := status.LoadLive(d.Store, d.Cfg, time.Now(), cache, d.Live.Snapshot(), d.Managed.Names())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		report.WithServed(d.Book)
		report.Source = status.SourceService
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(report)
	})
}

// retryHandler makes discovery poll now: the supervisor reads the retry requests the command
// stored after every poll, so a retry is acted on at once.
func (d Deps) retryHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		d.Root.Send(d.Supervisor, &messages.PollNow{})
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	})
}
