package proxyapi

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/dfp-letsencrypt/provisioner/messages/dnsname"
)

// FuzzExtractNames: whatever DFP's config?type=json holds, decoding it and extracting names never
// panics, and every name that comes out is one dnsname.NormaliseHost accepts unchanged.
func FuzzExtractNames(f *testing.F) {
	fixture, err := os.ReadFile("../test/dfpstub/testdata/config.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(fixture)
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"a":{"ServiceDest":[{"ServiceDomain":["*.x.test","10.0.0.1","xn--bcher-kva.test","B\u00fccher.test."],"ReqMode":"http"}]}}`))
	f.Add([]byte(`{"a":{"ServiceDest":[{"ServiceDomain":[".wild.test"],"RedirectFromDomain":["old.test"],"ReqMode":""}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var services map[string]Service
		if json.Unmarshal(data, &services) != nil {
			return
		}
		for _, wildcards := range []bool{false, true} {
			ex := ExtractNames(services, wildcards)
			for _, n := range ex.Names {
				if got, err := dnsname.NormaliseHost(n, wildcards); err != nil || got != n {
					t.Fatalf("extracted %q, which normalises to %q, %v", n, got, err)
				}
				if dnsname.FromFileStem(dnsname.FileStem(n)) != n || strings.ContainsAny(dnsname.FileStem(n), "*/") {
					t.Fatalf("extracted %q, whose file stem %q does not round-trip or is unsafe", n, dnsname.FileStem(n))
				}
			}
		}
	})
}
