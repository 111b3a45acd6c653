package app

import (
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/plan"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/config"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/forecast"
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

// LoadPlan plans from the store (no lock, no writes): its names and the rate-limit ledger the
// service keeps there, which it writes at every grant.
func LoadPlan(cfg config.Config, o forecast.Options, now time.Time) (forecast.Header, plan.Plan, error) {
	st, closeStore, err := OpenStore(cfg)
	if err != nil {
		return forecast.Header{}, plan.Plan{}, err
	}
	defer closeStore()
	report, err := status.Load(st, cfg, now, nil)
	if err != nil {
		return forecast.Header{}, plan.Plan{}, err
	}
	ledger, err := status.LoadLedger(st)
	if err != nil {
		return forecast.Header{}, plan.Plan{}, err
	}
	in, h, err := forecast.Input(cfg, report, ledger, o, now)
	if err != nil {
		return h, plan.Plan{}, err
	}
	p, err := plan.Build(in)
	return h, p, err
}
