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
	rebuild := len(args) > 0 && args[0] == "rebuild"
	if rebuild {
		args = args[1:]
	}
	cfg, err := config.Parse(Name, args, getenv)
	if err != nil {
		return err
	}
	a, err := app.New(ctx, Name, cfg, o)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	s := New(a)
	if rebuild {
		defer func() { _ = a.Close(context.Background()) }()
		return s.Rebuild(ctx)
	}
	ingestCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = s.Ingest(ingestCtx) }()
	return a.Run(ctx)
}
