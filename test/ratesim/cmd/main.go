// Command ratesim prints the rate-limit simulation's figures:
//
//	go run ./test/ratesim/cmd                      # 1000 names, 5 domains, 10% dead, a year, daily restarts
//	go run ./test/ratesim/cmd -names 300 -domains 1 -dead 0 -days 60
//	go run ./test/ratesim/cmd -names 120 -domains 1 -dead 0 -restart 0 -days 90 -vs-plan
//	                                               # and day by day, what "provisioner plan" foresaw
package main

import (
	"flag"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/dfp-letsencrypt/provisioner/actors/plan"
	"github.com/dfp-letsencrypt/provisioner/actors/ratelimiter/limits"
	"github.com/dfp-letsencrypt/provisioner/test/ratesim"
)

func main() {
	names := flag.Int("names", 1000, "names to manage")
	domains := flag.Int("domains", 5, "registered domains they spread over")
	deadEvery := flag.Int("dead", 10, "every n-th name never validates (0: none)")
	days := flag.Int("days", 365, "simulated days")
	restart := flag.Duration("restart", 24*time.Hour, "simulated time between restarts (0: none)")
	margin := flag.Float64("margin", 0.1, "safety margin below the CA's limits (RATE_LIMIT_MARGIN)")
	seed := flag.Uint64("seed", 1, "random seed")
	vsPlan := flag.Bool("vs-plan", false, "print, day by day, what the plan foresaw for the same names (it takes every name as live)")
	flag.Parse()

	start := time.Now()
	fleet := ratesim.Fleet(*names, *domains, *deadEvery)
	rep, err := ratesim.Run(ratesim.Config{
		Names:        fleet,
		Duration:     time.Duration(*days) * 24 * time.Hour,
		RestartEvery: *restart,
		Limits:       limits.Production,
		Margin:       *margin,
		Lifetime:     90 * 24 * time.Hour,
		Seed:         *seed,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mean, worst, last, lastIdeal := rep.Delays()
	ramp, daily := rep.MaxDeadAttempts()
	fmt.Printf("simulated %d names over %d registered domains (%d dead) for %d days, restarting every %s, margin %.0f%%\n",
		*names, *domains, len(rep.DeadAttempts), *days, *restart, *margin*100)
	fmt.Printf("violations (orders Let's Encrypt would refuse): %d\n", rep.Violations)
	fmt.Printf("orders %d, certificates %d (%d first, %d renewals), restarts %d, renewals after expiry %d\n",
		rep.Orders, rep.Issued, len(rep.FirstIssued), rep.Renewals, rep.Restarts, rep.Lapsed)
	fmt.Printf("first issuance vs ideal (CA buckets, no margin): mean %s later, worst %s later; last name at %s (ideal %s)\n",
		mean.Round(time.Minute), worst.Round(time.Minute), last.Round(time.Minute), lastIdeal.Round(time.Minute))
	fmt.Printf("dead names: at most %d orders in 24 h during the 1/10/100-minute ramp, at most %d per 24 h after it\n", ramp, daily)
	fmt.Printf("(ran in %s)\n", time.Since(start).Round(time.Millisecond))
	if *vsPlan {
		if err := printVsPlan(fleet, rep, *days, *margin); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

// printVsPlan prints the plan of the same names beside what the simulation did, for the days
// when either has anything.
func printVsPlan(fleet []ratesim.Name, rep ratesim.Report, days int, margin float64) error {
	in := plan.Input{Now: ratesim.Start, Days: days, Table: limits.Production.WithMargin(margin), Lifetime: plan.Fixed(90 * 24 * time.Hour)}
	for _, n := range fleet {
		in.Names = append(in.Names, plan.Name{Name: n.Name})
	}
	p, err := plan.Build(in)
	if err != nil {
		return err
	}
	simNew := map[int]int{}
	for _, at := range rep.FirstIssued {
		simNew[int(at/(24*time.Hour))]++
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nday\tplanned new\tsimulated new\tplanned renewals\tsimulated renewals")
	for i, d := range p.Days {
		if d.New+d.Renewals+simNew[i]+rep.RenewalsOnDay[i] > 0 {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", d.Date, d.New, simNew[i], d.Renewals, rep.RenewalsOnDay[i])
		}
	}
	return tw.Flush()
}
