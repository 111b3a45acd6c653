package uploader

// The serve check: after each upload, a TLS handshake with the proxy by SNI says whether HAProxy
// really serves the new certificate.

import "github.com/dfp-letsencrypt/provisioner/messages/event"

// checkServed is the timer message that starts a serve check of one upload.
type checkServed struct {
	name        string
	fingerprint string
}

// served is what the proxy presented for a name.
type served struct {
	checkServed
	got string
	err error
}

// reportServed logs whether HAProxy presents the uploaded certificate. DFP answers 200 even when
// its reload failed (a bad PEM elsewhere in /certs, dfp-api.md b), so this is the only proof.
func (u *uploaderActor) reportServed(res served) {
	log := u.cfg.Logger.With("domain", res.name)
	switch {
	case res.err != nil:
		log.Warn("could not check what the proxy serves", "event", event.ServeCheckFailed, "addr", u.cfg.ServeCheckAddr, "error", res.err)
	case res.got == res.fingerprint:
		log.Info("the proxy serves the uploaded certificate", "event", event.CertificateServed, "fingerprint", res.got)
	case u.queue.Known()[res.name] != nil && u.queue.Known()[res.name].Fingerprint() != res.fingerprint:
		// A newer upload has overtaken this one; its own check will tell.
	default:
		log.Error("the proxy still serves another certificate after the upload: DFP's reload may have failed; "+
			"look for a bad PEM in DFP's /certs", "event", event.CertificateNotServed, "served", res.got, "uploaded", res.fingerprint)
	}
}
