package status

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// NearBinding says whether a bucket is worth a person's eye: names wait behind it, the CA holds
// it, or at most a fifth of its tokens are left.
func (b BucketStatus) NearBinding() bool {
	return len(b.Queued) > 0 || !b.HeldUntil.IsZero() || b.TokensLeft*5 <= b.Capacity
}

// WriteTable prints the report for a person at a terminal: a count per state, then one row per
// name, trouble first, then the rate-limit buckets that bind or are near binding (every bucket
// that is not full with all), with times relative to now.
func (r StatusReport) WriteTable(w io.Writer, all bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	from := "from the running service"
	if r.Source != SourceService {
		from = "from the store (no running service answered: what the proxy serves is not known)"
	}
	fmt.Fprintf(tw, "CA %s, at %s, %s\n", r.CA, r.GeneratedAt.UTC().Format(time.RFC3339), from)
	fmt.Fprintf(tw, "%d names: %s\n\n", len(r.Names), r.stateCounts())
	fmt.Fprintln(tw, "NAME\tSTATE\tSERVED\tEXPIRES\tRENEWS\tNEXT ATTEMPT\tFAILURES\tLIMIT\tLAST ERROR")
	for _, n := range r.Names {
		renews := rel(n.RenewAt, r.GeneratedAt)
		if n.RenewSource != "" {
			renews += " (" + n.RenewSource + ")"
		}
		next := rel(n.NextAttempt, r.GeneratedAt)
		if !n.DeferredUntil.IsZero() {
			next = rel(n.DeferredUntil, r.GeneratedAt)
		}
		lastError := n.LastError
		if n.ServedWhy != "" {
			lastError = n.ServedWhy
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", n.Name, n.State, servedText(n, r.GeneratedAt), rel(n.NotAfter, r.GeneratedAt),
			renews, next, n.Failures, dash(n.Limit), dash(shorten(lastError, 100)))
	}
	var shown []BucketStatus
	for _, b := range r.Buckets {
		if all || b.NearBinding() {
			shown = append(shown, b)
		}
	}
	if len(shown) > 0 {
		fmt.Fprintln(tw, "\nRATE-LIMIT BUCKET\tTOKENS LEFT\tNEXT TOKEN\tFULL\tHELD BY CA\tBOOKED BEHIND IT")
		for _, b := range shown {
			var queued []string
			for _, q := range b.Queued {
				queued = append(queued, q.Name+" "+rel(q.At, r.GeneratedAt))
			}
			fmt.Fprintf(tw, "%s\t%d/%d\t%s\t%s\t%s\t%s\n", b.Bucket, b.TokensLeft, b.Capacity, rel(b.NextToken, r.GeneratedAt),
				rel(b.FullAt, r.GeneratedAt), rel(b.HeldUntil, r.GeneratedAt), dash(strings.Join(queued, ", ")))
		}
	}
	if hidden := len(r.Buckets) - len(shown); hidden > 0 {
		fmt.Fprintf(tw, "\n%d more rate-limit buckets are in use with room to spare (status --all lists them, --json has them)\n", hidden)
	}
	return tw.Flush()
}

// stateCounts is "1 failing, 999 valid": the states present, in trouble order.
func (r StatusReport) stateCounts() string {
	count := map[string]int{}
	for _, n := range r.Names {
		count[n.State]++
	}
	var parts []string
	for _, s := range stateOrder {
		if count[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", count[s], strings.ReplaceAll(s, "_", " ")))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// rel says when t is, relative to now, as a person reads it: the two largest units ("in 1h 43m",
// "3d 4h ago"), seconds only under a minute; "-" for no time.
func rel(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := t.Sub(now)
	ago := d < 0
	if ago {
		d = -d
	}
	s := humanDuration(d)
	if ago {
		return s + " ago"
	}
	return "in " + s
}

func humanDuration(d time.Duration) string {
	two := func(n int64, big string, m int64, small string) string {
		if m == 0 {
			return fmt.Sprintf("%d%s", n, big)
		}
		return fmt.Sprintf("%d%s %d%s", n, big, m, small)
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int64(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int64(d/time.Minute))
	case d < 24*time.Hour:
		return two(int64(d/time.Hour), "h", int64(d%time.Hour/time.Minute), "m")
	}
	return two(int64(d/(24*time.Hour)), "d", int64(d%(24*time.Hour)/time.Hour), "h")
}

// servedText is the SERVED column: the serve state, with when it was last seen served.
func servedText(n NameStatus, now time.Time) string {
	switch {
	case n.Served == "":
		return "-"
	case n.Served == "served" && !n.LastServed.IsZero():
		return "seen " + rel(n.LastServed, now)
	}
	return strings.ReplaceAll(n.Served, "_", " ")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
