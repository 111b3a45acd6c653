package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
)

// KV is where the store keeps its bytes, by key: slash-separated paths such as
// "certificates/<ca>/<name>/bundle.pem". Everything the service persists goes through one (the
// account, certificates, per-name state, the ledger, presence, retry requests), so the layout
// lives in this package alone and a backend is a small thing to add: Files is DATA_DIR; a
// replicated one sits behind the same four methods.
type KV interface {
	// Get returns the value, or an error wrapping fs.ErrNotExist.
	Get(key string) ([]byte, error)
	// Put replaces the value atomically: a reader, or a crash, sees the old value or the new one.
	Put(key string, value []byte) error
	// Delete removes the key; a missing key is not an error.
	Delete(key string) error
	// List returns the keys that start with prefix, sorted.
	List(prefix string) ([]string, error)
}

// Files is the KV on a directory: a key is a file below root, written with WriteFileAtomic
// (directories 0700, files 0600). Temporary files and the lock file are never listed.
type Files struct{ Root string }

// CheckKey refuses a key that is empty, not in its clean form (".." or "." parts, doubled or
// trailing slashes), absolute, or holds a backslash: no backend may be led outside its space.
func CheckKey(key string) error {
	if key == "" || path.Clean("/" + key)[1:] != key || strings.Contains(key, `\`) {
		return fmt.Errorf("store: unsafe key %q", key)
	}
	return nil
}

func (f Files) path(key string) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", err
	}
	return filepath.Join(f.Root, filepath.FromSlash(key)), nil
}

func (f Files) Get(key string) ([]byte, error) {
	p, err := f.path(key)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

func (f Files) Put(key string, value []byte) error {
	p, err := f.path(key)
	if err != nil {
		return err
	}
	return WriteFileAtomic(p, value, 0o600)
}

func (f Files) Delete(key string) error {
	p, err := f.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// List walks only the directory the prefix names ("retry-now/" walks retry-now/, not every
// certificate): retry requests are listed at every discovery poll.
func (f Files) List(prefix string) ([]string, error) {
	dir := path.Dir(prefix + "x") // "certificates/ca/" -> "certificates/ca"; "" -> "."
	if dir != "." {
		if err := CheckKey(dir); err != nil {
			return nil, err
		}
	}
	var keys []string
	err := filepath.WalkDir(filepath.Join(f.Root, filepath.FromSlash(dir)), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() || isTemp(d.Name()) || d.Name() == lockFile {
			return nil
		}
		rel, err := filepath.Rel(f.Root, p)
		if err != nil {
			return err
		}
		if key := filepath.ToSlash(rel); strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: list %s: %w", prefix, err)
	}
	sort.Strings(keys)
	return keys, nil
}

// Versioned is a KV that can refuse a write when the value changed since it was read. etcd is
// one: a transaction on the key's revision, so that two writers of the ledger can never interleave
// whole-value writes, the later one silently dropping the other's bookings.
type Versioned interface {
	// GetVersion is Get with the value's version; a missing key is fs.ErrNotExist and version 0.
	GetVersion(key string) ([]byte, int64, error)
	// PutIfVersion writes only if the key is still at version (0: still missing), and returns the
	// new version; otherwise an error wrapping ErrChanged.
	PutIfVersion(key string, value []byte, version int64) (int64, error)
}

// ErrChanged is a conditional write refused because another writer changed the value.
var ErrChanged = errors.New("changed by another writer since it was read")

// Blob is one value of a KV that a single owner reads at start and rewrites whole: the rate
// limiter's ledger, the supervisor's presence record. On a Versioned KV each Save is conditional
// on the version the last Load or Save saw.
type Blob struct {
	kv  KV
	key string
	// version is shared by the Blob's copies; -1 until a Load on a Versioned KV.
	version *atomic.Int64
}

func newBlob(kv KV, key string) Blob {
	b := Blob{kv: kv, key: key, version: &atomic.Int64{}}
	b.version.Store(-1)
	return b
}

// FileBlob is a Blob in the file at path (for tools and tests that hold a path).
func FileBlob(p string) Blob { return newBlob(Files{Root: filepath.Dir(p)}, filepath.Base(p)) }

// Load returns the value, or an error wrapping fs.ErrNotExist.
func (b Blob) Load() ([]byte, error) {
	v, ok := b.kv.(Versioned)
	if !ok {
		return b.kv.Get(b.key)
	}
	data, version, err := v.GetVersion(b.key)
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		b.version.Store(version)
	}
	return data, err
}

// Save replaces the value atomically; on a Versioned KV, only if nobody else wrote it since.
func (b Blob) Save(data []byte) error {
	v, ok := b.kv.(Versioned)
	if !ok || b.version.Load() < 0 {
		return b.kv.Put(b.key, data)
	}
	version, err := v.PutIfVersion(b.key, data, b.version.Load())
	if err != nil {
		return err
	}
	b.version.Store(version)
	return nil
}

// SetAside moves an unreadable value out of the way, never overwriting it in place, and says
// where it went.
func (b Blob) SetAside(suffix string) (string, error) {
	data, err := b.kv.Get(b.key)
	if err != nil {
		return "", err
	}
	aside := b.key + ".corrupt-" + suffix
	if err := b.kv.Put(aside, data); err != nil {
		return "", err
	}
	if err := b.kv.Delete(b.key); err != nil {
		return "", err
	}
	if b.version.Load() >= 0 {
		b.version.Store(0) // the next Save creates the value anew
	}
	return aside, nil
}

// String names the value in logs.
func (b Blob) String() string { return b.key }
