package reporting

import (
	"context"
	"fmt"

	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/config"
)

// Run is `homeward reporting`: it serves the reports and ingests events until ctx ends.
// `homeward reporting rebuild [flags]` recomputes the aggregates from the whole stream and exits.
func Run(ctx context.Context, args []string, getenv func(string) string, o app.Options) error {
	if len(args) == 0 || args[0] != "rebuild" {
		return app.Main(ctx, Name, args, getenv, o, func(a *app.Service) func(context.Context) {
			s := New(a)
			return func(ctx context.Context) {
				// Ingest ends only when ctx does or the process cannot go on ingesting; either way the
				// reports stop moving, which an SRE must be told.
				if err := s.Ingest(ctx); err != nil && ctx.Err() == nil {
					a.Log.Error("ingest stopped: reports no longer take in new events", "err", err)
				}
			}
		})
	}
	cfg, err := config.Parse(Name, args[1:], getenv)
	if err != nil {
		return err
	}
	a, err := app.New(ctx, Name, cfg, o)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer func() { _ = a.Close(context.Background()) }()
	return New(a).Rebuild(ctx)
}
