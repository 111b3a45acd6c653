package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// Etcd is how to reach the etcd that STORE=etcd keeps everything in.
type Etcd struct {
	Endpoints []string      // ETCD_ENDPOINTS: host:port or http(s)://host:port
	Prefix    string        // ETCD_PREFIX, ending in "/"
	TLS       *tls.Config   // from ETCD_CA_FILE, ETCD_CERT_FILE, ETCD_KEY_FILE; nil for plain HTTP
	Username  string        // ETCD_USERNAME
	Password  string        // ETCD_PASSWORD (or _FILE)
	LeaseTTL  time.Duration // ETCD_LEASE_TTL: how long a dead leader keeps its term
}

// etcdVars are the variables that mean something only with STORE=etcd.
var etcdVars = []string{"ETCD_ENDPOINTS", "ETCD_PREFIX", "ETCD_CA_FILE", "ETCD_CERT_FILE", "ETCD_KEY_FILE",
	"ETCD_USERNAME", "ETCD_PASSWORD", "ETCD_PASSWORD_FILE", "ETCD_LEASE_TTL"}

// loadStore reads STORE and, for etcd, where it is and how to log in.
func (c *Config) loadStore(env func(string) string) error {
	switch v := env("STORE"); v {
	case "", "file":
		c.Store = "file"
		for _, name := range etcdVars {
			if env(name) != "" {
				return &Error{name, "has no effect without STORE=etcd"}
			}
		}
		return nil
	case "etcd":
		c.Store = "etcd"
	default:
		return &Error{"STORE", fmt.Sprintf("%q is not file or etcd", v)}
	}
	e := Etcd{Prefix: "/dfp-letsencrypt/", LeaseTTL: 10 * time.Second}
	schemes := map[string]bool{}
	for _, item := range strings.Split(env("ETCD_ENDPOINTS"), ",") {
		ep := strings.TrimSpace(item)
		if ep == "" {
			continue
		}
		hostPort := ep
		if strings.Contains(ep, "://") {
			u, err := url.Parse(ep)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Path != "" && u.Path != "/" || u.User != nil {
				return &Error{"ETCD_ENDPOINTS", fmt.Sprintf("%q is not host:port or http(s)://host:port", ep)}
			}
			hostPort = u.Host
			schemes[u.Scheme] = true
		}
		if !validHostPort(hostPort, true) {
			return &Error{"ETCD_ENDPOINTS", fmt.Sprintf("%q is not host:port or http(s)://host:port", ep)}
		}
		e.Endpoints = append(e.Endpoints, ep)
	}
	if len(e.Endpoints) == 0 {
		return &Error{"ETCD_ENDPOINTS", "is required with STORE=etcd (e.g. etcd1:2379,etcd2:2379,etcd3:2379)"}
	}
	if v := env("ETCD_PREFIX"); v != "" {
		if !strings.HasPrefix(v, "/") || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) || strings.Contains(v, "//") {
			return &Error{"ETCD_PREFIX", fmt.Sprintf("%q is not a key prefix starting with / (e.g. /dfp-letsencrypt)", v)}
		}
		e.Prefix = strings.TrimSuffix(v, "/") + "/"
	}
	if v := env("ETCD_LEASE_TTL"); v != "" {
		d, err := parseDuration(v)
		if err != nil || d < 2*time.Second || d > 5*time.Minute || d%time.Second != 0 {
			return &Error{"ETCD_LEASE_TTL", fmt.Sprintf("%q is not whole seconds from 2s to 5m (e.g. 10s)", v)}
		}
		e.LeaseTTL = d
	}
	// etcd's client takes TLS or plaintext for every member from the first endpoint's scheme, so a
	// mix, or http:// with TLS files, would send everything (the password too) in clear.
	tlsFiles := env("ETCD_CA_FILE") != "" || env("ETCD_CERT_FILE") != "" || env("ETCD_KEY_FILE") != ""
	switch {
	case schemes["http"] && schemes["https"]:
		return &Error{"ETCD_ENDPOINTS", "mixes http:// and https:// members; etcd's client would use the first one's for all: use one scheme"}
	case schemes["http"] && tlsFiles:
		return &Error{"ETCD_ENDPOINTS", "names http:// members while ETCD_CA_FILE, ETCD_CERT_FILE or ETCD_KEY_FILE asks for TLS: write https://"}
	}
	secure := schemes["https"] || tlsFiles
	if secure {
		for i, ep := range e.Endpoints {
			if !strings.Contains(ep, "://") {
				e.Endpoints[i] = "https://" + ep // every member by the same scheme
			}
		}
	}
	var err error
	if e.TLS, err = etcdTLS(env, secure); err != nil {
		return err
	}
	e.Username = env("ETCD_USERNAME")
	if e.Password, err = secretVar(env, "ETCD_PASSWORD"); err != nil {
		return err
	}
	if (e.Username == "") != (e.Password == "") {
		return &Error{"ETCD_USERNAME", "and ETCD_PASSWORD (or ETCD_PASSWORD_FILE) go together"}
	}
	c.Etcd = e
	return nil
}

// etcdTLS is the client's TLS: on when an endpoint is https or a CA file is given, with a client
// certificate when both its files are given.
func etcdTLS(env func(string) string, secure bool) (*tls.Config, error) {
	caFile, certFile, keyFile := env("ETCD_CA_FILE"), env("ETCD_CERT_FILE"), env("ETCD_KEY_FILE")
	if !secure && caFile == "" && certFile == "" && keyFile == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, &Error{"ETCD_CA_FILE", fmt.Sprintf("cannot read %q: %v", caFile, err)}
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, &Error{"ETCD_CA_FILE", fmt.Sprintf("%q holds no PEM certificate", caFile)}
		}
	}
	switch {
	case certFile == "" && keyFile == "":
	case certFile == "":
		return nil, &Error{"ETCD_KEY_FILE", "needs ETCD_CERT_FILE too"}
	case keyFile == "":
		return nil, &Error{"ETCD_CERT_FILE", "needs ETCD_KEY_FILE too"}
	default:
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, &Error{"ETCD_CERT_FILE", fmt.Sprintf("with ETCD_KEY_FILE: %v", err)}
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// StoreText is where state is kept, as log lines name it: DATA_DIR, or etcd's endpoints and prefix.
func (c Config) StoreText() string {
	if c.Store == "etcd" {
		return "etcd " + strings.Join(c.Etcd.Endpoints, ",") + " " + c.Etcd.Prefix
	}
	return c.DataDir
}
