package testca

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
)

// DNSAPI stands in for a DNS host's API as lego's httpreq provider speaks it (POST /present and
// /cleanup with {"fqdn", "value"}): it writes the TXT records into the CA's DNS, so the real
// provider, lego's propagation check and Pebble's DNS-01 validation all meet the same records.
type DNSAPI struct {
	server   *httptest.Server
	failing  atomic.Bool
	presents atomic.Int64
}

// StartDNSAPI serves the API on loopback; Close stops it.
func (c *CA) StartDNSAPI() *DNSAPI {
	a := &DNSAPI{}
	a.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg struct {
			FQDN  string `json:"fqdn"`
			Value string `json:"value"`
		}
		if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&msg) != nil || msg.FQDN == "" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if a.failing.Load() {
			http.Error(w, "the DNS host is down", http.StatusInternalServerError)
			return
		}
		switch r.URL.Path {
		case "/present":
			a.presents.Add(1)
			c.Records.AddDNSTXTRecord(msg.FQDN, msg.Value)
		case "/cleanup":
			c.Records.DeleteDNSTXTRecord(msg.FQDN)
		default:
			http.NotFound(w, r)
		}
	}))
	return a
}

// URL is the endpoint for HTTPREQ_ENDPOINT.
func (a *DNSAPI) URL() string { return a.server.URL }

// Fail makes every later request answer 500 (on) or succeed again (off).
func (a *DNSAPI) Fail(on bool) { a.failing.Store(on) }

// Presents counts the records written.
func (a *DNSAPI) Presents() int64 { return a.presents.Load() }

// Close stops the API.
func (a *DNSAPI) Close() { a.server.Close() }
