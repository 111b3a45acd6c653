package app

import (
	"time"

	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/config"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/status"
)

// LoadStatus reads the store (DATA_DIR or etcd) for the CA: certificates, states, last-seen times
// and the ledger. It takes no lock and writes nothing, so it is safe beside the running service.
func LoadStatus(cfg config.Config, now time.Time) (status.StatusReport, error) {
	st, closeStore, err := OpenStore(cfg)
	if err != nil {
		return status.StatusReport{}, err
	}
	defer closeStore()
	r, err := status.Load(st, cfg, now, nil)
	r.Source = status.SourceStore
	return r, err
}
