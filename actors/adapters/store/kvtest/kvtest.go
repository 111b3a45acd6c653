// Package kvtest is the behaviour every store.KV must have, as one suite that each backend's tests
// run: the file layout's, and any other's.
package kvtest

import (
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"sync"
	"testing"

	"github.com/dfp-letsencrypt/provisioner/actors/adapters/store"
)

// Run checks the KV that fresh returns (a new, empty one per call).
func Run(t *testing.T, fresh func(t *testing.T) store.KV) {
	t.Run("missing key", func(t *testing.T) {
		kv := fresh(t)
		if _, err := kv.Get("certificates/ca/a.test/bundle.pem"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Get of a missing key: %v, want fs.ErrNotExist", err)
		}
		if err := kv.Delete("certificates/ca/a.test/bundle.pem"); err != nil {
			t.Fatalf("Delete of a missing key: %v", err)
		}
		if keys, err := kv.List("certificates/"); err != nil || len(keys) != 0 {
			t.Fatalf("List of an empty KV = %v, %v", keys, err)
		}
	})
	t.Run("put, overwrite, get, delete", func(t *testing.T) {
		kv := fresh(t)
		for _, v := range []string{"first", "second", ""} {
			if err := kv.Put("accounts/ca/account.json", []byte(v)); err != nil {
				t.Fatal(err)
			}
			if got, err := kv.Get("accounts/ca/account.json"); err != nil || string(got) != v {
				t.Fatalf("Get after Put(%q) = %q, %v", v, got, err)
			}
		}
		if err := kv.Delete("accounts/ca/account.json"); err != nil {
			t.Fatal(err)
		}
		if _, err := kv.Get("accounts/ca/account.json"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Get after Delete: %v, want fs.ErrNotExist", err)
		}
	})
	t.Run("list by prefix, sorted", func(t *testing.T) {
		kv := fresh(t)
		keys := []string{"retry-now/b.test", "certificates/ca/b.test/bundle.pem", "retry-now/a.test", "ratelimits/ca.json", "retry-now-not/x"}
		for _, k := range keys {
			if err := kv.Put(k, []byte(k)); err != nil {
				t.Fatal(err)
			}
		}
		got, err := kv.List("retry-now/")
		if want := []string{"retry-now/a.test", "retry-now/b.test"}; err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("List(retry-now/) = %v, %v; want %v", got, err, want)
		}
		got, err = kv.List("retry-now")
		if want := []string{"retry-now-not/x", "retry-now/a.test", "retry-now/b.test"}; err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("List(retry-now) = %v, %v; want %v", got, err, want)
		}
		if got, err = kv.List(""); err != nil || len(got) != len(keys) {
			t.Fatalf("List of everything = %v, %v; want %d keys", got, err, len(keys))
		}
		if got, err = kv.List("../"); err == nil && len(got) != 0 {
			t.Fatalf("List(../) = %v: a prefix led outside the KV", got)
		}
	})
	t.Run("unsafe keys", func(t *testing.T) {
		kv := fresh(t)
		for _, k := range []string{"", "../escape", "/absolute", "a//b", "a/./b", "a/../b", "trailing/"} {
			if err := kv.Put(k, []byte("x")); err == nil {
				t.Errorf("Put(%q) accepted", k)
			}
		}
	})
	t.Run("concurrent writers of different keys", func(t *testing.T) {
		kv := fresh(t)
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				k := fmt.Sprintf("certificates/ca/n%d.test/state.json", i)
				if err := kv.Put(k, []byte(k)); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if keys, err := kv.List("certificates/ca/"); err != nil || len(keys) != 16 {
			t.Fatalf("List after 16 writers = %d keys, %v", len(keys), err)
		}
	})
}
