package housing

import (
	"context"

	"github.com/homeward-dev/homeward/services/kit/app"
)

// Run is `homeward housing`: it serves the housing-options API until ctx ends.
func Run(ctx context.Context, args []string, getenv func(string) string, o app.Options) error {
	return app.Main(ctx, Name, args, getenv, o, func(a *app.Service) func(context.Context) {
		New(a)
		return nil
	})
}
