package forecast

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/plan"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter/limits"
)

// Report is what --json prints: the assumptions, then the plan.
type Report struct {
	Header
	plan.Plan
}

// WriteJSON prints the whole plan, every day included.
func WriteJSON(w io.Writer, h Header, p plan.Plan) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(Report{Header: h, Plan: p})
}

const stamp = "2006-01-02 15:04"

// WriteText prints the plan for a person: what it assumed, the totals and the first time each
// limit binds, the days when anything happens, then each name still without a certificate.
func WriteText(w io.Writer, h Header, p plan.Plan, table limits.Table) error {
	var b strings.Builder
	fmt.Fprintf(&b, "plan: %d days from %s UTC\n", len(p.Days), p.From.UTC().Format(stamp))
	fmt.Fprintf(&b, "names: %d with a certificate, %d without, %d added (what-if)\n", h.Stored, h.Without, h.Added)
	fmt.Fprintf(&b, "lifetime: %s\n", h.Lifetime)
	for _, c := range h.Changes {
		fmt.Fprintf(&b, "  applied: orders from %s get %g-day certificates (%s)\n", c.From.Format(time.DateOnly), c.Days, c.Profile)
	}
	fmt.Fprintf(&b, "rate limits: %s\n", h.Limits)
	t := p.Totals
	fmt.Fprintf(&b, "total: %d new, %d renewals, %d proxy reloads; %d orders deferred by a limit\n", t.New, t.Renewals, t.Reloads, t.Deferred)
	for _, bind := range p.Binding {
		fmt.Fprintf(&b, "binds first: %s at %s (%s)\n", bind.Limit, bind.At.UTC().Format(stamp), bind.Name)
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "day\tnew\trenewals\treloads\tdeferred\tnear binding at the day's end (tokens left)")
	quiet := 0
	for _, d := range p.Days {
		if d.New+d.Renewals+d.Deferred == 0 {
			quiet++
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\n", d.Date, d.New, d.Renewals, d.Reloads, d.Deferred, left(d, table))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if quiet > 0 {
		fmt.Fprintf(&b, "(%d days with no order left out; --json has every day)\n", quiet)
	}
	if len(p.Pending) > 0 {
		b.WriteString("\n")
		tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "without a certificate\tstate\tordered at\twaits for\tuntil")
		for _, n := range p.Pending {
			at := "not within the plan"
			switch {
			case n.State == plan.StatePaused:
				at = "never: paused by the CA (unpause, then retry-now)"
			case !n.At.IsZero():
				at = n.At.UTC().Format(stamp)
			}
			waits, until := "-", "-"
			if n.WaitsFor != "" {
				waits, until = string(n.WaitsFor), n.Until.UTC().Format(stamp)
			}
			state := n.State
			if n.Added {
				state += " (added)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n.Name, state, at, waits, until)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// left is a day's fewest tokens left per limit near binding (a fifth of its capacity or less), as
// "limit n/capacity", by limit name.
func left(d plan.Day, table limits.Table) string {
	var parts []string
	for lim, n := range d.Left {
		capacity := 0
		if l, ok := table.Named(lim); ok {
			capacity = l.Capacity
		}
		if n*5 <= capacity { // near binding, as status shows buckets
			parts = append(parts, fmt.Sprintf("%s %d/%d", lim, n, capacity))
		}
	}
	slices.Sort(parts)
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}
