// Command ratesim prints the rate-limit simulation's figures:
//
//	go run ./test/ratesim/cmd                      # 1000 names, 5 domains, 10% dead, a year, daily restarts
//	go run ./test/ratesim/cmd -names 300 -domains 1 -dead 0 -days 60
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

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
	flag.Parse()

	start := time.Now()
	rep, err := ratesim.Run(ratesim.Config{
		Names:        ratesim.Fleet(*names, *domains, *deadEvery),
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
}
