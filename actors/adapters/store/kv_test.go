package store_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store/kvtest"
)

func TestFilesKV(t *testing.T) {
	kvtest.Run(t, func(t *testing.T) store.KV { return store.Files{Root: t.TempDir()} })
}

// memKV is a KV in memory: the suite's own check that it asks nothing of files, and the store's
// check that it works on any KV.
type memKV struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (k *memKV) Get(key string) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.m[key]
	if !ok {
		return nil, fmt.Errorf("%s: %w", key, fs.ErrNotExist)
	}
	return append([]byte{}, v...), nil
}

func (k *memKV) Put(key string, value []byte) error {
	if err := store.CheckKey(key); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.m[key] = append([]byte{}, value...)
	return nil
}

func (k *memKV) Delete(key string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.m, key)
	return nil
}

func (k *memKV) List(prefix string) ([]string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var keys []string
	for key := range k.m {
		if strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

func TestMemoryKV(t *testing.T) {
	kvtest.Run(t, func(*testing.T) store.KV { return &memKV{m: map[string][]byte{}} })
}

// The store keeps everything through its KV: on one in memory, every kind of value round-trips,
// and no file is written anywhere.
func TestStoreOnAnyKV(t *testing.T) {
	kv := &memKV{m: map[string][]byte{}}
	st := store.OpenKV(kv, "https://ca.test/dir")
	if err := st.SaveBundle("*.wild.test", []byte("bundle")); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveState("*.wild.test", store.State{Failures: 2}); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveAccount(store.Account{Email: "a@b.test", URI: "https://ca.test/acct/1", Key: []byte("key")}); err != nil {
		t.Fatal(err)
	}
	if err := st.Ledger().Save([]byte(`{"tat":{}}`)); err != nil {
		t.Fatal(err)
	}
	if err := st.Presence().Save([]byte(`{"last_seen":{}}`)); err != nil {
		t.Fatal(err)
	}
	if b, err := st.LoadBundle("*.wild.test"); err != nil || string(b) != "bundle" {
		t.Errorf("LoadBundle = %q, %v", b, err)
	}
	if s, err := st.LoadState("*.wild.test"); err != nil || s.Failures != 2 {
		t.Errorf("LoadState = %+v, %v", s, err)
	}
	if a, err := st.LoadAccount(); err != nil || a.URI != "https://ca.test/acct/1" || string(a.Key) != "key" {
		t.Errorf("LoadAccount = %+v, %v", a, err)
	}
	if names, err := st.Names(); err != nil || len(names) != 1 || names[0] != "*.wild.test" {
		t.Errorf("Names = %v, %v", names, err)
	}
	aside, err := st.Ledger().SetAside("1")
	if _, gone := st.Ledger().Load(); err != nil || !strings.HasSuffix(aside, ".corrupt-1") || gone == nil {
		t.Errorf("SetAside = %q, %v; ledger still there: %v", aside, err, gone == nil)
	}
	if err := kv.Put("retry-now/_wildcard.wild.test", nil); err != nil {
		t.Fatal(err)
	}
	if got := st.TakeRetryRequests(); len(got) != 1 || got[0] != "*.wild.test" {
		t.Errorf("TakeRetryRequests = %v", got)
	}
	wd, _ := os.Getwd()
	if matches, _ := filepath.Glob(filepath.Join(wd, "certificates")); len(matches) != 0 {
		t.Errorf("files written beside the test: %v", matches)
	}
}
