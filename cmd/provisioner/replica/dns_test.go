package replica

import (
	"errors"
	"testing"
	"time"

	"github.com/go-acme/lego/v4/challenge"
	"github.com/go-acme/lego/v4/challenge/dns01"
)

// countingProvider counts the DNS changes that reach it.
type countingProvider struct{ presented, cleaned *int }

func (p countingProvider) Present(string, string, string) error { *p.presented++; return nil }
func (p countingProvider) CleanUp(string, string, string) error { *p.cleaned++; return nil }

type timedProvider struct{ countingProvider }

func (timedProvider) Timeout() (time.Duration, time.Duration) {
	return 3 * time.Minute, 7 * time.Second
}

// Once the term ends no DNS change reaches the provider, a clean-up included; during it both
// pass, and the provider keeps its timing either way.
func TestNoDNSChangeAfterTheTerm(t *testing.T) {
	var presented, cleaned int
	term := make(chan struct{})
	p := DNSWhileLeading(term, timedProvider{countingProvider{&presented, &cleaned}})
	if err := p.Present("example.test", "t", "k"); err != nil || presented != 1 {
		t.Fatalf("during the term: Present = %v, %d calls reached the provider", err, presented)
	}
	if err := p.CleanUp("example.test", "t", "k"); err != nil || cleaned != 1 {
		t.Fatalf("during the term: CleanUp = %v, %d calls reached the provider", err, cleaned)
	}
	close(term)
	if err := p.Present("example.test", "t", "k"); !errors.Is(err, errNoDNSAfterTerm) || presented != 1 {
		t.Errorf("after the term: Present = %v and %d calls reached the provider, want refused and 1", err, presented)
	}
	if err := p.CleanUp("example.test", "t", "k"); !errors.Is(err, errNoDNSAfterTerm) || cleaned != 1 {
		t.Errorf("after the term: CleanUp = %v and %d calls reached the provider, want refused and 1", err, cleaned)
	}
	if timeout, interval := p.(challenge.ProviderTimeout).Timeout(); timeout != 3*time.Minute || interval != 7*time.Second {
		t.Errorf("the guard lost the provider's timing: %s, %s", timeout, interval)
	}
	plain := DNSWhileLeading(term, countingProvider{&presented, &cleaned})
	if timeout, _ := plain.(challenge.ProviderTimeout).Timeout(); timeout != dns01.DefaultPropagationTimeout {
		t.Errorf("a provider without timing got %s, want lego's default", timeout)
	}
	if p := DNSWhileLeading(nil, plain); p != plain {
		t.Error("with STORE=file (no term) the provider is not returned as it is")
	}
}
