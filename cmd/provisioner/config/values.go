package config

import (
	"crypto/x509"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/dfp-letsencrypt/provisioner/messages/dnsname"
)

// MetricsAddr reads METRICS_ADDR alone, for the health command: the internal port's address, or
// "" when it is off.
func MetricsAddr(getenv func(string) string) (string, error) {
	env := readValue(getenv)
	if strings.ToLower(env("METRICS_ADDR")) == "off" {
		return "", nil
	}
	return hostPortVar(env, "METRICS_ADDR", ":9102", ":9102 or off", false)
}

// ChallengeAddr reads CHALLENGE_ADDR alone, for the health command with the internal port off.
func ChallengeAddr(getenv func(string) string) (string, error) {
	return hostPortVar(readValue(getenv), "CHALLENGE_ADDR", ":80", ":80", false)
}

// NotifyToken reads NOTIFY_TOKEN (or its _FILE) alone, for the commands that ask the running
// service: "" when none is set.
func NotifyToken(getenv func(string) string) (string, error) {
	return secretVar(readValue(getenv), "NOTIFY_TOKEN")
}

// boolVar reads a variable that is true, false, or unset (def).
func boolVar(env func(string) string, name string, def bool) (bool, error) {
	switch v := strings.ToLower(env(name)); v {
	case "":
		return def, nil
	case "true":
		return true, nil
	case "false":
		return false, nil
	default:
		return def, &Error{name, fmt.Sprintf("%q is neither true nor false", v)}
	}
}

// hostPortVar reads a host:port variable, or def when it is unset. The port is a number from 1 to
// 65535; the host may be empty (every interface) only where needHost is false.
func hostPortVar(env func(string) string, name, def, example string, needHost bool) (string, error) {
	v := env(name)
	if v == "" {
		return def, nil
	}
	if !validHostPort(v, needHost) {
		return def, &Error{name, fmt.Sprintf("%q is not host:port with a port from 1 to 65535 (e.g. %s)", v, example)}
	}
	return v, nil
}

// validHostPort says whether v is host:port with a port from 1 to 65535 (and a host, if needHost).
func validHostPort(v string, needHost bool) bool {
	host, port, err := net.SplitHostPort(v)
	n, perr := strconv.Atoi(port)
	return err == nil && perr == nil && n >= 1 && n <= 65535 && (!needHost || host != "")
}

// parseDuration is time.ParseDuration plus whole days ("7d"), the unit grace periods come in.
func parseDuration(v string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil {
			return 0, err
		}
		if n > math.MaxInt64/int64(24*time.Hour) || n < 0 {
			return 0, fmt.Errorf("%s days is out of range", days)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(v)
}

// unquote drops surrounding space and the literal quotes compose files leave in values
// (EXCLUDE_DOMAINS="a.com,b.com" in a YAML list keeps the quotes).
func unquote(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		v = strings.TrimSpace(v[1 : len(v)-1])
	}
	return v
}

// canonicalDirectory writes a directory URL one way: scheme and host in lower case, no default
// port, no trailing slash. Let's Encrypt's URL written with ":443" or an upper-case host is then
// recognised (its limits apply), and keeps the same storage key.
func canonicalDirectory(u *url.URL) string {
	c := *u
	c.Scheme, c.Host = "https", strings.ToLower(strings.TrimSuffix(u.Host, ":443"))
	if len(c.Path) > 1 {
		c.Path = strings.TrimSuffix(c.Path, "/")
	}
	c.RawPath = ""
	return c.String()
}

// secrets are the variables whose values are read exactly as given: a quote or a space in a
// password is part of it.
var secrets = map[string]bool{"ETCD_PASSWORD": true, "ACME_EAB_KID": true, "ACME_EAB_HMAC": true, "NOTIFY_TOKEN": true}

// readValue reads a variable as Load does: a secret as it is, anything else without the
// surrounding spaces and one matching pair of quotes (what a compose file's quoted list leaves).
func readValue(getenv func(string) string) func(string) string {
	return func(name string) string {
		if secrets[name] {
			return getenv(name)
		}
		return unquote(getenv(name))
	}
}

func parseProxyAddress(v string) (*url.URL, error) {
	if v == "" {
		return nil, fmt.Errorf("required: Docker Flow Proxy's address, e.g. proxy, proxy:8080 or http://proxy:8080")
	}
	raw := v
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" || (u.Scheme != "http" && u.Scheme != "https") {
		shown := v
		if strings.Contains(v, "@") { // it may hold a password; the error line is logged
			shown = "the value (hidden: it has user info)"
		}
		return nil, fmt.Errorf("%q is not host, host:port or an http(s) URL", shown)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%q has a bad port", u.Redacted())
		}
	} else if !strings.Contains(v, "://") {
		u.Host = net.JoinHostPort(u.Hostname(), "8080")
	}
	// The API path is joined to this URL; anything that would be dropped or doubled is refused.
	switch {
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, fmt.Errorf("%q has a query or fragment, which would be dropped; give scheme://host:port", u.Redacted())
	case strings.Contains(u.Path, "/v1/docker-flow-proxy"):
		return nil, fmt.Errorf("%q includes DFP's API path; give scheme://host:port", u.Redacted())
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

// parseNames reads a comma list of names; wildcards ("*.example.com") only where allowed.
func parseNames(v string, allowWildcard bool) ([]string, error) {
	var out []string
	for _, raw := range strings.Split(v, ",") {
		item := strings.ToLower(unquote(raw))
		if item == "" {
			continue
		}
		prefix := ""
		if rest, ok := strings.CutPrefix(item, "*."); ok && allowWildcard {
			prefix, item = "*.", rest
		}
		name, err := dnsname.Normalise(item)
		if err != nil {
			return nil, fmt.Errorf("%q: %v", unquote(raw), err)
		}
		out = append(out, prefix+name)
	}
	return out, nil
}

// rootsFile reads a pool of PEM certificates, refusing a file that holds none.
func rootsFile(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}
