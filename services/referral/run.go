package referral

import (
	"context"

	"github.com/homeward-dev/homeward/services/kit/app"
)

// Run is `homeward referral`: it serves the referral API and runs the retention sweeper until
// ctx ends.
func Run(ctx context.Context, args []string, getenv func(string) string, o app.Options) error {
	return app.Main(ctx, Name, args, getenv, o, func(a *app.Service) func(context.Context) {
		s := New(a)
		return func(ctx context.Context) { s.RunSweeper(ctx, SweepInterval) }
	})
}
