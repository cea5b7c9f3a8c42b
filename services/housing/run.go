package housing

import (
	"context"
	"fmt"

	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/config"
)

// Run is `homeward housing`: it serves the housing-options API until ctx ends.
func Run(ctx context.Context, args []string, getenv func(string) string, o app.Options) error {
	cfg, err := config.Parse(Name, args, getenv)
	if err != nil {
		return err
	}
	a, err := app.New(ctx, Name, cfg, o)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	New(a)
	return a.Run(ctx)
}
