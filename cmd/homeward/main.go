// Command homeward runs Homeward's tenant processes, one per tenant and service, as subcommands.
// `homeward operator` runs the homeward-operator binary installed beside it, as git runs its
// external commands, so the Kubernetes libraries the operator needs are not loaded into every
// tenant process: a tenant's five processes each stay about 20 MB smaller.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/homeward-dev/homeward/internal/importcmd"
	"github.com/homeward-dev/homeward/services/housing"
	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/portal"
	"github.com/homeward-dev/homeward/services/referral"
	"github.com/homeward-dev/homeward/services/reporting"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `usage: homeward <command> [flags]

commands:
  operator   run the operator that turns Partnerships into tenants (the homeward-operator binary
             installed beside this one)
  referral   serve one partnership's referral API (flags or HOMEWARD_* variables; --help lists them)
  housing    serve one partnership's housing-options API (same flags and variables)
  reporting  ingest one partnership's events and serve its reports (same flags and variables);
             "reporting rebuild" recomputes the aggregates from the whole event stream
  import     send CSV files of a partnership's past records to its services, as its admin
             (--referral-url, --kratos-public-url, --email, --password-file; docs/import.md)
  portal     serve one partnership's web portal (the same flags, plus --referral-url, --housing-url
             and --reporting-url)
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "operator":
		err = execOperator(os.Args[2:])
	case "import":
		err = importcmd.Run(ctx, os.Args[2:], os.Getenv, os.Stdout, os.Stderr)
	case "referral":
		err = referral.Run(ctx, os.Args[2:], os.Getenv, app.Options{Version: version})
	case "housing":
		err = housing.Run(ctx, os.Args[2:], os.Getenv, app.Options{Version: version})
	case "reporting":
		err = reporting.Run(ctx, os.Args[2:], os.Getenv, app.Options{Version: version})
	case "portal":
		err = portal.Run(ctx, os.Args[2:], os.Getenv, app.Options{Version: version})
	case "-h", "--help", "help":
		fmt.Fprint(os.Stdout, usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "homeward: unknown command %q\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "homeward %s: %v\n", os.Args[1], err)
		stop()
		os.Exit(1)
	}
}

// execOperator replaces this process with the homeward-operator binary beside it, keeping the
// process id, so a container or supervisor running `homeward operator` signals the operator itself.
func execOperator(args []string) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the homeward-operator binary: %w", err)
	}
	path := filepath.Join(filepath.Dir(self), "homeward-operator")
	if err := syscall.Exec(path, append([]string{path}, args...), os.Environ()); err != nil {
		return fmt.Errorf("run %s (build it with make build): %w", path, err)
	}
	return nil
}
