// Package store is everything the service keeps, for every actor that keeps something:
// certificates, per-name state, the ACME account, the rate-limit ledger and the last-seen record,
// retry requests. It keeps them in a KV (kv.go): Files, under DATA_DIR, whose one primitive is
// WriteFileAtomic.
//
// Layout (every directory 0700, keys and bundles 0600):
//
//	accounts/<ca>/account.json      registration and e-mail
//	accounts/<ca>/account.key       the account's private key
//	certificates/<ca>/<name>/bundle.pem   leaf, chain, then key: what is uploaded to DFP
//	certificates/<ca>/<name>/state.json   failures, next attempt, ARI window
//	ratelimits/<ca>.json            the rate limiter's ledger
//	presence/<ca>.json              when each name was last listed
//	retry-now/<name>                an operator's "retry now" (see RequestRetry)
//
// <ca> is derived from the ACME directory URL, so a certificate from staging is never found when
// production is configured: switching CA re-issues instead of serving the old CA's certificate.
// The bundle is one file so that a crash cannot leave a certificate beside the wrong key.
package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/dfp-letsencrypt/provisioner/messages/dnsname"
)

// Store is the state for one ACME directory.
type Store struct {
	kv        KV
	root      string // DATA_DIR, for Files
	directory string
	ca        string
}

// Open prepares root (DATA_DIR) for the CA at directoryURL.
func Open(root, directoryURL string) (*Store, error) {
	s := &Store{kv: Files{Root: root}, root: root, directory: directoryURL, ca: CAKey(directoryURL)}
	for _, d := range []string{filepath.Join(root, "accounts", s.ca), filepath.Join(root, "certificates", s.ca)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	return s, nil
}

// OpenKV is the store for the CA at directoryURL on any KV.
func OpenKV(kv KV, directoryURL string) *Store {
	return &Store{kv: kv, directory: directoryURL, ca: CAKey(directoryURL)}
}

// CAKey turns a directory URL into a directory name: host, port and path, with unsafe characters
// replaced, e.g. "acme-v02.api.letsencrypt.org-directory".
func CAKey(directoryURL string) string {
	u, err := url.Parse(directoryURL)
	raw := directoryURL
	if err == nil {
		raw = strings.ToLower(strings.TrimSuffix(u.Host, ":443")) + u.Path // as config writes it
	}
	key := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '-'
	}, strings.Trim(raw, "/"))
	if key == "" || strings.Trim(key, ".") == "" {
		return "default"
	}
	return key
}

// certKey is the key of one of a name's values ("_wildcard.x" for "*.x"). Names reach here already
// normalised to DNS characters, but the check stays so that no caller can make the store write
// outside its certificates.
func (s *Store) certKey(name, file string) (string, error) {
	if name == "" || strings.ContainsAny(name, `/\`) || strings.Trim(name, ".") == "" {
		return "", fmt.Errorf("store: unsafe name %q", name)
	}
	return "certificates/" + s.ca + "/" + dnsname.FileStem(name) + "/" + file, nil
}

// LoadBundle returns the stored bundle for name from the configured CA, or an error wrapping
// os.ErrNotExist.
func (s *Store) LoadBundle(name string) ([]byte, error) {
	key, err := s.certKey(name, "bundle.pem")
	if err != nil {
		return nil, err
	}
	data, err := s.kv.Get(key)
	if err != nil {
		return nil, fmt.Errorf("store: load bundle for %s: %w", name, err)
	}
	return data, nil
}

// SaveBundle replaces the bundle for name atomically.
func (s *Store) SaveBundle(name string, pem []byte) error {
	key, err := s.certKey(name, "bundle.pem")
	if err != nil {
		return err
	}
	return s.kv.Put(key, pem)
}

// State is what the store remembers about a name besides its certificate.
type State struct {
	Failures    int       `json:"failures"`
	LastError   string    `json:"last_error,omitempty"`
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	// PausedURL is set when the CA paused the name; nothing is ordered until an operator has
	// unpaused it there and asked for a retry ("provisioner retry-now NAME").
	PausedURL string `json:"paused_url,omitempty"`
	// ARI is the CA's renewal window for the current certificate.
	ARI *ARI `json:"ari,omitempty"`
}

// ARI is what the CA said about renewing one certificate (RFC 9773). It belongs to the certificate
// with that fingerprint only: a window is never carried over to a newer certificate.
type ARI struct {
	Certificate string    `json:"certificate"`
	Start       time.Time `json:"start,omitzero"`
	End         time.Time `json:"end,omitzero"`
	// RenewAt is a random time inside the window, chosen once per window.
	RenewAt   time.Time `json:"renew_at,omitzero"`
	NextCheck time.Time `json:"next_check"`
	// Unsupported: the CA offers no renewal info; renew by lifetime.
	Unsupported bool `json:"unsupported,omitempty"`
	// ReplacesRefused: the CA refused "replaces" for this certificate; renew without it.
	ReplacesRefused bool `json:"replaces_refused,omitempty"`
}

// Usable reports whether a renewal may name the certificate in "replaces".
func (a *ARI) Usable() bool {
	return a != nil && !a.Unsupported && !a.ReplacesRefused && !a.Start.IsZero()
}

// LoadState returns the state of name; a name never seen has the zero State.
func (s *Store) LoadState(name string) (State, error) {
	var st State
	key, err := s.certKey(name, "state.json")
	if err != nil {
		return st, err
	}
	data, err := s.kv.Get(key)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("store: load state for %s: %w", name, err)
	}
	if st, err = DecodeState(data); err != nil {
		return State{}, fmt.Errorf("store: state for %s is corrupt: %w", name, err)
	}
	return st, nil
}

// DecodeState reads a state.json.
func DecodeState(data []byte) (State, error) {
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return State{}, err
	}
	return st, nil
}

// SaveState replaces the state of name atomically.
func (s *Store) SaveState(name string, st State) error {
	key, err := s.certKey(name, "state.json")
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("store: encode state for %s: %w", name, err)
	}
	return s.kv.Put(key, data)
}

// Names lists every name with a stored certificate from any CA: after a switch from staging to
// production these names still need (production) certificates even while DFP lists nothing.
func (s *Store) Names() ([]string, error) { return s.listNames(false) }

// NamesWithState lists every name with a bundle or a state, from any CA: also a name that never
// got a certificate (its pre-flight or its orders failed), for status.
func (s *Store) NamesWithState() ([]string, error) { return s.listNames(true) }

func (s *Store) listNames(withState bool) ([]string, error) {
	keys, err := s.kv.List("certificates/")
	if err != nil {
		return nil, fmt.Errorf("store: list names: %w", err)
	}
	seen := map[string]bool{}
	var names []string
	for _, k := range keys {
		parts := strings.Split(k, "/") // certificates/<ca>/<stem>/bundle.pem or state.json
		if len(parts) != 4 || parts[3] != "bundle.pem" && !(withState && parts[3] == "state.json") {
			continue
		}
		name := dnsname.FromFileStem(parts[2])
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// Ledger is the rate limiter's ledger for this CA.
func (s *Store) Ledger() Blob { return newBlob(s.kv, "ratelimits/"+s.ca+".json") }

// Presence is the supervisor's record of when each name was last listed, for this CA.
func (s *Store) Presence() Blob { return newBlob(s.kv, "presence/"+s.ca+".json") }

// LedgerPath and PresencePath are the files behind Ledger and Presence in DATA_DIR, for tests and
// operators' tools that read them.
func (s *Store) LedgerPath() string   { return filepath.Join(s.root, "ratelimits", s.ca+".json") }
func (s *Store) PresencePath() string { return filepath.Join(s.root, "presence", s.ca+".json") }

func (s *Store) accountKey(file string) string { return "accounts/" + s.ca + "/" + file }

// Account is the stored ACME account for the configured CA.
type Account struct {
	Email string          `json:"email"`
	URI   string          `json:"uri"`
	Body  json.RawMessage `json:"body,omitempty"`
	Key   []byte          `json:"-"`
}

// LoadAccount returns the stored account, or an error wrapping os.ErrNotExist.
func (s *Store) LoadAccount() (Account, error) {
	var a Account
	data, err := s.kv.Get(s.accountKey("account.json"))
	if err != nil {
		return a, fmt.Errorf("store: load account: %w", err)
	}
	if err := json.Unmarshal(data, &a); err != nil {
		return a, fmt.Errorf("store: account.json is corrupt: %w", err)
	}
	if a.Key, err = s.kv.Get(s.accountKey("account.key")); err != nil {
		return a, fmt.Errorf("store: load account key: %w", err)
	}
	return a, nil
}

// SaveAccount stores the account; the key first, so that account.json never points at a missing key.
func (s *Store) SaveAccount(a Account) error {
	if err := s.kv.Put(s.accountKey("account.key"), a.Key); err != nil {
		return err
	}
	data, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return fmt.Errorf("store: encode account: %w", err)
	}
	return s.kv.Put(s.accountKey("account.json"), data)
}
