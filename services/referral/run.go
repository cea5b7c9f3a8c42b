package referral

import (
	"context"
	"fmt"

	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/config"
)

// Run is `homeward referral`: it serves the referral API and runs the retention sweeper until
// ctx ends.
func Run(ctx context.Context, args []string, getenv func(string) string, o app.Options) error {
	cfg, err := config.Parse(Name, args, getenv)
	if err != nil {
		return err
	}
	a, err := app.New(ctx, Name, cfg, o)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	s := New(a)
	sweepCtx, stopSweeper := context.WithCancel(ctx)
	defer stopSweeper()
	go s.RunSweeper(sweepCtx, SweepInterval)
	return a.Run(ctx)
}
