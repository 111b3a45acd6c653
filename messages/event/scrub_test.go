package event

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestScrub(t *testing.T) {
	HideSecrets("duckdns-token-1234", "short", "https://hooks.slack.com/services/T0/B0/XYZSECRET")
	for _, c := range []struct{ in, want string }{
		{`Get "https://www.duckdns.org/update?domains=a&token=duckdns-token-1234&txt=x": EOF`,
			`Get "https://www.duckdns.org/update?***": EOF`},
		{`the provider said: bad token duckdns-token-1234`, `the provider said: bad token ***`},
		{`dial https://admin:pw@etcd:2379/v3: refused`, `dial https://etcd:2379/v3?***: refused`},
		{`Post "https://hooks.slack.com/services/T0/B0/XYZSECRET": timeout`, `Post "***": timeout`},
		{`short words stay`, `short words stay`}, // under minSecret: not masked
		{`urn:ietf:params:acme:error:unauthorized at https://ca.test/acme/authz/1`, `urn:ietf:params:acme:error:unauthorized at https://ca.test/acme/authz/1`},
	} {
		if got := Scrub(c.in); got != c.want {
			t.Errorf("Scrub(%q)\n = %q\nwant %q", c.in, got, c.want)
		}
	}
	if got := PeerText(errors.New("token duckdns-token-1234").Error()); strings.Contains(got, "duckdns-token-1234") {
		t.Errorf("PeerText left the secret in: %q", got)
	}
}

func TestSecretsOf(t *testing.T) {
	files := map[string]string{"/run/secrets/cf": "cf-token-from-a-file\n"}
	read := func(p string) ([]byte, error) {
		if v, ok := files[p]; ok {
			return []byte(v), nil
		}
		return nil, errors.New("no such file")
	}
	got := SecretsOf([]string{"DUCKDNS_TOKEN=abc123456", "CLOUDFLARE_DNS_API_TOKEN_FILE=/run/secrets/cf", "PATH=/usr/bin",
		"AWS_SECRET_ACCESS_KEY=aws-secret", "DOMAINS=a.test", "EMPTY_TOKEN="}, read)
	want := map[string]bool{"abc123456": true, "cf-token-from-a-file": true, "aws-secret": true}
	if len(got) != len(want) {
		t.Fatalf("SecretsOf = %q, want %v", got, want)
	}
	for _, v := range got {
		if !want[v] {
			t.Errorf("SecretsOf gave %q", v)
		}
	}
}

// No registered secret and no URL's query or user info survives Scrub, whatever surrounds them.
func FuzzScrub(f *testing.F) {
	f.Add("prefix ", "s3cret-value", " suffix", "https://x.test/p?token=")
	f.Add(`"`, "another-secret", `"`, "http://u:p@h/")
	f.Fuzz(func(t *testing.T, before, secret, after, link string) {
		if len(strings.TrimSpace(secret)) < minSecret || strings.ContainsAny(secret, Masked) {
			return
		}
		secret = strings.TrimSpace(secret)
		HideSecrets(secret)
		out := Scrub(before + secret + after + " " + link + "tok-" + secret)
		if strings.Contains(out, secret) {
			t.Fatalf("Scrub left the secret %q in %q", secret, out)
		}
	})
}

// A secret logged raw, in the message, an attribute, an error or a group, is masked by the handler.
func TestScrubHandler(t *testing.T) {
	HideSecrets("logged-secret-42")
	var out strings.Builder
	log := slog.New(ScrubHandler(slog.NewJSONHandler(&out, nil))).With("url", "https://x.test/?k=logged-secret-42")
	log.Info("saw logged-secret-42", "error", errors.New("bad logged-secret-42"), slog.Group("g", "v", "logged-secret-42"))
	if strings.Contains(out.String(), "logged-secret-42") || !strings.Contains(out.String(), Masked) {
		t.Fatalf("the handler let the secret through:\n%s", out.String())
	}
}
