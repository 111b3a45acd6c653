package store

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/go-acme/lego/v4/lego"

	"github.com/dfp-letsencrypt/provisioner/messages/bundle"
)

// Import is what became of one certificate the certbot-based predecessors left.
type Import struct {
	Name     string
	NotAfter time.Time
	Err      error // nil: adopted
}

// ImportCertbot adopts the certificates certbot left under root/live/<name>/ (fullchain.pem,
// privkey.pem) that are valid for their name and were issued by the configured CA, so that
// switching from the predecessors costs no issuance. A name that already has a certificate in the
// store is left alone. Which CA issued a certificate is read from certbot's renewal/<name>.conf
// ("server = ..."); without it, only Let's Encrypt's own certificates can be told apart, by issuer.
func (s *Store) ImportCertbot(now time.Time) []Import {
	dirs, err := os.ReadDir(filepath.Join(s.root, "live"))
	if err != nil {
		return nil // no predecessor here
	}
	var out []Import
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		name := d.Name()
		if _, err := s.LoadBundle(name); err == nil {
			continue
		}
		imp := Import{Name: name}
		var b *bundle.Bundle
		b, imp.Err = s.readCertbot(name, now)
		if imp.Err == nil {
			imp.NotAfter = b.Leaf.NotAfter
			imp.Err = s.SaveBundle(name, b.PEM)
		}
		out = append(out, imp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (s *Store) readCertbot(name string, now time.Time) (*bundle.Bundle, error) {
	directoryURL := s.directory
	live := filepath.Join(s.root, "live", name)
	chain, err := os.ReadFile(filepath.Join(live, "fullchain.pem"))
	if err != nil {
		return nil, err
	}
	key, err := os.ReadFile(filepath.Join(live, "privkey.pem"))
	if err != nil {
		return nil, err
	}
	b, err := bundle.Parse(append(append(bytes.TrimSpace(chain), '\n'), key...))
	if err == nil {
		err = b.Check(name, now)
	}
	if err != nil {
		return nil, err
	}
	server, err := certbotServer(filepath.Join(s.root, "renewal", name+".conf"))
	switch {
	case err == nil && sameDirectory(server, directoryURL):
		return b, nil
	case err == nil:
		return nil, fmt.Errorf("issued by %s, not the configured %s", server, directoryURL)
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	if IssuedByName(b, directoryURL) {
		return b, nil
	}
	return nil, fmt.Errorf("issuer %q does not show it comes from the configured CA, and there is no renewal/%s.conf to say",
		issuerName(b), name)
}

// IssuedByName tells, from the issuer's name alone, whether Let's Encrypt's production or staging
// directory issued b. For any other CA it cannot tell, and says no.
func IssuedByName(b *bundle.Bundle, directoryURL string) bool {
	issuer := issuerName(b)
	staging := strings.Contains(issuer, "STAGING") || strings.Contains(issuer, "Fake LE")
	return sameDirectory(directoryURL, lego.LEDirectoryProduction) && strings.Contains(issuer, "Let's Encrypt") && !staging ||
		sameDirectory(directoryURL, lego.LEDirectoryStaging) && staging
}

func issuerName(b *bundle.Bundle) string {
	return strings.Join(append(b.Leaf.Issuer.Organization, b.Leaf.Issuer.CommonName), " ")
}

// certbotServer reads "server = <url>" from a certbot renewal configuration.
func certbotServer(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), "=")
		if ok && strings.TrimSpace(key) == "server" {
			return strings.TrimSpace(value), nil
		}
	}
	return "", fmt.Errorf("%s names no server: %w", path, os.ErrNotExist)
}

func sameDirectory(a, b string) bool {
	return strings.TrimSuffix(a, "/") == strings.TrimSuffix(b, "/")
}
