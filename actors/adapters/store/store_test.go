package store

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestBundleAndStateRoundTrip(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root, "https://acme-v02.api.letsencrypt.org/directory")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.LoadBundle("example.com"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing bundle error = %v, want ErrNotExist", err)
	}
	if err := s.SaveBundle("example.com", []byte("pem")); err != nil {
		t.Fatal(err)
	}
	got, err := s.LoadBundle("example.com")
	if err != nil || string(got) != "pem" {
		t.Fatalf("LoadBundle = %q, %v", got, err)
	}
	path := filepath.Join(root, "certificates", "acme-v02.api.letsencrypt.org-directory", "example.com", "bundle.pem")
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("bundle mode = %v, want 0600", info.Mode().Perm())
	}
	dirInfo, err := os.Stat(filepath.Dir(path))
	if err != nil || dirInfo.Mode().Perm() != 0o700 {
		t.Errorf("name dir mode = %v (%v), want 0700", dirInfo.Mode().Perm(), err)
	}

	st := State{Failures: 2, LastError: "boom", NextAttempt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	if err := s.SaveState("example.com", st); err != nil {
		t.Fatal(err)
	}
	back, err := s.LoadState("example.com")
	if err != nil || !reflect.DeepEqual(back, st) {
		t.Fatalf("LoadState = %+v, %v; want %+v", back, err, st)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range entries {
		if e.Name() != "bundle.pem" && e.Name() != "state.json" {
			t.Errorf("left-over file %s after atomic writes", e.Name())
		}
	}
}

func TestAnotherCAHasItsOwnCertificatesButNamesAreShared(t *testing.T) {
	root := t.TempDir()
	staging, _ := Open(root, "https://acme-staging-v02.api.letsencrypt.org/directory")
	if err := staging.SaveBundle("example.com", []byte("staging")); err != nil {
		t.Fatal(err)
	}
	prod, _ := Open(root, "https://acme-v02.api.letsencrypt.org/directory")
	if _, err := prod.LoadBundle("example.com"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("production store sees the staging bundle: %v", err)
	}
	names, err := prod.Names()
	if err != nil || !reflect.DeepEqual(names, []string{"example.com"}) {
		t.Fatalf("Names = %v, %v", names, err)
	}
}

// A wildcard's files sit under "_wildcard.x", with no "*" on disk, and list as the wildcard again.
func TestWildcardNameIsStoredWithoutAStar(t *testing.T) {
	root := t.TempDir()
	s, _ := Open(root, "https://ca.test/dir")
	if err := s.SaveBundle("*.wild.test", []byte("pem")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "certificates", CAKey("https://ca.test/dir"), "_wildcard.wild.test", "bundle.pem")); err != nil {
		t.Fatalf("bundle not under _wildcard.wild.test: %v", err)
	}
	if got, err := s.LoadBundle("*.wild.test"); err != nil || string(got) != "pem" {
		t.Fatalf("LoadBundle = %q, %v", got, err)
	}
	names, err := s.Names()
	if err != nil || !reflect.DeepEqual(names, []string{"*.wild.test"}) {
		t.Fatalf("Names = %v, %v; want the wildcard", names, err)
	}
}

func TestUnsafeNamesAreRefused(t *testing.T) {
	s, _ := Open(t.TempDir(), "https://ca.test/dir")
	for _, name := range []string{"", "..", "../x", "a/b", `a\b`} {
		if err := s.SaveBundle(name, []byte("x")); err == nil {
			t.Errorf("SaveBundle(%q) succeeded", name)
		}
	}
}

func TestCorruptStateIsAnError(t *testing.T) {
	root := t.TempDir()
	s, _ := Open(root, "https://ca.test/dir")
	dir := filepath.Join(root, "certificates", CAKey("https://ca.test/dir"), "example.com")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "state.json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LoadState("example.com"); err == nil {
		t.Fatal("corrupt state.json loaded without error")
	}
}

func TestAccountRoundTrip(t *testing.T) {
	s, _ := Open(t.TempDir(), "https://ca.test/dir")
	if _, err := s.LoadAccount(); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing account error = %v", err)
	}
	a := Account{Email: "ops@example.com", URI: "https://ca.test/acct/1", Key: []byte("key")}
	if err := s.SaveAccount(a); err != nil {
		t.Fatal(err)
	}
	back, err := s.LoadAccount()
	if err != nil || back.URI != a.URI || string(back.Key) != "key" || back.Email != a.Email {
		t.Fatalf("LoadAccount = %+v, %v", back, err)
	}
}

// "provisioner retry-now '*.x'" leaves a file without a "*", and the service reads the wildcard back.
func TestRetryRequestForAWildcard(t *testing.T) {
	root := t.TempDir()
	s, _ := Open(root, "https://ca.test/dir")
	for _, name := range []string{"*.wild.test", "www.example.test"} {
		if err := RequestRetry(root, name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "retry-now", "_wildcard.wild.test")); err != nil {
		t.Fatalf("no _wildcard.wild.test request: %v", err)
	}
	if got := s.TakeRetryRequests(); !reflect.DeepEqual(got, []string{"*.wild.test", "www.example.test"}) {
		t.Fatalf("TakeRetryRequests = %v", got)
	}
	if got := s.TakeRetryRequests(); len(got) != 0 {
		t.Fatalf("requests taken twice: %v", got)
	}
}
