package store

import (
	"os"
	"path/filepath"
	"testing"
)

// A SIGKILL between CreateTemp and Rename leaves a temporary file; the next start removes it and
// nothing else.
func TestRemoveLeftovers(t *testing.T) {
	root := t.TempDir()
	keep := filepath.Join(root, "certificates", "ca", "a.test", "bundle.pem")
	ledger := filepath.Join(root, "ratelimits", "ca.json")
	if err := WriteFileAtomic(keep, []byte("pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(ledger, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	left := []string{
		filepath.Join(root, "certificates", "ca", "a.test", ".bundle.pem.tmp-123456"),
		filepath.Join(root, "ratelimits", ".ca.json.tmp-99"),
	}
	for _, p := range left {
		if err := os.WriteFile(p, []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	n, err := RemoveLeftovers(root)
	if err != nil || n != len(left) {
		t.Fatalf("RemoveLeftovers = %d, %v; want %d", n, err, len(left))
	}
	for _, p := range left {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s is still there", p)
		}
	}
	for _, p := range []string{keep, ledger} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
	if n, err := RemoveLeftovers(filepath.Join(root, "missing")); err != nil || n != 0 {
		t.Errorf("a missing DATA_DIR: %d, %v", n, err)
	}
}
