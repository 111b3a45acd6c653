package test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/opsport"
	"github.com/dfp-letsencrypt/provisioner/messages/event"
)

// The CA issues a certificate the store cannot keep (its bundle.pem path is unwritable): it
// counts as issued, is uploaded from memory and served, and is not ordered again; once the store
// can take it, it is saved.
func TestIssuedButNotStoredIsKeptNotOrderedAgain(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	onlyDomains(w, "keep.test")
	blocked := filepath.Join(w.Env["DATA_DIR"], "certificates", store.CAKey(w.Env["ACME_DIRECTORY"]), "keep.test", "bundle.pem")
	if err := os.MkdirAll(filepath.Join(blocked, "in-the-way"), 0o700); err != nil {
		t.Fatal(err)
	}
	r := w.start(t)
	waitFor(t, "the certificate uploaded from memory", 60*time.Second, r, func() bool {
		_, ok := w.DFP.Cert("keep.test.pem")
		return ok && len(r.logs.Events(event.CertificateNotStored)) >= 1
	})
	time.Sleep(3 * time.Second) // an order placed at once again would show by now
	if n := w.CA.Orders(); n != 1 {
		t.Fatalf("the CA saw %d orders for one name whose certificate could not be stored, want 1", n)
	}
	if err := os.RemoveAll(blocked); err != nil {
		t.Fatal(err)
	}
	if err := store.RequestRetry(w.Env["DATA_DIR"], "keep.test"); err != nil {
		t.Fatal(err)
	}
	if err := opsport.PokeRetry(context.Background(), w.Getenv); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the certificate stored at last", 20*time.Second, r, func() bool { return len(r.logs.Events(event.CertificateStored)) == 1 })
	if _, err := os.Stat(blocked); err != nil {
		t.Fatalf("bundle.pem not written: %v", err)
	}
	if n := w.CA.Orders(); n != 1 {
		t.Errorf("the CA saw %d orders in all, want 1", n)
	}
}
