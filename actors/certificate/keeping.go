package certificate

import (
	"errors"
	"os"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/dfp-letsencrypt/provisioner/actors/certificate/schedule"
	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
)

// What the actor keeps: the stored certificate it loads (or holds while the store cannot take it),
// and what it hands the uploader.

// loadCertificate returns the stored certificate (parsed, or nil) and whether it is usable for the
// name now; a usable one goes to the uploader the first time this instance sees it (DFP may have
// lost it, DFP rule D in proxyapi).
func (a *certActor) loadCertificate(ctx actor.Context, now time.Time) (*bundle.Bundle, bool) {
	if a.unsaved != nil {
		if err := a.deps.Store.SaveBundle(a.name, a.unsaved.PEM); err != nil {
			a.log.Error("the CA's certificate is still not stored; it is used and served from memory, and saved again at retry_at",
				"event", event.CertificateNotStored, "error", err, "retry_at", now.Add(SaveRetry))
			return a.unsaved, a.unsaved.Check(a.name, now) == nil
		}
		a.log.Info("the CA's certificate is stored at last", "event", event.CertificateStored, "fingerprint", a.unsaved.Fingerprint())
		a.unsaved = nil
	}
	data, err := a.deps.Store.LoadBundle(a.name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false
	}
	if err != nil {
		a.log.Warn("stored certificate unreadable, will issue a new one", "event", event.CertificateUnreadable, "error", err)
		return nil, false
	}
	b, err := bundle.Parse(data)
	if err != nil {
		a.log.Warn("stored certificate unusable, will issue a new one", "event", event.CertificateUnusable, "error", err)
		return nil, false
	}
	if err := b.Check(a.name, now); err != nil {
		if a.once("unusable:" + b.Fingerprint()) {
			a.log.Warn("stored certificate unusable, will issue a new one", "event", event.CertificateUnusable, "error", err)
		}
		return b, false
	}
	if a.deployed != b.Fingerprint() {
		a.log.Info("stored certificate loaded", "event", event.CertificateLoaded, "not_after", b.Leaf.NotAfter, "renew_at", schedule.RenewAt(b))
		a.deploy(ctx, b, true)
	}
	return b, true
}
