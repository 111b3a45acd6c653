package replica

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/opsport"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
)

// lockPoll is how often a standby instance tries to take DATA_DIR over.
const lockPoll = time.Second

// HoldDataDir takes DATA_DIR's lock before anything writes there. While another instance holds it
// (a start-first update, a second replica, a docker run beside the service) this one is a standby:
// it orders, uploads and writes nothing, and takes over within a second of the holder's exit. It
// returns nil and no error if ctx ends first.
//
// A standby answers /healthz on opsAddr (it is alive: Swarm must not kill it, nor stall a
// start-first update waiting for it) and /readyz with 503.
func HoldDataDir(ctx context.Context, dataDir, opsAddr, identity string, logger *slog.Logger) (*store.Lock, error) {
	var standby *http.Server
	defer func() {
		if standby != nil {
			_ = standby.Close()
		}
	}()
	waitedSince := time.Time{}
	for {
		lock, holder, err := store.TryLock(dataDir, identity)
		switch {
		case err == nil:
			if !waitedSince.IsZero() {
				logger.Info("DATA_DIR is free: this instance takes over", "event", event.LockAcquired,
					"waited", time.Since(waitedSince).Round(time.Second).String())
			}
			return lock, nil
		case !errors.Is(err, store.ErrLocked):
			return nil, fmt.Errorf("DATA_DIR %s: %w", dataDir, err)
		case waitedSince.IsZero():
			waitedSince = time.Now()
			logger.Warn("another instance holds DATA_DIR; standing by (no orders, uploads or writes) until it stops",
				"event", event.Standby, "holder", holder, "data_dir", dataDir)
			standby = opsport.ServeStandby(opsAddr, "another instance holds DATA_DIR", "data_dir_lock", "held by "+holder, "", nil, logger)
		}
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(lockPoll):
		}
	}
}
