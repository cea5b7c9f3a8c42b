package portal

import (
	"net/url"
	"strings"
	"testing"
)

// TestClosureDays: a partnership admin adds a closure day (a date that is not one first), sees it
// beside the bank holidays, and removes it; nobody else may.
func TestClosureDays(t *testing.T) {
	e := startEnv(t, "oldham")
	email, pw := e.person(t, "admin@oldham.example", "oldham", "partnership-admin")
	b := e.browser(t)
	b.signIn(email, pw)
	page := b.get("/closure-days")
	if page.status != 200 || !strings.Contains(page.body, "None declared.") || !strings.Contains(page.body, "Christmas Day") {
		t.Fatalf("closure days: %d\n%s", page.status, page.body)
	}
	bad := b.submit(page, "/closure-days", url.Values{"day-day": {"31"}, "day-month": {"11"}, "day-year": {"2026"}})
	if bad.status != 422 || !strings.Contains(bad.body, "Enter the closure day as day, month and year") || !strings.Contains(bad.body, `value="31"`) {
		t.Errorf("a day that does not exist: %d", bad.status)
	}
	added := b.submit(page, "/closure-days", url.Values{"day-day": {"29"}, "day-month": {"12"}, "day-year": {"2026"}})
	if !strings.Contains(added.body, "Closure day added.") || !strings.Contains(added.body, "29 December 2026 (Tuesday)") {
		t.Fatalf("adding a day: %d %s", added.status, added.url)
	}
	removed := b.submit(added, "/closure-days", url.Values{"remove": {"2026-12-29"}})
	if !strings.Contains(removed.body, "Closure day removed.") || strings.Contains(removed.body, "29 December 2026 (Tuesday)") {
		t.Errorf("removing the day: %d %s", removed.status, removed.url)
	}
	email, pw = e.person(t, "manager@oldham.example", "oldham", "manager")
	m := e.browser(t)
	m.signIn(email, pw)
	if got := m.get("/closure-days"); got.status != 403 {
		t.Errorf("a manager on closure days: %d", got.status)
	}
}
