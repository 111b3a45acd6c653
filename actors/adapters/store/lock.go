package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// lockFile is the file in DATA_DIR whose flock(2) makes one process its only writer.
const lockFile = ".lock"

// ErrLocked means another process holds DATA_DIR.
var ErrLocked = errors.New("DATA_DIR is held by another instance")

// Lock is the exclusive hold on DATA_DIR. The kernel drops it when the process exits, however it
// exits: a SIGKILLed holder never leaves a stale lock.
type Lock struct {
	f *os.File
}

// TryLock takes DATA_DIR for this process, writing identity (who holds it) into the lock file. If
// another process holds it, it returns ErrLocked and that process's identity.
func TryLock(root, identity string) (*Lock, string, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, "", fmt.Errorf("store: lock: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(root, lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, "", fmt.Errorf("store: lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(f.Name())
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, strings.TrimSpace(string(holder)), ErrLocked
		}
		return nil, "", fmt.Errorf("store: lock: %w", err)
	}
	// Not atomic, and need not be: only the holder writes it, and it is only ever informative.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(identity+"\n"), 0)
	}
	return &Lock{f: f}, "", nil
}

// Release gives DATA_DIR up (a stop does; an exit does it anyway).
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}
