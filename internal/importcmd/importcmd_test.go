package importcmd_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/homeward-dev/homeward/internal/binaries"
	"github.com/homeward-dev/homeward/internal/kratosserver"
	"github.com/homeward-dev/homeward/internal/testenv"
	"github.com/homeward-dev/homeward/services/housing"
	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/config"
	"github.com/homeward-dev/homeward/services/kit/servicetest"
	"github.com/homeward-dev/homeward/services/referral"
)

const header = "importKey,receivedAt,name,source,referrerOrganisation,consentToRefer,consentToShare,tenure,needs,priority\n"

// `homeward import` signs the admin in through the tenant's real Kratos and sends each file to the
// real referral service: a clean file is imported and said so, a bad one is refused with every
// problem printed by file, row and column, and the command fails.
func TestHomewardImport(t *testing.T) {
	homeward, err := binaries.Path("homeward")
	if err != nil {
		t.Fatal(err)
	}
	tenant := servicetest.StartTenantWith(t, "oldham", kratosserver.Options{})
	cfg := tenant.Config(t, referral.Name, config.DefaultPolicy())
	_, srv := servicetest.Serve(t, cfg, app.Options{}, func(a *app.Service) { referral.New(a) })
	_, housingSrv := servicetest.Serve(t, tenant.Config(t, housing.Name, config.DefaultPolicy()), app.Options{}, func(a *app.Service) { housing.New(a) })
	if _, err := tenant.Identity.CreateIdentity(context.Background(), testenv.Person{Email: "admin@oldham.example", Name: "Test Admin",
		Password: "correct horse battery staple admin", MetadataPublic: map[string]any{"partnership": "oldham", "roles": []any{"partnership-admin"}}}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, body string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	pw := write("password", "correct horse battery staple admin\n")
	good := write("oldham-2026.csv", header+"k1,2026-09-01,Imported One,ward,Royal Oldham Hospital,yes,yes,owner-occupier,repairs,urgent\n")
	bad := write("bad.csv", header+"k2,2026-09-01,Imported Two,bus,Royal Oldham Hospital,yes,yes,owner-occupier,repairs,urgent\n")
	run := func(files ...string) (string, string, error) {
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(homeward, append([]string{"import", "--referral-url", srv.URL, "--kratos-public-url", cfg.KratosPublicURL,
			"--email", "admin@oldham.example", "--password-file", pw}, files...)...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	out, errOut, err := run(good)
	if err != nil || !strings.HasPrefix(out, "oldham-2026.csv: 1 rows, 1 imported, 0 unchanged (sha256 ") {
		t.Fatalf("import a clean file: %v\n%s%s", err, out, errOut)
	}
	if out, _, err = run(good); err != nil || !strings.Contains(out, "0 imported, 1 unchanged") {
		t.Errorf("import it again: %v %s", err, out)
	}
	_, errOut, err = run(bad)
	if err == nil || !strings.Contains(errOut, "bad.csv:2:source: must be one of") || !strings.Contains(errOut, "nothing was imported") {
		t.Errorf("import a bad file: %v\n%s", err, errOut)
	}
	// Units go to the housing-options service, named by its own flag.
	units := write("units.csv", "importKey,scheme,line1,town,postcode,ownerOrganisation,type,bedrooms,weeklyCost,housingBenefitEligible,createdOn\n"+
		"u1,Home from Home,Flat 1 Example Court,Oldham,OL1 1AA,Oldham Council,flat,1,203.77,yes,2024-04-01\n")
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(homeward, "import", "--layout", "units", "--housing-url", housingSrv.URL, "--kratos-public-url", cfg.KratosPublicURL,
		"--email", "admin@oldham.example", "--password-file", pw, units)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || !strings.HasPrefix(stdout.String(), "units.csv: 1 rows, 1 imported") {
		t.Errorf("import units: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	cmd = exec.Command(homeward, "import", "--layout", "units", "--referral-url", srv.URL, "--kratos-public-url", cfg.KratosPublicURL,
		"--email", "admin@oldham.example", "--password-file", pw, units)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err == nil || !strings.Contains(stderr.String(), "--housing-url is required") {
		t.Errorf("units without the housing URL: %v\n%s", err, stderr.String())
	}
}
