package proxyapi

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// FuzzExtractNames: whatever DFP's config?type=json holds, decoding it and extracting names never
// panics, and every name that comes out is one NormaliseName accepts unchanged.
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
				if got, err := NormaliseHost(n, wildcards); err != nil || got != n {
					t.Fatalf("extracted %q, which normalises to %q, %v", n, got, err)
				}
				if NameFromFileStem(FileStem(n)) != n || strings.ContainsAny(FileStem(n), "*/") {
					t.Fatalf("extracted %q, whose file stem %q does not round-trip or is unsafe", n, FileStem(n))
				}
			}
		}
	})
}

// FuzzBundle: any bytes given as a bundle parse to an error or a bundle whose checks never panic;
// nothing that fails ParseBundle or Check could ever be uploaded.
func FuzzBundle(f *testing.F) {
	// A fixed bundle (a test CA's, valid until 2125): seeds must be the same in every fuzz worker.
	good, err := os.ReadFile("testdata/fuzz-seed-bundle.pem")
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBundle(data)
		if err != nil {
			return
		}
		if b.Leaf == nil {
			t.Fatal("ParseBundle returned a bundle without a leaf and no error")
		}
		_ = b.Check("a.test", now)
		_ = b.Fingerprint()
		_ = b.Lifetime()
	})
}
