package plan

import (
	"fmt"
	"time"
)

// Lifetime is how long a certificate ordered at a given time is valid.
type Lifetime func(orderedAt time.Time) time.Duration

// change is one dated fact: from From on, a profile's certificates are valid For.
type change struct {
	From time.Time
	For  time.Duration
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

const days = 24 * time.Hour

// letsEncrypt is Let's Encrypt's announced lifetimes per profile (letsencrypt.org, as of
// 2026-12): classic, the default, goes from 90 to 64 days on 2027-02-10 and to 45 on 2028-02-16;
// tlsserver has been 45 days since 2026-05-13; shortlived is 160 hours. Staging moves about a month
// earlier; the plan applies the production dates.
var letsEncrypt = map[string][]change{
	"classic":    {{time.Time{}, 90 * days}, {day(2027, 2, 10), 64 * days}, {day(2028, 2, 16), 45 * days}},
	"tlsserver":  {{time.Time{}, 45 * days}},
	"shortlived": {{time.Time{}, 160 * time.Hour}},
}

// LetsEncryptProfiles lists the profiles LetsEncryptLifetime knows.
var LetsEncryptProfiles = []string{"classic", "tlsserver", "shortlived"}

// LetsEncryptLifetime is the lifetime of a Let's Encrypt profile ("" is classic, the CA's default)
// at each date, with its announced changes.
func LetsEncryptLifetime(profile string) (Lifetime, error) {
	if profile == "" {
		profile = "classic"
	}
	changes, ok := letsEncrypt[profile]
	if !ok {
		return nil, fmt.Errorf("profile %q is not one of Let's Encrypt's (%v)", profile, LetsEncryptProfiles)
	}
	return func(at time.Time) time.Duration {
		life := changes[0].For
		for _, c := range changes[1:] {
			if !at.Before(c.From) {
				life = c.For
			}
		}
		return life
	}, nil
}

// LifetimeChange is a dated change the plan applies: orders from From on get Days-day certificates.
type LifetimeChange struct {
	Profile string    `json:"profile"`
	From    time.Time `json:"from"`
	Days    float64   `json:"days"`
}

// Changes lists the dated lifetime changes of profile that fall in [from, to), for the plan to say
// what it applied.
func Changes(profile string, from, to time.Time) []LifetimeChange {
	if profile == "" {
		profile = "classic"
	}
	var out []LifetimeChange
	for _, c := range letsEncrypt[profile] {
		if !c.From.IsZero() && !c.From.Before(from) && c.From.Before(to) {
			out = append(out, LifetimeChange{Profile: profile, From: c.From, Days: c.For.Hours() / 24})
		}
	}
	return out
}

// Fixed is one lifetime whatever the date: a CA whose plans are not known here.
func Fixed(d time.Duration) Lifetime { return func(time.Time) time.Duration { return d } }
