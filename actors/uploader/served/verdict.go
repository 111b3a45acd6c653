package served

// Whether an upload is served is decided here: UploadVerdict reads one serve check.

// Verdict is what one serve check says of an upload.
type Verdict int

const (
	// VerdictUnknown: the proxy's TLS port could not be asked; nothing is known.
	VerdictUnknown Verdict = iota
	// VerdictServed: HAProxy presents the uploaded certificate.
	VerdictServed
	// VerdictOvertaken: a newer certificate was uploaded since; its own check tells.
	VerdictOvertaken
	// VerdictNotServed: DFP answered 200 but HAProxy presents another certificate (its reload failed,
	// DFP rule B in proxyapi); the upload counts as failed and is retried.
	VerdictNotServed
)

// UploadVerdict judges a serve check: err from the handshake, got the fingerprint HAProxy
// presented, uploaded the one this check is for, and latest the newest one known for the name
// ("" when none).
func UploadVerdict(err error, got, uploaded, latest string) Verdict {
	switch {
	case err != nil:
		return VerdictUnknown
	case got == uploaded:
		return VerdictServed
	case latest != "" && latest != uploaded:
		return VerdictOvertaken
	}
	return VerdictNotServed
}
