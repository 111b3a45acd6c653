package etcdkv

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"
)

func TestBudget(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	b := Budget{Rate: 10, Burst: 3}
	for i := 0; i < 3; i++ {
		if !b.Allow(t0) {
			t.Fatalf("the burst's token %d refused", i)
		}
	}
	if b.Allow(t0) {
		t.Fatal("a fourth at once allowed past a burst of 3")
	}
	if !b.Allow(t0.Add(100 * time.Millisecond)) {
		t.Fatal("a token did not come back after 1/rate")
	}
	if b.Allow(t0.Add(150 * time.Millisecond)) {
		t.Fatal("half a token allowed")
	}
	if got := 0; func() int {
		for i := 0; i < 10; i++ {
			if b.Allow(t0.Add(time.Hour)) {
				got++
			}
		}
		return got
	}() != 3 {
		t.Fatal("an idle hour refilled past the burst")
	}
}

// A flood of requests for tokens nobody published reads etcd a bounded number of times, and a
// token that was published is still answered, by the copy or by a read.
func TestMissesReadEtcdBoundedly(t *testing.T) {
	c := startEtcd(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	replica := WatchAnswers(c, prefix, 5*time.Second, logger)
	defer replica.Close()
	began := time.Now()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 250; i++ {
				replica.GetContext(t.Context(), fmt.Sprintf("unknown-%d-%d", g, i))
			}
		}()
	}
	wg.Wait()
	took := time.Since(began)
	limit := int64(40 + 20*took.Seconds() + 1) // a burst of 40, then 20 a second: what this test holds the code to
	t.Logf("2,000 requests for unknown tokens in %s: %d etcd reads (bound %d)", took.Round(time.Millisecond), replica.Reads(), limit)
	if replica.Reads() > limit {
		t.Fatalf("%d etcd reads for 2,000 unknown tokens in %s, want at most %d", replica.Reads(), took, limit)
	}
}

// A replica withdrawing an answer deletes it only while it is still its term's: one another leader
// published since, under its own lease, stays.
func TestWithdrawIsFenced(t *testing.T) {
	c := startEtcd(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	old, next := WatchAnswers(c, prefix, 5*time.Second, logger), WatchAnswers(c, prefix, 5*time.Second, logger)
	defer old.Close()
	defer next.Close()
	for _, a := range []*Answers{old, next} {
		lease, err := c.Grant(t.Context(), 60)
		if err != nil {
			t.Fatal(err)
		}
		a.Lead(lease.ID)
		if err := a.Publish("tok", "tok."+fmt.Sprint(lease.ID)); err != nil {
			t.Fatal(err)
		}
	}
	old.Withdraw("tok")
	resp, err := c.Get(t.Context(), prefix+answersKey+"tok")
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 {
		t.Fatal("the old term's Withdraw deleted the answer the next leader published")
	}
	next.Withdraw("tok")
	resp, err = c.Get(t.Context(), prefix+answersKey+"tok")
	if err != nil || len(resp.Kvs) != 0 {
		t.Fatalf("the next leader's own Withdraw left its answer: %v, %v", resp, err)
	}
}
