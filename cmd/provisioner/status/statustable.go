package status

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable prints the report for a person at a terminal: aligned columns, times relative to now.
func (r StatusReport) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	from := "from the running service"
	if r.Source != SourceService {
		from = "from the store (no running service answered: what the proxy serves is not known)"
	}
	fmt.Fprintf(tw, "CA %s, %d names, at %s, %s\n\n", r.CA, len(r.Names), r.GeneratedAt.UTC().Format(time.RFC3339), from)
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
	if len(r.Buckets) > 0 {
		fmt.Fprintln(tw, "\nRATE-LIMIT BUCKET\tTOKENS LEFT\tNEXT TOKEN\tFULL\tHELD BY CA\tBOOKED BEHIND IT")
		for _, b := range r.Buckets {
			var queued []string
			for _, q := range b.Queued {
				queued = append(queued, q.Name+" "+rel(q.At, r.GeneratedAt))
			}
			fmt.Fprintf(tw, "%s\t%d/%d\t%s\t%s\t%s\t%s\n", b.Bucket, b.TokensLeft, b.Capacity, rel(b.NextToken, r.GeneratedAt),
				rel(b.FullAt, r.GeneratedAt), rel(b.HeldUntil, r.GeneratedAt), dash(strings.Join(queued, ", ")))
		}
	}
	return tw.Flush()
}

// rel says when t is, relative to now, in the largest sensible unit; "-" for no time.
func rel(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := t.Sub(now)
	ago := d < 0
	if ago {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		s = fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		s = fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%dh", int(d.Hours()))
	default:
		s = fmt.Sprintf("%dd", int(d.Hours()/24))
	}
	if ago {
		return s + " ago"
	}
	return "in " + s
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
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
