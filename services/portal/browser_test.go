package portal

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	kratos "github.com/ory/kratos-client-go"

	"github.com/homeward-dev/homeward/internal/kratosserver"
	"github.com/homeward-dev/homeward/services/portal/portaltest"
)

// invite creates an identity with no password and an invitation (recovery) link and code, as the
// operator does for a partnership's admins.
func (e *env) invite(t *testing.T, email string, roles ...string) (link, code string) {
	t.Helper()
	ctx := context.Background()
	api := e.tenant.Identity.Admin
	body := kratos.NewCreateIdentityBody(kratosserver.SchemaID, map[string]any{"email": email, "name": "Test Admin"})
	body.MetadataPublic = map[string]any{"partnership": "oldham", "roles": roles}
	created, _, err := api.IdentityAPI.CreateIdentity(ctx).CreateIdentityBody(*body).Execute()
	if err != nil {
		t.Fatal(err)
	}
	rc, _, err := api.IdentityAPI.CreateRecoveryCodeForIdentity(ctx).
		CreateRecoveryCodeForIdentityBody(kratos.CreateRecoveryCodeForIdentityBody{IdentityId: created.Id}).Execute()
	if err != nil {
		t.Fatal(err)
	}
	return rc.RecoveryLink, rc.RecoveryCode
}

// TestPortalInABrowser walks the main journeys in real Chromium, checking every page with axe-core:
// accept an invitation and set a password, sign out and in, refer a person (a wrong NHS number
// first), find them on the board, open the record; then the board without JavaScript, at 320 px
// and in print.
func TestPortalInABrowser(t *testing.T) {
	e := startEnv(t, "oldham")
	ctx := portaltest.Start(t)
	link, code := e.invite(t, "manager@oldham.example", "manager", "partnership-admin")
	const password = "a long and memorable test passphrase"

	if !strings.HasPrefix(link, e.url+"/") {
		t.Fatalf("the invitation link %s does not point at the portal %s", link, e.url)
	}
	portaltest.Open(t, ctx, link, "Set up or recover your account")
	portaltest.Do(t, ctx, chromedp.SendKeys(chromedp.CSS("#field-code"), code))
	portaltest.Follow(t, ctx, "button[value=code]", "Change your password")
	portaltest.Do(t, ctx, chromedp.SendKeys(chromedp.CSS("#field-password"), password))
	portaltest.Follow(t, ctx, "button[value=password]", "Change your password")
	if saved := portaltest.WaitText(t, ctx, "saved", "There is a problem"); !strings.Contains(saved, "saved") {
		t.Fatalf("setting the password:\n%s", saved)
	}
	portaltest.Open(t, ctx, e.url+"/", "Home")

	// Sign out; the back button then shows nothing of the last page.
	portaltest.Follow(t, ctx, ".hw-sign-out button", "You have been signed out")
	portaltest.Screenshot(t, ctx, "signed-out")
	portaltest.Do(t, ctx, chromedp.NavigateBack())
	portaltest.Expect(t, ctx, "Sign in")

	portaltest.Do(t, ctx, chromedp.SendKeys(chromedp.CSS("#field-identifier"), "manager@oldham.example"),
		chromedp.SendKeys(chromedp.CSS("#field-password"), password))
	portaltest.Screenshot(t, ctx, "sign-in")
	portaltest.Follow(t, ctx, "button[value=password]", "Home")
	portaltest.Screenshot(t, ctx, "home")

	portaltest.Open(t, ctx, e.url+"/refer", "Refer a person")
	portaltest.Screenshot(t, ctx, "refer")
	fill := func(sel, v string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.querySelector('`+sel+`').value = '') === ''`))
			return err
		}), chromedp.SendKeys(chromedp.CSS(sel), v))
	}
	click := func(sel string) chromedp.Action[chromedp.Void] { return chromedp.Click(chromedp.CSS(sel)) }
	for _, task := range []struct {
		slug, title string
		steps       []chromedp.Action[chromedp.Void]
	}{
		{"person", "Person's details", []chromedp.Action[chromedp.Void]{fill("#name", "Test Person"), fill("#nhs-number", "999 000 0019"),
			fill("#dob-day", "27"), fill("#dob-month", "3"), fill("#dob-year", "1950")}},
		{"consent", "Consent", []chromedp.Action[chromedp.Void]{click("#consent-refer"), click("#consent-share")}},
		{"referrer", "Where they are and who refers them", []chromedp.Action[chromedp.Void]{click("#source"), fill("#organisation", "Royal Oldham Hospital")}},
		{"housing", "Housing", []chromedp.Action[chromedp.Void]{click("#tenure-2"), click("#needs-2")}},
		{"hospital", "Hospital stay and priority", []chromedp.Action[chromedp.Void]{click("#priority-2")}},
	} {
		portaltest.Follow(t, ctx, `a[href="/refer/`+task.slug+`"]`, task.title)
		portaltest.Do(t, ctx, task.steps...)
		if task.slug == "person" {
			if said := portaltest.WaitText(t, ctx, "This is not a valid NHS number"); !strings.Contains(said, "check the 10 digits") {
				t.Errorf("the NHS number was not checked as it was typed")
			}
			portaltest.Screenshot(t, ctx, "refer-person")
		}
		portaltest.Follow(t, ctx, "button[value=continue]", "Refer a person")
	}
	portaltest.Follow(t, ctx, `a[href="/refer?step=check"]`, "Check your answers before sending the referral")
	portaltest.Follow(t, ctx, "button[value=send]", "Check your answers before sending the referral")
	portaltest.WaitText(t, ctx, "There is a problem")
	portaltest.Settle(ctx)
	if focused := portaltest.Eval[bool](t, ctx, `document.activeElement.closest('.govuk-error-summary') !== null`); !focused {
		t.Errorf("focus did not move to the error summary")
	}
	portaltest.Follow(t, ctx, `.govuk-error-summary a[href="/refer/person#nhs-number"]`, "Person's details")
	portaltest.Do(t, ctx, fill("#nhs-number", "999 000 0018"))
	portaltest.Follow(t, ctx, "button[value=continue]", "Refer a person")
	portaltest.Follow(t, ctx, `a[href="/refer?step=check"]`, "Check your answers before sending the referral")
	portaltest.Follow(t, ctx, "button[value=send]", "Referral sent")
	portaltest.Screenshot(t, ctx, "referral-sent")

	portaltest.Open(t, ctx, e.url+"/referrals?priority=urgent", "Caseload")
	portaltest.Screenshot(t, ctx, "caseload")
	portaltest.Follow(t, ctx, "tbody a", "Referral")
	// Shown, not merely present: MoJ's identity bar sets font-size 0 on its container, so text outside
	// its title is invisible.
	if nhs := portaltest.Eval[string](t, ctx, `(e => getComputedStyle(e).fontSize !== '0px' && e.getBoundingClientRect().height > 0 ? e.textContent : 'hidden')(document.querySelector('.hw-nhs-number'))`); nhs != "NHS number 999 000 0018" {
		t.Errorf("identity bar shows %q", nhs)
	}
	portaltest.Screenshot(t, ctx, "referral")
	record := recordID(t, ctx)
	for _, tab := range recordTabs {
		portaltest.Open(t, ctx, e.url+"/referrals/"+record+"?tab="+tab, "Referral")
	}
	if title := portaltest.Eval[string](t, ctx, `document.title`); strings.Contains(title, "Test Person") {
		t.Errorf("personal data in the page title %q", title)
	}

	portaltest.Open(t, ctx, e.url+"/actions/overdue", "Actions overdue")
	portaltest.Open(t, ctx, e.url+"/follow-ups/due", "Follow-ups due this week")
	portaltest.Open(t, ctx, e.url+"/audit?reference="+record, "Audit trail")
	if rows := portaltest.Eval[int](t, ctx, `document.querySelectorAll('tbody tr').length`); rows < 2 {
		t.Errorf("the audit trail shows %d entries, want the creation and the reads", rows)
	}
	for _, static := range [][2]string{{"/accessibility", "Accessibility statement"}, {"/privacy", "Privacy notice"}, {"/cookies", "Cookies"}} {
		portaltest.Open(t, ctx, e.url+static[0], static[1])
	}

	// No horizontal scroll at 320 px wide on the main pages.
	portaltest.Do(t, ctx, chromedp.EmulateViewport(320, 800))
	for _, path := range []string{"/", "/referrals", "/refer", "/actions/overdue", "/follow-ups/due", "/referrals/" + record} {
		portaltest.Do(t, ctx, chromedp.Navigate(e.url+path), chromedp.WaitReady(chromedp.CSS("body")))
		if wide := portaltest.Width(t, ctx); wide > 320 {
			t.Errorf("%s is %d px wide at a 320 px viewport", path, wide)
		}
	}
	portaltest.Do(t, ctx, chromedp.EmulateViewport(1280, 900))

	// Printing the board hides navigation and states the filters.
	portaltest.Open(t, ctx, e.url+"/referrals?priority=urgent", "Caseload")
	portaltest.Media(t, ctx, "print")
	if nav := portaltest.Eval[string](t, ctx, `getComputedStyle(document.querySelector('.govuk-service-navigation')).display`); nav != "none" {
		t.Errorf("navigation prints (display %q)", nav)
	}
	if shown := portaltest.Eval[string](t, ctx, `getComputedStyle(document.querySelector('.hw-print-only')).display`); shown == "none" {
		t.Errorf("the printed board does not state its filters")
	}
	portaltest.Media(t, ctx, "")

	// Without JavaScript the filters still work: a GET form with an Apply button. axe-core needs
	// scripts, so it runs on the page as served with them switched back on for the check alone.
	portaltest.WithoutJavaScript(t, ctx, true)
	portaltest.Do(t, ctx, chromedp.Navigate(e.url+"/referrals"), chromedp.WaitReady(chromedp.CSS("body")))
	portaltest.ExpectHeading(t, ctx, "Caseload")
	if enhanced := portaltest.Eval[bool](t, ctx, `document.body.classList.contains('js-enabled')`); enhanced {
		t.Errorf("scripts ran although switched off")
	}
	portaltest.WithoutJavaScript(t, ctx, false)
	portaltest.Axe(t, ctx, "caseload without JavaScript")
	portaltest.WithoutJavaScript(t, ctx, true)
	portaltest.Do(t, ctx, chromedp.SetValue(chromedp.CSS("#priority"), "emergency"), chromedp.Click(chromedp.CSS(".hw-filters button")))
	portaltest.WaitText(t, ctx, "No referrals match these filters.")
	if loc := portaltest.Eval[string](t, ctx, `location.search`); !strings.Contains(loc, "priority=emergency") {
		t.Errorf("the filter form without JavaScript went to %q", loc)
	}
	portaltest.WithoutJavaScript(t, ctx, false)
}

// recordID is the id of the record open in the browser.
func recordID(t *testing.T, ctx context.Context) string {
	t.Helper()
	path := portaltest.Eval[string](t, ctx, `location.pathname`)
	return strings.TrimPrefix(path, "/referrals/")
}
