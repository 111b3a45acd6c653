package store

import (
	"path/filepath"
	"reflect"
	"testing"
)

// A file written into directories that did not exist is durable with them: each new directory is
// fsynced in its parent, up to the first that existed, and the file in its own.
func TestNewDirectoriesAreSyncedInTheirParents(t *testing.T) {
	root := t.TempDir()
	var synced []string
	defer func(orig func(string) error) { syncDir = orig }(syncDir)
	syncDir = func(dir string) error {
		rel, _ := filepath.Rel(root, dir)
		synced = append(synced, rel)
		return nil
	}
	if err := WriteFileAtomic(filepath.Join(root, "a", "b", "c", "bundle.pem"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if want := []string{".", "a", filepath.Join("a", "b"), filepath.Join("a", "b", "c")}; !reflect.DeepEqual(synced, want) {
		t.Fatalf("synced %v, want %v", synced, want)
	}
	synced = nil
	if err := WriteFileAtomic(filepath.Join(root, "a", "b", "c", "state.json"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join("a", "b", "c")}; !reflect.DeepEqual(synced, want) {
		t.Fatalf("into existing directories: synced %v, want %v", synced, want)
	}
}
