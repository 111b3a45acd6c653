// Package dfpstub is a stand-in for Docker Flow Proxy's HTTP API that behaves as proxyapi's package documentation says
// the real one does, traps included: PascalCase JSON, the JSON object of services (served from
// the captured fixture), text/plain on reconfigure, {} after a restart, no delete, 200 on any PEM
// (even one HAProxy cannot load), and a 400 on distribute=true outside Swarm.
package dfpstub

import (
	"crypto/tls"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
)

// Fixture is a real GET /config?type=json response captured from a DFP built from its source.
//
//go:embed testdata/config.json
var Fixture []byte

const prefix = "/v1/docker-flow-proxy"

// Stub is a running stand-in.
type Stub struct {
	Server *httptest.Server

	mu       sync.Mutex
	services map[string]json.RawMessage
	certs    map[string][]byte
	poisoned map[string]bool
	uploads  []Upload
	down     bool
	inSwarm  bool
	// loaded is what HAProxy serves: the cert files as of the last reload that worked.
	loaded       map[string][]byte
	reloadBroken bool
	skipReloads  int
	faults       Faults
	unhang       chan struct{} // closed when the faults change
	listings     int           // GET /certs answered
	configReads  int           // GET /config?type=json answered (discovery polls)
}

// Upload is one accepted PUT /cert.
type Upload struct {
	CertName   string
	Distribute bool
	Body       []byte
}

// New starts a stand-in holding services (a config?type=json body; nil for none).
func New(services []byte) (*Stub, error) {
	s := &Stub{services: map[string]json.RawMessage{}, certs: map[string][]byte{}, poisoned: map[string]bool{}}
	if services != nil {
		if err := json.Unmarshal(services, &s.services); err != nil {
			return nil, fmt.Errorf("dfpstub: services: %w", err)
		}
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s, nil
}

// URL is the API's base address, as PROXY_ADDRESS would name it.
func (s *Stub) URL() string { return s.Server.URL }

// Close stops the stand-in.
func (s *Stub) Close() { s.Server.Close() }

// Restart forgets every service, as DFP does; certificates survive only with a /certs volume.
// HAProxy starts again with what /certs holds: without the volume, nothing (and port 443 without
// TLS, see TLSFrontend).
func (s *Stub) Restart(keepCerts bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.services = map[string]json.RawMessage{}
	if !keepCerts {
		s.certs = map[string][]byte{}
		s.poisoned = map[string]bool{}
	}
	s.loaded = copyCerts(s.certs)
}

// Wipe empties /certs and HAProxy with the services kept: a DFP restarted without its volume whose
// services the listener sent back before any poll could see the empty list.
func (s *Stub) Wipe() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.certs, s.loaded, s.poisoned = map[string][]byte{}, map[string][]byte{}, map[string]bool{}
}

// Register replaces the services DFP lists (a config?type=json body), as the listener's
// notifications rebuild them after a restart.
func (s *Stub) Register(services []byte) error {
	var parsed map[string]json.RawMessage
	if err := json.Unmarshal(services, &parsed); err != nil {
		return fmt.Errorf("dfpstub: services: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.services = parsed
	return nil
}

// Lose deletes a cert file and reloads HAProxy without it, with no restart: a DFP that lost one
// certificate while its services stay listed.
func (s *Stub) Lose(certName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.certs, certName)
	delete(s.loaded, certName)
}

// ConfigReads is how many GET /config?type=json requests (discovery polls) the stand-in answered.
func (s *Stub) ConfigReads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.configReads
}

// CertListings is how many GET /certs requests the stand-in answered.
func (s *Stub) CertListings() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listings
}

// RemoveService forgets one service, as GET /remove?serviceName= does.
func (s *Stub) RemoveService(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.services, name)
}

// PutRaw stores a cert file as PUT /cert would, without any check: a file someone else put there.
func (s *Stub) PutRaw(certName string, content []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.certs[certName] = content
}

// Load stores a cert file and has HAProxy serve it, as a DFP that kept it across a restart would.
func (s *Stub) Load(certName string, content []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.certs[certName] = content
	if s.loaded == nil {
		s.loaded = map[string][]byte{}
	}
	s.loaded[certName] = content
}

// SetDown makes every request fail at the connection, as when DFP is not running.
func (s *Stub) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// SetInSwarm makes distribute=true succeed (with DFP's empty body) instead of failing its lookup.
func (s *Stub) SetInSwarm(in bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inSwarm = in
}

// BreakReload makes every later reload fail, as a PEM HAProxy cannot load elsewhere in /certs does:
// PUT still answers 200 and stores the file, but HAProxy keeps serving what it had.
func (s *Stub) BreakReload() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reloadBroken = true
}

// SkipReloads makes the next n uploads' reloads fail (then they work again): a transient failure.
func (s *Stub) SkipReloads(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.skipReloads = n
}

// Loaded returns the cert files HAProxy serves: those of the last reload that worked.
func (s *Stub) Loaded() map[string][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return copyCerts(s.loaded)
}

func copyCerts(m map[string][]byte) map[string][]byte {
	out := make(map[string][]byte, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Cert returns the file DFP holds under certName.
func (s *Stub) Cert(certName string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.certs[certName]
	return c, ok
}

// CertNames lists the files DFP holds.
func (s *Stub) CertNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.certs))
	for n := range s.certs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Uploads is every accepted PUT /cert in order.
func (s *Stub) Uploads() []Upload {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Upload(nil), s.uploads...)
}

// Poisoned lists the cert files HAProxy could not load; with any, every later reload would fail.
func (s *Stub) Poisoned() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for n := range s.poisoned {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (s *Stub) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
	}
	path := strings.TrimSuffix(r.URL.Path, "/") // gorilla/mux StrictSlash
	if s.injected(w, r, path) {
		return
	}
	switch path {
	case prefix + "/config":
		s.config(w, r)
	case prefix + "/cert":
		if r.Method != http.MethodPut {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		s.putCert(w, r)
	case prefix + "/certs":
		s.listCerts(w)
	case prefix + "/reconfigure":
		s.reconfigure(w, r)
	case prefix + "/ping":
		writeJSON(w, "application/json", http.StatusOK, map[string]any{"Status": "OK"})
	default:
		http.NotFound(w, r)
	}
}

func (s *Stub) config(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.URL.Query().Get("type"), "json") {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "global\n    # the rendered haproxy.cfg\n")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.configReads++
	writeJSON(w, "application/json", http.StatusOK, s.services)
}

func (s *Stub) putCert(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("certName")
	if name == "" {
		writeNOK(w, "Query parameter certName is mandatory")
		return
	}
	body, _ := io.ReadAll(r.Body)
	if len(body) == 0 {
		writeNOK(w, "Body is empty")
		return
	}
	distribute := r.URL.Query().Get("distribute") == "true"
	s.mu.Lock()
	defer s.mu.Unlock()
	if distribute && !s.inSwarm {
		writeNOK(w, "Could not perform DNS lookup for tasks.proxy. If the proxy is not called 'proxy', you must set SERVICE_NAME=<name-of-the-proxy> on the proxy service.")
		return
	}
	// DFP writes the body verbatim and answers 200 whatever HAProxy makes of it.
	s.certs[name] = body
	s.uploads = append(s.uploads, Upload{CertName: name, Distribute: distribute, Body: body})
	switch {
	case s.skipReloads > 0:
		s.skipReloads--
	case !s.reloadBroken:
		s.loaded = copyCerts(s.certs)
	}
	if _, err := tls.X509KeyPair(body, body); err != nil {
		s.poisoned[name] = true
	} else {
		delete(s.poisoned, name)
	}
	if distribute {
		w.WriteHeader(http.StatusOK) // distributed: an empty body, no JSON
		return
	}
	writeJSON(w, "application/json", http.StatusOK, map[string]any{"Status": "OK", "Message": "", "Certs": nil})
}

func (s *Stub) listCerts(w http.ResponseWriter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listings++
	certs := []map[string]string{}
	for _, n := range sortedKeys(s.certs) {
		certs = append(certs, map[string]string{"ServicePort": "", "ProxyServiceName": n, "CertsDir": "/certs", "CertContent": string(s.certs[n])})
	}
	writeJSON(w, "application/json", http.StatusOK, map[string]any{"Status": "OK", "Message": "", "Certs": certs})
}

// reconfigure registers one un-indexed http service from the query, in the shape the fixture has.
// Like DFP it answers with text/plain (the header is set after WriteHeader and lost).
func (s *Stub) reconfigure(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name := q.Get("serviceName")
	if name == "" {
		writeJSON(w, "text/plain; charset=utf-8", http.StatusBadRequest, map[string]any{"Status": "NOK", "Message": "serviceName parameter is mandatory."})
		return
	}
	if q.Get("port") == "" {
		writeJSON(w, "text/plain; charset=utf-8", http.StatusBadRequest, map[string]any{"Status": "NOK", "Message": `When MODE is set to "service" or "swarm", the port query is mandatory`})
		return
	}
	svc, err := registeredService(q)
	if err != nil {
		writeJSON(w, "text/plain; charset=utf-8", http.StatusInternalServerError, map[string]any{"Status": "NOK", "Message": err.Error()})
		return
	}
	s.mu.Lock()
	if len(s.poisoned) > 0 {
		s.mu.Unlock()
		// A PEM HAProxy cannot load fails every later validation; DFP rolls the service back.
		writeJSON(w, "text/plain; charset=utf-8", http.StatusInternalServerError, map[string]any{"Status": "NOK", "Message": "Config validation failed: unable to load certificate"})
		return
	}
	s.services[name] = svc
	s.mu.Unlock()
	writeJSON(w, "text/plain; charset=utf-8", http.StatusOK, map[string]any{"Status": "OK", "Message": "", "ServiceName": name})
}

func writeNOK(w http.ResponseWriter, msg string) {
	// DFP's cert error bodies carry no explicit Content-Type.
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]any{"Status": "NOK", "Message": msg, "Certs": nil})
}

func writeJSON(w http.ResponseWriter, contentType string, code int, v any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
