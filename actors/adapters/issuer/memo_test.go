package issuer

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestMemoMakesOnceAndRetriesAFailure(t *testing.T) {
	var m memo[int]
	var calls atomic.Int32
	if _, err := m.get(func() (int, error) { calls.Add(1); return 0, errors.New("CA down") }); err == nil {
		t.Fatal("a failed make returned no error")
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := m.get(func() (int, error) {
				calls.Add(1)
				time.Sleep(20 * time.Millisecond) // long enough for the others to arrive meanwhile
				return 42, nil
			})
			if err != nil || v != 42 {
				t.Errorf("get = %d, %v", v, err)
			}
		}()
	}
	wg.Wait()
	if v, _ := m.get(func() (int, error) { calls.Add(1); return 7, nil }); v != 42 {
		t.Fatalf("a made value was made again: %d", v)
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("make called %d times, want 2 (the failure, then once for 20 concurrent callers)", n)
	}
}
