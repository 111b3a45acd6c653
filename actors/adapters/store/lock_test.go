package store

import (
	"errors"
	"testing"
)

// One holder at a time; the second learns who holds it; a release lets it in.
func TestLockHasOneHolder(t *testing.T) {
	root := t.TempDir()
	first, _, err := TryLock(root, "host-a pid 1")
	if err != nil {
		t.Fatal(err)
	}
	if _, holder, err := TryLock(root, "host-b pid 2"); !errors.Is(err, ErrLocked) || holder != "host-a pid 1" {
		t.Fatalf("second TryLock = %q, %v; want ErrLocked naming the holder", holder, err)
	}
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	second, _, err := TryLock(root, "host-b pid 2")
	if err != nil {
		t.Fatalf("TryLock after the release: %v", err)
	}
	defer second.Release()
	if _, holder, err := TryLock(root, "host-c pid 3"); !errors.Is(err, ErrLocked) || holder != "host-b pid 2" {
		t.Fatalf("third TryLock = %q, %v; want ErrLocked naming the new holder", holder, err)
	}
}
