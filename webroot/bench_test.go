package webroot

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkHandler is the responder answering one challenge request with 1,000 tokens present:
//
//	go test -run '^$' -bench Handler ./webroot
func BenchmarkHandler(b *testing.B) {
	tokens := NewTokens()
	for i := 0; i < 1000; i++ {
		tokens.Put(token[:len(token)-4]+string(rune('a'+i%26))+string(rune('a'+i/26%26))+"xx", "ka")
	}
	tokens.Put(token, token+".thumbprint")
	h := Handler(tokens)
	req := httptest.NewRequest(http.MethodGet, PathPrefix+token, nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("code %d", rec.Code)
		}
	}
}
