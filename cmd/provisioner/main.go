// Command provisioner gives Docker Flow Proxy Let's Encrypt certificates. It is configured by
// environment variables (see README.md) and reports through its logs.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/dfp-letsencrypt/provisioner/cmd/provisioner/app"
)

func main() {
	cfg, err := app.LoadConfig(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	logger := app.NewLogger(cfg, os.Stdout)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := app.Run(ctx, cfg, logger); err != nil {
		logger.Error("provisioner stopped on an error", "event", "fatal", "error", err)
		os.Exit(1)
	}
}
