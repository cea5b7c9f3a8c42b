package portal

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/homeward-dev/homeward/services/portal/portaltest"
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

var userLink = regexp.MustCompile(`href="/users/([0-9a-f-]{36})">([^<]*)</a>`)

// userID finds a person's id on the users page by the name it links.
func userID(t *testing.T, page page, name string) string {
	t.Helper()
	for _, m := range userLink.FindAllStringSubmatch(page.body, -1) {
		if m[2] == name {
			return m[1]
		}
	}
	t.Fatalf("no user %q on the page", name)
	return ""
}

// TestPartnershipAdminManagesUsers: invitations are limited to the partnership's domains and need
// a role; roles change with an audit trail; an admin keeps their own admin role and cannot
// deactivate themself; deactivating someone ends their very next request, on the portal and on the
// services behind it.
func TestPartnershipAdminManagesUsers(t *testing.T) {
	e := startEnv(t, "oldham")
	email, pw := e.person(t, "admin@oldham.example", "oldham", "partnership-admin")
	a := e.browser(t)
	a.signIn(email, pw)
	list := a.get("/users")
	if list.status != 200 || !strings.Contains(list.body, "admin@oldham.example") {
		t.Fatalf("users: %d", list.status)
	}
	form := a.get("/users/invite")
	for _, tc := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"email": {"someone@elsewhere.example"}, "name": {"Someone"}, "roles": {"coordinator"}}, "own email domains only: oldham.example"},
		{url.Values{"email": {"not an email"}, "name": {"Someone"}, "roles": {"coordinator"}}, "Enter an email address in the correct format"},
		{url.Values{"email": {"new.worker@oldham.example"}, "name": {"New Worker"}, "roles": {"superuser"}}, "Choose at least one role"},
	} {
		if got := a.submit(form, "/users/invite", tc.form); got.status != 422 || !strings.Contains(got.body, tc.want) {
			t.Errorf("inviting %v: %d, want 422 saying %q", tc.form, got.status, tc.want)
		}
	}
	invited := a.submit(form, "/users/invite", url.Values{"email": {"New.Worker@oldham.example"}, "name": {"New Worker"}, "roles": {"coordinator"}})
	if invited.status != 200 || !strings.Contains(invited.body, "Invitation created") || !strings.Contains(invited.body, e.url+"/recovery?flow=") ||
		invited.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("the invitation: %d\n%s", invited.status, invited.body)
	}
	if again := a.submit(form, "/users/invite", url.Values{"email": {"new.worker@oldham.example"}, "name": {"New Worker"}, "roles": {"coordinator"}}); !strings.Contains(again.body, "can already sign in") {
		t.Errorf("inviting the same email twice: %d", again.status)
	}

	list = a.get("/users")
	worker := userID(t, list, "New Worker")
	self := userID(t, list, "Test admin")
	page := a.get("/users/" + worker)
	changed := a.submit(page, "/users/"+worker+"/roles", url.Values{"roles": {"housing-officer"}})
	if !strings.Contains(changed.body, "Roles saved.") || !strings.Contains(changed.body, "roles changed from coordinator to housing officer") ||
		!strings.Contains(changed.body, "invited with roles coordinator") {
		t.Errorf("changing roles: %s\n%s", changed.url, changed.body)
	}
	if own := a.submit(page, "/users/"+self+"/roles", url.Values{"roles": {"manager"}}); own.status != 409 || !strings.Contains(own.body, "cannot remove your own partnership admin role") {
		t.Errorf("an admin removing their own admin role: %d", own.status)
	}
	if own := a.submit(page, "/users/"+self+"/active", url.Values{"active": {"no"}}); own.status != 409 || !strings.Contains(own.body, "cannot deactivate yourself") {
		t.Errorf("an admin deactivating themself: %d", own.status)
	}

	// Someone signed in is deactivated: their next page sends them to sign in, and their session no
	// longer opens the services either.
	kwEmail, kwPW := e.person(t, "key.worker@oldham.example", "oldham", "coordinator")
	kw := e.browser(t)
	kw.signIn(kwEmail, kwPW)
	if home := kw.get("/referrals"); home.status != 200 {
		t.Fatalf("the key worker's caseload: %d", home.status)
	}
	if code, _ := kw.direct(e.referralURL, "/v1/referrals", "application/json"); code != 200 {
		t.Fatalf("the key worker on the referral service: %d", code)
	}
	list = a.get("/users")
	kwID := userID(t, list, "Test key.worker")
	deactivated := a.submit(a.get("/users/"+kwID), "/users/"+kwID+"/active", url.Values{"active": {"no"}})
	if !strings.Contains(deactivated.body, "deactivated and signed out everywhere") || !strings.Contains(deactivated.body, "Cannot sign in.") {
		t.Fatalf("deactivating: %s", deactivated.url)
	}
	if next := kw.get("/referrals"); !strings.HasSuffix(next.url, "/login") && next.h1() != "Sign in" {
		t.Errorf("the deactivated person's next page: %d %s %q", next.status, next.url, next.h1())
	}
	if code, _ := kw.direct(e.referralURL, "/v1/referrals", "application/json"); code != 401 {
		t.Errorf("the deactivated person on the referral service: %d, want 401", code)
	}
	if again := kw.signIn(kwEmail, kwPW); again.h1() == "Home" {
		t.Error("a deactivated person signed in again")
	}
	reactivated := a.submit(a.get("/users/"+kwID), "/users/"+kwID+"/active", url.Values{"active": {"yes"}})
	if !strings.Contains(reactivated.body, "The person is active again.") {
		t.Errorf("reactivating: %s", reactivated.url)
	}

	// Only the partnership admin manages users; another partnership's identity is not found.
	m := e.browser(t)
	mEmail, mPW := e.person(t, "manager@oldham.example", "oldham", "manager")
	m.signIn(mEmail, mPW)
	if got := m.get("/users"); got.status != 403 {
		t.Errorf("a manager on users: %d", got.status)
	}
	if got := a.get("/users/00000000-0000-0000-0000-000000000000"); got.status != 404 {
		t.Errorf("an unknown identity: %d", got.status)
	}
}

// TestInvitedUserInABrowser: the admin invites a coordinator in Chromium (axe on each page); the
// coordinator opens the link, enters the code, chooses a password and sees only what the role
// allows; the admin deactivates them and their next page asks them to sign in.
func TestInvitedUserInABrowser(t *testing.T) {
	e := startEnv(t, "oldham")
	email, pw := e.person(t, "admin@oldham.example", "oldham", "partnership-admin")
	ctx := portaltest.Start(t)
	signIn := func(email, pw string) {
		portaltest.Open(t, ctx, e.url+"/login", "Sign in")
		portaltest.Do(t, ctx, chromedp.SendKeys(chromedp.CSS("#field-identifier"), email), chromedp.SendKeys(chromedp.CSS("#field-password"), pw))
		portaltest.Follow(t, ctx, "button[value=password]", "Home")
	}
	signIn(email, pw)
	portaltest.Open(t, ctx, e.url+"/users", "Users")
	portaltest.Screenshot(t, ctx, "users")
	portaltest.Open(t, ctx, e.url+"/users/invite", "Invite a user")
	portaltest.Do(t, ctx, chromedp.SendKeys(chromedp.CSS("#email"), "new.worker@oldham.example"), chromedp.SendKeys(chromedp.CSS("#name"), "New Worker"),
		chromedp.Click(chromedp.CSS(`input[value="coordinator"]`)))
	portaltest.Follow(t, ctx, "form[action='/users/invite'] button", "Invitation created")
	link := portaltest.Eval[string](t, ctx, `document.querySelector('#invitation-link').textContent.trim()`)
	code := portaltest.Eval[string](t, ctx, `document.querySelector('#invitation-code').textContent.trim()`)
	portaltest.Open(t, ctx, e.url+"/closure-days", "Closure days")
	portaltest.Follow(t, ctx, ".hw-sign-out button", "You have been signed out")

	portaltest.Open(t, ctx, link, "Set up or recover your account")
	portaltest.Do(t, ctx, chromedp.SendKeys(chromedp.CSS("#field-code"), code))
	portaltest.Follow(t, ctx, "button[value=code]", "Change your password")
	portaltest.Do(t, ctx, chromedp.SendKeys(chromedp.CSS("#field-password"), "a new worker's long passphrase"))
	portaltest.Follow(t, ctx, "button[value=password]", "Change your password")
	portaltest.Open(t, ctx, e.url+"/", "Home")
	nav := portaltest.Eval[string](t, ctx, `document.querySelector('.govuk-service-navigation').textContent`)
	if !strings.Contains(nav, "Caseload") || strings.Contains(nav, "Users") || strings.Contains(nav, "Closure days") {
		t.Errorf("the coordinator's navigation: %q", nav)
	}
	portaltest.Open(t, ctx, e.url+"/users", "You are not authorised to see this page")

	a := e.browser(t)
	a.signIn(email, pw)
	id := userID(t, a.get("/users"), "New Worker")
	if got := a.submit(a.get("/users/"+id), "/users/"+id+"/active", url.Values{"active": {"no"}}); !strings.Contains(got.body, "Cannot sign in.") {
		t.Fatalf("deactivating the new worker: %s", got.url)
	}
	portaltest.Open(t, ctx, e.url+"/referrals", "Sign in")
}

// TestAuditByRecordAndPerson: after a housing officer's day, the partnership admin finds what they
// read and changed across referrals and stays, and the trail of the stay they booked.
func TestAuditByRecordAndPerson(t *testing.T) {
	e := startEnv(t, "oldham")
	referralID, _, _, stay, _ := housingJourney(t, e)
	email, pw := e.person(t, "admin@oldham.example", "oldham", "partnership-admin")
	a := e.browser(t)
	a.signIn(email, pw)
	officer := userID(t, a.get("/users"), "Test housing.officer")
	page := a.get("/audit?actor=" + officer)
	for _, want := range []string{"Stay in a unit " + stay, "Referral " + referralID, "/audit?kind=placement&amp;reference=" + stay, "create", "update"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the housing officer's trail lacks %q", want)
		}
	}
	if strings.Contains(page.body, "Test Person") {
		t.Error("the audit page names the referred person")
	}
	page = a.get("/audit?kind=placement&reference=" + stay)
	if page.status != 200 || !strings.Contains(page.body, "housing.officer@oldham.example") || !strings.Contains(page.body, "create") {
		t.Errorf("the stay's trail: %d", page.status)
	}
	if page := a.get("/audit?kind=placement&reference=not-a-reference"); page.status != 422 {
		t.Errorf("a bad reference: %d", page.status)
	}
	if page := a.get("/audit?actor=" + userID(t, a.get("/users"), "Test admin")); page.status != 200 || !strings.Contains(page.body, "Entries, oldest first") {
		t.Errorf("the admin's own trail: %d", page.status)
	}
}
