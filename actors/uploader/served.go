package uploader

// The serve check: after each upload, a TLS handshake with the proxy by SNI says whether HAProxy
// really serves the new certificate.

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/metrics"
	"github.com/dfp-letsencrypt/provisioner/actors/uploader/served"
	"github.com/dfp-letsencrypt/provisioner/messages"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
)

// checkServed is the timer message that starts a serve check of one upload.
type checkServed struct {
	name        string
	fingerprint string
}

// serveChecked is what the proxy presented for a name.
type serveChecked struct {
	checkServed
	got string
	err error
}

// reportServed logs whether HAProxy presents the uploaded certificate. DFP answers 200 even when
// its reload failed (a bad PEM elsewhere in /certs, DFP rule B in proxyapi), so this is the only proof.
func (u *uploaderActor) reportServed(ctx actor.Context, res serveChecked) {
	log := u.cfg.Logger.With("domain", res.name)
	latest := ""
	if b := u.queue.Known()[res.name]; b != nil {
		latest = b.Fingerprint()
	}
	switch served.UploadVerdict(res.err, res.got, res.fingerprint, latest) {
	case served.VerdictUnknown:
		metrics.ServeChecks.WithLabelValues("error").Inc()
		log.Warn("could not check what the proxy serves", "event", event.ServeCheckFailed, "addr", u.cfg.ServeCheckAddr, "error", res.err)
	case served.VerdictServed:
		metrics.ServeChecks.WithLabelValues("served").Inc()
		if before, _ := u.cfg.Book.Of(res.name); before.State == served.NotServed {
			u.restored = u.cfg.Now()
		}
		u.trouble(ctx, res.name, false, "")
		u.queue.Served(res.name)
		u.cfg.Book.Set(res.name, served.Served, "", u.cfg.Now())
		log.Info("the proxy serves the uploaded certificate", "event", event.CertificateServed, "fingerprint", res.got)
	case served.VerdictOvertaken: // a newer upload overtook this one; its own check tells
	case served.VerdictNotServed:
		// DFP said 200 but HAProxy's reload failed: treated as a failed upload, retried with a
		// backoff and, after a few, only at each reconciliation (every upload is a reload).
		metrics.ServeChecks.WithLabelValues("not_served").Inc()
		attempts, retryAt := u.queue.NotServed(res.name, res.fingerprint, u.cfg.Now())
		why := "HAProxy serves another certificate after the upload: its reload may have failed"
		u.cfg.Book.Set(res.name, served.NotServed, why, u.cfg.Now())
		if retryAt.IsZero() {
			retryAt = u.cfg.Now().Add(u.cfg.ReconcileInterval)
		}
		u.trouble(ctx, res.name, true, why)
		log.Error("the proxy still serves another certificate after the upload: DFP's reload may have failed "+
			"(look for a bad PEM in DFP's /certs); uploading again at retry_at", "event", event.CertificateNotServed,
			"served", res.got, "uploaded", res.fingerprint, "attempts", attempts, "retry_at", retryAt)
	}
}

// trouble tells the parent when a name starts or stops being not served (for alerts).
func (u *uploaderActor) trouble(ctx actor.Context, name string, active bool, detail string) {
	if ctx.Parent() != nil && u.notServed[name] != active {
		u.notServed[name] = active
		ctx.Send(ctx.Parent(), &messages.Trouble{Name: name, Kind: messages.TroubleNotServed, Active: active, Detail: detail})
	}
}
