package webroot

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzResponderPath: whatever path reaches the responder, it answers the key authorisation only
// for exactly PathPrefix + a known token, and 404 (never a panic, never a leak) otherwise.
func FuzzResponderPath(f *testing.F) {
	tokens := NewTokens()
	tokens.Put(token, token+".thumbprint")
	h := Handler(tokens)
	for _, seed := range []string{PathPrefix + token, PathPrefix, "/", PathPrefix + "..%2F..%2Fetc%2Fpasswd",
		PathPrefix + token + "/x", PathPrefix + strings.Repeat("a", 300), "//" + PathPrefix + token, "\x00"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, path string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL.Path = path // any bytes, as a raw request line could carry them
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		known := path == PathPrefix+token
		if known != (rec.Code == http.StatusOK) {
			t.Fatalf("path %q answered %d", path, rec.Code)
		}
		if !known && strings.Contains(rec.Body.String(), "thumbprint") {
			t.Fatalf("path %q leaked the key authorisation", path)
		}
	})
}
