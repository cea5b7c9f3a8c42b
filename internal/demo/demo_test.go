package demo_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/homeward-dev/homeward/internal/demo"
	"github.com/homeward-dev/homeward/services/housing"
	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/config"
	"github.com/homeward-dev/homeward/services/kit/nhsnumber"
	"github.com/homeward-dev/homeward/services/kit/servicetest"
	"github.com/homeward-dev/homeward/services/referral"
)

var today = calendar.Date{Year: 2026, Month: 11, Day: 30}

func records(t *testing.T, f demo.File) []map[string]string {
	t.Helper()
	rows, err := csv.NewReader(bytes.NewReader(f.Data)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]map[string]string, 0, len(rows)-1)
	for _, row := range rows[1:] {
		m := map[string]string{}
		for i, col := range rows[0] {
			m[col] = row[i]
		}
		out = append(out, m)
	}
	return out
}

func file(t *testing.T, files []demo.File, layout string) []map[string]string {
	t.Helper()
	for _, f := range files {
		if f.Layout == layout {
			return records(t, f)
		}
	}
	return nil
}

func median(xs []int) int {
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// The files are the same for the same day, invent their people, and have the seeds' shapes.
func TestTheDemoHistoryHasTheSchemesShapes(t *testing.T) {
	for name, p := range demo.Profiles() {
		files, err := demo.Generate(p, today)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := demo.Generate(p, today)
		if !slices.EqualFunc(files, again, func(a, b demo.File) bool { return a.Name == b.Name && bytes.Equal(a.Data, b.Data) }) {
			t.Errorf("%s: two runs on the same day differ", name)
		}
		refs := file(t, files, "referrals")
		if len(refs) < 12*p.ReferralsPerMonth {
			t.Errorf("%s: %d referrals, want at least %d", name, len(refs), 12*p.ReferralsPerMonth)
		}
		for _, r := range refs {
			n, err := nhsnumber.Normalize(r["nhsNumber"])
			if err != nil || !strings.HasPrefix(n, "999") {
				t.Errorf("%s %s: NHS number %q is not a valid one of the never-issued 999 range", name, r["importKey"], r["nhsNumber"])
			}
		}
	}
	files, _ := demo.Generate(demo.Profiles()["kirklees"], today)
	if units := file(t, files, "units"); len(units) != 7 {
		t.Errorf("Kirklees has %d units, want its seven flats", len(units))
	}
	var stays []int
	for _, s := range file(t, files, "placements") {
		if s["departedOn"] != "" {
			a, _ := calendar.ParseDate(s["arrival"])
			d, _ := calendar.ParseDate(s["departedOn"])
			stays = append(stays, a.DaysUntil(d))
		}
	}
	if m := median(stays); m < 49 || m > 63 {
		t.Errorf("Kirklees' median stay is %d nights, want about eight weeks", m)
	}

	files, _ = demo.Generate(demo.Profiles()["nottingham"], today)
	received := map[string]calendar.Date{}
	for _, r := range file(t, files, "referrals") {
		received[r["importKey"]], _ = calendar.ParseDate(r["receivedAt"][:10])
	}
	var rehoused []int
	for _, c := range file(t, files, "rehousing-cases") {
		if c["moveInOn"] != "" {
			m, _ := calendar.ParseDate(c["moveInOn"])
			rehoused = append(rehoused, received[c["referral"]].DaysUntil(m))
		}
	}
	if m := median(rehoused); len(rehoused) < 50 || m < 28 || m > 38 {
		t.Errorf("Nottingham: %d people rehoused in a median %d days, want dozens in about 33", len(rehoused), m)
	}

	files, _ = demo.Generate(demo.Profiles()["oldham"], today)
	tenures := map[string]int{}
	refs := file(t, files, "referrals")
	for _, r := range refs {
		tenures[r["tenure"]]++
	}
	if social := tenures["social-rented"] * 100 / len(refs); social < 45 || social > 67 {
		t.Errorf("Oldham: %d %% social tenants, want about 56 %%", social)
	}
}

// Every partnership's files import in full through the real services, and a second run changes nothing.
func TestTheDemoHistoryImports(t *testing.T) {
	for name, p := range demo.Profiles() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tenant := servicetest.StartTenant(t, name)
			_, refSrv := servicetest.Serve(t, tenant.Config(t, referral.Name, config.DefaultPolicy()), app.Options{}, func(a *app.Service) { referral.New(a) })
			_, homeSrv := servicetest.Serve(t, tenant.Config(t, housing.Name, config.DefaultPolicy()), app.Options{}, func(a *app.Service) { housing.New(a) })
			admin := tenant.Person(t, refSrv.URL, "admin@"+name+".example", name, "partnership-admin")
			files, err := demo.Generate(p, calendar.DateOf(time.Now()))
			if err != nil {
				t.Fatal(err)
			}
			for _, run := range []string{"first", "second"} {
				for _, f := range files {
					c := admin.As(t)
					if f.Layout != "referrals" {
						c.Base = homeSrv.URL
					}
					var out struct{ Rows, Imported, Unchanged int }
					c.Must(http.StatusOK, "POST", "/v1/imports?layout="+f.Layout, string(f.Data), "Content-Type", "text/csv", "X-Import-File", f.Name).JSON(t, &out)
					want := out.Rows
					if run == "first" && (out.Imported != want || out.Unchanged != 0) || run == "second" && (out.Unchanged != want || out.Imported != 0) {
						t.Errorf("%s run of %s: %+v", run, f.Name, out)
					}
				}
			}
		})
	}
}
