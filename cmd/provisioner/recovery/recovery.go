// Package recovery rebuilds an empty store from the certificates DFP holds, before any actor runs,
// so that a lost volume costs no orders and the ledger still counts what the CA issued.
package recovery

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/issuer"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/actors/certificate"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/config"
	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
	"github.com/dfp-letsencrypt/provisioner/messages/dnsname"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
	"github.com/dfp-letsencrypt/provisioner/proxyapi"
)

// FromDFP takes into an empty store (an empty volume on a new node) the certificates DFP
// holds, before any actor runs: without it every name would be ordered
// again, and the lost ledger would let that spend the weekly limits. Each recovered certificate
// is booked in the ledger at its issuance time. A certificate is taken only when its chain leads
// to a trusted root, and the CA says (its renewal info) that it issued it or the issuer's name is
// the CA's.
func FromDFP(ctx context.Context, dfp *proxyapi.Client, st *store.Store, iss *issuer.Issuer, cfg config.Config, logger *slog.Logger) {
	if names, err := st.Names(); err != nil || len(names) > 0 {
		return // not an empty volume: the store knows its certificates
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	certs, err := dfp.Certs(ctx)
	if err != nil {
		logger.Warn("could not list DFP's certificates to recover from them; names without a stored certificate are ordered",
			"event", event.RecoveryFailed, "error", err)
		return
	}
	now := time.Now()
	var recovered []*bundle.Bundle
	var names []string
	for _, c := range certs {
		stem, ok := strings.CutSuffix(c.ProxyServiceName, ".pem")
		if !ok {
			continue
		}
		name := dnsname.FromFileStem(stem)
		if _, err := st.LoadBundle(name); !errors.Is(err, os.ErrNotExist) {
			continue // the store has one (or an unreadable one, which the actor reports)
		}
		b, err := bundle.Parse([]byte(c.CertContent))
		if err != nil {
			continue
		}
		if !bundle.Trusted(b, name, nil, cfg.IssuerRoots, now) {
			// Anyone on DFP's network can PUT a certificate that names this CA.
			logger.Warn("DFP's certificate not recovered", "event", event.RecoverySkipped, "domain", name,
				"reason", "its chain does not lead to a trusted root (CA_ROOTS_FILE)")
			continue
		}
		fromCA := store.IssuedByName(b, cfg.DirectoryURL)
		if !fromCA {
			_, err := iss.RenewalWindow(b) // the CA knows the certificates it issued
			fromCA = err == nil
		}
		if err := certificate.Adoptable(name, b, now, fromCA); err != nil {
			logger.Info("DFP's certificate not recovered", "event", event.RecoverySkipped, "domain", name, "reason", err.Error())
			continue
		}
		if err := st.SaveBundle(name, b.PEM); err != nil {
			logger.Error("could not store a recovered certificate", "event", event.StateWriteFailed, "domain", name, "error", err)
			continue
		}
		logger.Info("certificate recovered from DFP", "event", event.CertificateRecovered, "domain", name, "source", "dfp",
			"not_after", b.Leaf.NotAfter)
		recovered = append(recovered, b)
		names = append(names, name)
	}
	if len(recovered) == 0 {
		return
	}
	rebuilt, err := bookRecovered(st.Ledger(), cfg, names, recovered)
	if err != nil {
		logger.Error("could not book the recovered certificates in the rate-limit ledger", "event", event.LedgerWriteFailed, "error", err)
		return
	}
	if rebuilt {
		logger.Info("rate-limit ledger rebuilt from the recovered certificates", "event", event.LedgerRebuilt, "certificates", len(recovered))
	}
}

// bookRecovered books each recovered certificate at its not-before time in a new ledger, before
// the rate limiter reads it. A ledger that survived (only the certificates were lost) booked them
// when they were ordered, and is left as it is.
func bookRecovered(ledgerBlob store.Blob, cfg config.Config, names []string, bundles []*bundle.Bundle) (bool, error) {
	if _, err := ledgerBlob.Load(); !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	bookings := make([]ratelimiter.Booking, len(names))
	for i, name := range names {
		bookings[i] = ratelimiter.Booking{Name: name, At: bundles[i].Leaf.NotBefore}
	}
	data, err := json.Marshal(ratelimiter.RebuildLedger(cfg.Limits, bookings))
	if err != nil {
		return false, err
	}
	return true, ledgerBlob.Save(data)
}

// Bookings lists the certificates st holds for its CA, each at its not-before: what the rate
// limiter books again when its ledger is lost or torn. An unreadable bundle is left out.
func Bookings(st *store.Store) ([]ratelimiter.Booking, error) {
	names, err := st.Names()
	if err != nil {
		return nil, err
	}
	var out []ratelimiter.Booking
	for _, name := range names {
		pem, err := st.LoadBundle(name)
		if err != nil {
			continue // another CA's, or gone
		}
		if b, err := bundle.Parse(pem); err == nil {
			out = append(out, ratelimiter.Booking{Name: name, At: b.Leaf.NotBefore})
		}
	}
	return out, nil
}
