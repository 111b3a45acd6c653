// Package alerter posts a name's troubles to a webhook (ALERT_WEBHOOK_URL): when a kind of trouble
// begins and when it ends, once per change, never once per retry. Let's Encrypt no longer sends
// expiry e-mails; this is what tells an operator who does not watch the logs.
package alerter

import (
	"fmt"
	"time"

	"github.com/dfp-letsencrypt/provisioner/messages"
)

// Alert is the webhook's JSON body. Text makes it a valid Slack, Mattermost or Rocket.Chat
// incoming-webhook message as it is; the other fields are for machines.
type Alert struct {
	Text   string    `json:"text"`
	Name   string    `json:"name"`
	Kind   string    `json:"kind"`
	State  string    `json:"state"` // "trouble" or "recovered"
	Detail string    `json:"detail,omitempty"`
	At     time.Time `json:"at"`
}

// Active is the troubles in effect: name -> kind.
type Active map[string]map[string]bool

// Apply records t and returns the alert to send, or nil when nothing changed (the same trouble
// reported again, or the end of one that was never reported).
func (a Active) Apply(t messages.Trouble, now time.Time) *Alert {
	if a[t.Name][t.Kind] == t.Active {
		return nil
	}
	if a[t.Name] == nil {
		a[t.Name] = map[string]bool{}
	}
	if t.Active {
		a[t.Name][t.Kind] = true
	} else {
		delete(a[t.Name], t.Kind)
		if len(a[t.Name]) == 0 {
			delete(a, t.Name)
		}
	}
	al := &Alert{Name: t.Name, Kind: t.Kind, State: "trouble", Detail: t.Detail, At: now}
	if !t.Active {
		al.State, al.Detail = "recovered", ""
	}
	al.Text = text(al)
	return al
}

func text(a *Alert) string {
	if a.State == "recovered" {
		return fmt.Sprintf(":white_check_mark: %s recovered: %s is over", a.Name, what[a.Kind])
	}
	s := fmt.Sprintf(":warning: %s: %s", a.Name, what[a.Kind])
	if a.Detail != "" {
		s += " (" + a.Detail + ")"
	}
	return s
}

var what = map[string]string{
	messages.TroubleExpiring:  "the certificate expires soon and is not renewed yet",
	messages.TroublePaused:    "the CA paused the name; unpause it, then run provisioner retry-now",
	messages.TroubleFailing:   "renewal keeps failing",
	messages.TroubleNotServed: "the proxy does not serve the uploaded certificate",
	messages.TroubleSpaced:    "the CA's renewal window is open for a certificate under a day old; renewals are held to one a day (a renewal loop, or a revocation)",
}
