package uploader

import (
	"fmt"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
	"github.com/dfp-letsencrypt/provisioner/proxyapi"
	"github.com/dfp-letsencrypt/provisioner/test/certgen"
)

// BenchmarkDiff1000 is a reconciliation's comparison of DFP's GET /certs with 1,000 known
// certificates, all held (the common case: nothing to upload):
//
//	go test -run '^$' -bench Diff ./actors/uploader
func BenchmarkDiff1000(b *testing.B) {
	ca, err := certgen.NewCA("bench")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	known := map[string]*bundle.Bundle{}
	var held []proxyapi.Cert
	for i := 0; i < 1000; i++ {
		name := fmt.Sprintf("n%04d.example.com", i)
		pem, err := ca.Bundle([]string{name}, now.Add(-time.Hour), now.Add(90*24*time.Hour))
		if err != nil {
			b.Fatal(err)
		}
		bundle, err := bundle.Parse(pem)
		if err != nil {
			b.Fatal(err)
		}
		known[name] = bundle.Compact() // as the uploader holds it
		held = append(held, proxyapi.Cert{ProxyServiceName: CertName(name), CertContent: string(pem)})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		stale, _, _ := Diff(held, known, nil, nil, now)
		if len(stale) != 0 {
			b.Fatalf("%d stale", len(stale))
		}
	}
}
