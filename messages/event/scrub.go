package event

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Masked stands for a secret in text the service shows.
const Masked = "***"

// minSecret is the shortest value masked: shorter ones would mask ordinary words.
const minSecret = 8

var (
	secretsMu sync.RWMutex
	secrets   []string // longest first, so that a secret inside another is masked as the longer one
)

// HideSecrets adds values that Scrub masks wherever they appear: the service's own secrets
// (ETCD_PASSWORD, the EAB key, NOTIFY_TOKEN, the webhook's URL) and every variable of the
// environment that names one (a DNS provider's token, ...). Set once at start.
func HideSecrets(values ...string) {
	secretsMu.Lock()
	defer secretsMu.Unlock()
	for _, v := range values {
		if v = strings.TrimSpace(v); len(v) >= minSecret && !contains(secrets, v) {
			secrets = append(secrets, v)
		}
	}
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// secretName says whether an environment variable's name holds a secret, as lego's providers
// and most tools name them.
var secretName = regexp.MustCompile(`(?i)(TOKEN|SECRET|PASSWORD|PASSWD|PASS|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|HMAC|AUTH|CREDENTIAL|WEBHOOK)`)

// SecretsOf returns the values of the variables in environ (KEY=value) whose names hold a
// secret; a KEY_FILE's value is read with readFile (the file's content is the secret).
func SecretsOf(environ []string, readFile func(string) ([]byte, error)) []string {
	var out []string
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" || !secretName.MatchString(strings.TrimSuffix(k, "_FILE")) {
			continue
		}
		if strings.HasSuffix(k, "_FILE") {
			if data, err := readFile(v); err == nil {
				out = append(out, strings.TrimSpace(string(data)))
			}
			continue
		}
		out = append(out, v)
	}
	return out
}

var urlInText = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'<>` + "`" + `]+`)

// Scrub makes a peer's text (an error from the CA, DFP, a DNS provider) safe to log, store, show
// and alert: every registered secret is masked, and URLs lose their user info, query and
// fragment, where providers put tokens.
func Scrub(s string) string {
	secretsMu.RLock()
	for _, v := range secrets {
		s = strings.ReplaceAll(s, v, Masked)
	}
	secretsMu.RUnlock()
	return urlInText.ReplaceAllStringFunc(s, func(match string) string {
		raw := strings.TrimRight(match, ".,:;)]}") // the sentence's, not the URL's
		return scrubURL(raw) + match[len(raw):]
	})
}

// scrubURL drops a URL's user info, query and fragment, saying that something was dropped.
func scrubURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		if i := strings.IndexAny(raw, "?#@"); i >= 0 {
			return raw[:i] + Masked // unparseable: cut at the first place a secret could start
		}
		return raw
	}
	masked := u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery
	u.User, u.RawQuery, u.Fragment, u.ForceQuery = nil, "", "", false
	if masked {
		return u.String() + "?" + Masked
	}
	return u.String()
}

// ScrubHandler wraps a log handler so that every string and error attribute is scrubbed (Scrub):
// the last line of defence for a peer's error logged without PeerText.
func ScrubHandler(next slog.Handler) slog.Handler { return scrubHandler{next} }

type scrubHandler struct{ next slog.Handler }

func (h scrubHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h scrubHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, Scrub(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(scrubAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h scrubHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	scrubbed := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		scrubbed[i] = scrubAttr(a)
	}
	return scrubHandler{h.next.WithAttrs(scrubbed)}
}

func (h scrubHandler) WithGroup(name string) slog.Handler {
	return scrubHandler{h.next.WithGroup(name)}
}

// maxLogged bounds one logged string: what a peer sent is cut by PeerText already, and no line
// the service writes needs more.
const maxLogged = 16 << 10

func scrubLogged(s string) string {
	if len(s) <= maxLogged {
		return Scrub(s)
	}
	cut := runeCut(s, maxLogged)
	return Scrub(s[:cut]) + fmt.Sprintf("... (%d bytes cut)", len(s)-cut)
}

func scrubAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, scrubLogged(v.String()))
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, scrubLogged(err.Error()))
		}
	case slog.KindGroup:
		group := v.Group()
		scrubbed := make([]any, len(group))
		for i, g := range group {
			scrubbed[i] = scrubAttr(g)
		}
		return slog.Group(a.Key, scrubbed...)
	}
	return a
}
