// Package webroot is the always-on HTTP-01 challenge responder. It starts before the actor system and
// owns nothing but a token map and an http.Server, so no actor failure can take it down.
package webroot

import (
	"context"
	"sync"
)

// Answers is where challenges are published and where the responder looks them up: the process's
// own Tokens, or (STORE=etcd) answers shared by every replica.
type Answers interface {
	// Publish makes token answer keyAuth until a matching Withdraw; when it returns without an
	// error, every responder that serves these answers can answer.
	Publish(token, keyAuth string) error
	Withdraw(token string)
	Get(token string) (string, bool)
}

var _ Answers = (*Tokens)(nil)

// contextAnswers are Answers whose Get may go elsewhere (etcd) and so takes the request's context.
type contextAnswers interface {
	GetContext(ctx context.Context, token string) (string, bool)
}

// Tokens maps ACME challenge tokens to key authorisations. It is safe for concurrent use.
type Tokens struct {
	mu sync.RWMutex
	// Counted, not a plain set, because two orders for different names may present the same token
	// (authorisation reuse); the answer must stay until the last of them cleans up.
	byToken map[string]tokenEntry
}

type tokenEntry struct {
	keyAuth string
	refs    int
}

// NewTokens returns an empty token store.
func NewTokens() *Tokens {
	return &Tokens{byToken: make(map[string]tokenEntry)}
}

// Put makes token answer keyAuth until a matching Remove.
func (t *Tokens) Put(token, keyAuth string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.byToken[token]
	e.keyAuth = keyAuth
	e.refs++
	t.byToken[token] = e
}

// Remove undoes one Put of token.
func (t *Tokens) Remove(token string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.byToken[token]
	if !ok {
		return
	}
	e.refs--
	if e.refs <= 0 {
		delete(t.byToken, token)
		return
	}
	t.byToken[token] = e
}

// Publish is Put, for Answers.
func (t *Tokens) Publish(token, keyAuth string) error {
	t.Put(token, keyAuth)
	return nil
}

// Withdraw is Remove, for Answers.
func (t *Tokens) Withdraw(token string) { t.Remove(token) }

// Get returns the key authorisation for token.
func (t *Tokens) Get(token string) (string, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	e, ok := t.byToken[token]
	return e.keyAuth, ok
}

// Len is the number of tokens currently answered.
func (t *Tokens) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.byToken)
}
