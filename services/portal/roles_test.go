package portal

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestEveryRoleOnEveryPage is the role × page table: each role of the partnership signs in and opens
// each page; what it may not see answers 403 with the not-authorised page and no personal data.
func TestEveryRoleOnEveryPage(t *testing.T) {
	e := startEnv(t, "oldham")
	coordinator, cpw := e.person(t, "key.worker@oldham.example", "oldham", "coordinator")
	c := e.browser(t)
	c.signIn(coordinator, cpw)
	sent := c.submit(c.fillReferral(referAnswers("")), "/refer", url.Values{"step": {"send"}})
	record := strings.TrimPrefix(sent.url[:strings.Index(sent.url, "?")], e.url)

	pages := []string{"/", "/referrals", "/my-referrals", "/refer", record, "/actions/overdue", "/audit?reference=" + strings.TrimPrefix(record, "/referrals/"), "/outcomes", "/outcomes.csv", "/units", "/units/calendar", "/units/new", "/placements/over-stays", "/users", "/users/invite", "/closure-days"}
	// A referrer asking for someone else's record is told it does not exist, as the service says:
	// whether a person was referred is itself personal data.
	const ok, no, none = http.StatusOK, http.StatusForbidden, http.StatusNotFound
	for role, want := range map[string][]int{
		"referrer":          {ok, no, ok, ok, none, no, no, no, no, no, no, no, no, no, no, no},
		"coordinator":       {ok, ok, ok, ok, ok, ok, no, ok, ok, ok, ok, ok, ok, no, no, no},
		"housing-officer":   {ok, ok, ok, no, ok, ok, no, ok, ok, ok, ok, ok, ok, no, no, no},
		"manager":           {ok, ok, ok, ok, ok, ok, no, ok, ok, ok, ok, ok, ok, no, no, no},
		"commissioner":      {ok, no, no, no, no, no, no, ok, ok, no, no, no, no, no, no, no},
		"partnership-admin": {ok, no, no, no, no, no, ok, ok, ok, no, no, no, no, ok, ok, ok},
	} {
		t.Run(role, func(t *testing.T) {
			email, pw := e.person(t, role+"@oldham.example", "oldham", role)
			b := e.browser(t)
			if home := b.signIn(email, pw); home.h1() != "Home" {
				t.Fatalf("sign in: %q", home.h1())
			}
			for i, path := range pages {
				got := b.get(path)
				if got.status != want[i] {
					t.Errorf("%s on %s: %d, want %d", role, path, got.status, want[i])
				}
				if got.status != ok && strings.Contains(got.body, "Test Person") {
					t.Errorf("%s on %s: refused, but the page names the person", role, path)
				}
				if role == "partnership-admin" && strings.HasPrefix(path, "/audit") && !strings.Contains(got.body, "key.worker@oldham.example") {
					t.Errorf("the admin's audit trail does not show who created and read the referral:\n%s", got.body)
				}
				if got.status == no && got.h1() != "You are not authorised to see this page" {
					t.Errorf("%s on %s: refused with %q", role, path, got.h1())
				}
			}
		})
	}
}
