// Package forecast is "provisioner plan": what the store holds (names, certificates, retry state,
// the rate-limit ledger) turned into the plan's input, with the what-if names and the lifetime of
// the CA's profile, and the plan written as a table or as JSON.
package forecast

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/go-acme/lego/v4/lego"

	"github.com/dfp-letsencrypt/provisioner/actors/plan"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/config"
	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/status"
	"github.com/dfp-letsencrypt/provisioner/messages/dnsname"
)

// Options are the command's flags.
type Options struct {
	Days    int
	Add     []string // names, or "N@domain" for N new names under domain
	Profile string   // "": the configured ACME_PROFILE
	JSON    bool
}

// maxDays bounds --days: a plan beyond two years says nothing the CA has announced.
const maxDays = 730

// ParseArgs reads "plan [--days N] [--add NAME,...|N@DOMAIN] [--profile P] [--json]".
func ParseArgs(args []string, stderr io.Writer) (Options, error) {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := Options{}
	fs.IntVar(&o.Days, "days", 90, "days to plan, from today (UTC)")
	add := fs.String("add", "", "what if these names appeared now: NAME,... or N@DOMAIN (N new names under DOMAIN)")
	fs.StringVar(&o.Profile, "profile", "", "plan with this Let's Encrypt profile's lifetimes (classic, tlsserver, shortlived) instead of ACME_PROFILE's")
	fs.BoolVar(&o.JSON, "json", false, "the whole plan as JSON, every day included")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("plan: unexpected %q", fs.Arg(0))
	}
	if o.Days < 1 || o.Days > maxDays {
		return o, fmt.Errorf("plan: --days %d is not from 1 to %d", o.Days, maxDays)
	}
	if *add != "" {
		o.Add = strings.Split(*add, ",")
	}
	return o, nil
}

// Header says what a plan assumed.
type Header struct {
	Profile  string                `json:"profile"`
	Lifetime string                `json:"lifetime"`
	Changes  []plan.LifetimeChange `json:"lifetime_changes,omitempty"`
	Limits   string                `json:"limits"`
	Stored   int                   `json:"names_with_certificate"`
	Without  int                   `json:"names_without"`
	Added    int                   `json:"names_added"`
}

// Input is the plan's input from a status report of the store and its ledger, at now.
func Input(cfg config.Config, report status.StatusReport, ledger ratelimiter.Ledger, o Options, now time.Time) (plan.Input, Header, error) {
	in := plan.Input{Now: now, Days: o.Days, Table: cfg.Limits, Ledger: ledger}
	h := Header{Limits: fmt.Sprintf("%s, %.0f%% kept in reserve", cfg.RateLimits, cfg.RateLimitMargin*100)}
	known := map[string]bool{}
	var observed time.Duration
	for _, n := range report.Names {
		if n.State == status.StateRemoved {
			continue
		}
		known[n.Name] = true
		in.Names = append(in.Names, plan.Name{Name: n.Name, NotBefore: n.NotBefore, NotAfter: n.NotAfter, DueAt: n.RenewAt,
			InWindow: n.RenewSource == "ari", Failures: n.Failures, NextAttempt: n.NextAttempt, Paused: n.State == status.StatePaused})
		if n.NotAfter.IsZero() {
			h.Without++
		} else {
			h.Stored++
			observed = max(observed, n.NotAfter.Sub(n.NotBefore))
		}
	}
	added, err := addedNames(o.Add)
	if err != nil {
		return in, h, err
	}
	for _, name := range added {
		if !known[name] {
			known[name] = true
			in.Names = append(in.Names, plan.Name{Name: name, Added: true})
			h.Added++
		}
	}
	in.Lifetime, h.Profile, h.Lifetime, err = lifetime(cfg, o.Profile, observed)
	if err != nil {
		return in, h, err
	}
	if h.Profile != "" {
		h.Changes = plan.Changes(h.Profile, now, now.AddDate(0, 0, o.Days))
	}
	return in, h, nil
}

// lifetime is Let's Encrypt's for the profile asked (or ACME_PROFILE's) when the CA is Let's
// Encrypt or a profile was asked for; for another CA, the longest the store holds (90 days when it
// holds none): its plans are not known here.
func lifetime(cfg config.Config, profile string, observed time.Duration) (plan.Lifetime, string, string, error) {
	letsEncrypt := cfg.DirectoryURL == lego.LEDirectoryProduction || cfg.DirectoryURL == lego.LEDirectoryStaging
	if profile == "" && !letsEncrypt {
		if observed == 0 {
			return plan.Fixed(90 * 24 * time.Hour), "", "90 days (no stored certificate to read the CA's from)", nil
		}
		return plan.Fixed(observed), "", "as the stored certificates: " + days(observed), nil
	}
	profile = cmp.Or(profile, cfg.Profile, "classic")
	life, err := plan.LetsEncryptLifetime(profile)
	if err != nil {
		return nil, "", "", fmt.Errorf("plan: --profile: %w", err)
	}
	return life, profile, "Let's Encrypt's " + profile + " profile, with its announced changes", nil
}

// addedNames expands --add: names, and "N@domain" as new-1.domain to new-N.domain.
func addedNames(tokens []string) ([]string, error) {
	var out []string
	for _, tok := range tokens {
		tok = strings.TrimSpace(tok)
		if count, domain, ok := strings.Cut(tok, "@"); ok {
			n, err := strconv.Atoi(count)
			if err != nil || n < 1 || n > 100000 {
				return nil, fmt.Errorf("plan: --add %q: want N@DOMAIN with N from 1 to 100000", tok)
			}
			d, err := dnsname.NormaliseHost(domain, false)
			if err != nil {
				return nil, fmt.Errorf("plan: --add %q: %w", tok, err)
			}
			width := len(strconv.Itoa(n))
			for i := 1; i <= n; i++ {
				out = append(out, fmt.Sprintf("new-%0*d.%s", width, i, d))
			}
			continue
		}
		name, err := dnsname.NormaliseHost(tok, true)
		if err != nil {
			return nil, fmt.Errorf("plan: --add %q: %w", tok, err)
		}
		out = append(out, name)
	}
	if len(tokens) > 0 && len(out) == 0 {
		return nil, errors.New("plan: --add names nothing")
	}
	return out, nil // duplicates are dropped by Input, with the names the store knows
}

func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return fmt.Sprintf("%.1f days", d.Hours()/24)
}
