package bundle

import (
	"os"
	"testing"
	"time"
)

// FuzzBundle: any bytes given as a bundle parse to an error or a bundle whose checks never panic;
// nothing that fails Parse or Check could ever be uploaded.
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
		b, err := Parse(data)
		if err != nil {
			return
		}
		if b.Leaf == nil {
			t.Fatal("Parse returned a bundle without a leaf and no error")
		}
		_ = b.Check("a.test", now)
		_ = b.Fingerprint()
		_ = b.Lifetime()
	})
}
