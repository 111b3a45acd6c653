package dfpstub

import (
	"net/http"
	"strings"
	"time"
)

// Faults make the stand-in behave as a broken or hostile DFP would (none of this is DFP's own
// behaviour; proxyapi's package documentation says what DFP does). The zero value is no fault.
type Faults struct {
	// ConfigBody, when set, is served verbatim as GET /config?type=json: null, HTML, truncated JSON.
	ConfigBody []byte
	// RefuseCert answers every PUT /cert of this certName with a 400.
	RefuseCert string
	// RedirectPut answers every PUT /cert with a redirect (status RedirectCode) to this URL.
	RedirectPut  string
	RedirectCode int
	// HugeErrors answers every request with a 500 whose Message is 5 MiB.
	HugeErrors bool
	// Hang holds every request this long before answering.
	Hang time.Duration
}

// SetFaults replaces the faults in effect; requests hanging under the old ones are let go.
func (s *Stub) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
	if s.unhang != nil {
		close(s.unhang)
	}
	s.unhang = make(chan struct{})
}

// injected serves the request as a fault, and reports whether it did.
func (s *Stub) injected(w http.ResponseWriter, r *http.Request, path string) bool {
	s.mu.Lock()
	f, unhang := s.faults, s.unhang
	s.mu.Unlock()
	if f.Hang > 0 {
		select {
		case <-time.After(f.Hang):
		case <-unhang:
		case <-r.Context().Done():
			return true
		}
	}
	switch {
	case f.HugeErrors:
		writeJSON(w, "application/json", http.StatusInternalServerError,
			map[string]any{"Status": "NOK", "Message": strings.Repeat("x", 5<<20)})
	case f.ConfigBody != nil && path == prefix+"/config":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(f.ConfigBody)
	case f.RedirectPut != "" && path == prefix+"/cert":
		http.Redirect(w, r, f.RedirectPut, f.RedirectCode)
	case f.RefuseCert != "" && path == prefix+"/cert" && r.URL.Query().Get("certName") == f.RefuseCert:
		writeNOK(w, "open /certs/"+f.RefuseCert+": permission denied")
	default:
		return false
	}
	return true
}
