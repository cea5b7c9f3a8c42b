package portal

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/homeward-dev/homeward/services/portal/portaltest"
)

var (
	unitLink      = regexp.MustCompile(`/units/([0-9A-Z]{26})\?done=unit-added`)
	placementLink = regexp.MustCompile(`/placements/([0-9A-Z]{26})\?done=booked`)
)

func unitAnswers(line1 string) url.Values {
	return url.Values{"scheme": {"Home from Home"}, "line1": {line1}, "town": {"Oldham"}, "postcode": {"OL1 1AA"},
		"owner": {"First Choice Homes Oldham"}, "type": {"flat"}, "bedrooms": {"1"}, "features": {"level-access-shower", "ground-floor"},
		"weeklyCost": {"203.77"}, "housingBenefit": {"yes"}}
}

// housingJourney: a housing officer adds two units (a refused form first), voids one, finds a unit
// for a referral, books, confirms and records the arrival, sees the calendar change, is shown the
// clash of a double booking, and records the departure ten days later. It returns the ids it made.
func housingJourney(t *testing.T, e *env) (referralID, unitA, unitB, stay string, officer *browser) {
	t.Helper()
	coordinator, cpw := e.person(t, "key.worker@oldham.example", "oldham", "coordinator")
	c := e.browser(t)
	c.signIn(coordinator, cpw)
	sent := c.submit(c.fillReferral(referAnswers("")), "/refer", url.Values{"step": {"send"}})
	referralID = recordLink.FindStringSubmatch(`href="` + strings.TrimPrefix(sent.url[:strings.Index(sent.url, "?")], e.url) + `"`)[1]

	email, pw := e.person(t, "housing.officer@oldham.example", "oldham", "housing-officer")
	b := e.browser(t)
	b.signIn(email, pw)
	if list := b.get("/units"); list.status != 200 || !strings.Contains(list.body, "The partnership has no step-down units yet.") {
		t.Fatalf("units before any: %d", list.status)
	}
	form := b.get("/units/new")
	bad := unitAnswers("Flat 1 Example Court")
	bad.Set("bedrooms", "one")
	bad.Set("postcode", "not a postcode")
	refused := b.submit(form, "/units", bad)
	if refused.status != 422 || !strings.Contains(refused.body, "govuk-error-summary") || !strings.Contains(refused.body, `value="Flat 1 Example Court"`) ||
		!strings.Contains(refused.body, "Enter the number of bedrooms as a whole number") {
		t.Fatalf("a bad unit form: %d, want 422 with the errors and the answers kept:\n%s", refused.status, refused.body)
	}
	bad.Set("bedrooms", "1")
	refused = b.submit(form, "/units", bad)
	if refused.status != 422 || !strings.Contains(refused.body, `href="#postcode"`) {
		t.Fatalf("the service's refusal of the postcode is not shown on the form: %d\n%s", refused.status, refused.body)
	}
	added := b.submit(form, "/units", unitAnswers("Flat 1 Example Court"))
	unitA = unitLink.FindStringSubmatch(added.url)[1]
	if !strings.Contains(added.body, "Unit added.") || !strings.Contains(added.body, "Available") {
		t.Fatalf("after adding a unit: %s", added.url)
	}
	unitB = unitLink.FindStringSubmatch(b.submit(form, "/units", unitAnswers("Flat 2 Example Court")).url)[1]

	// Editing a unit: the form holds its facts; a second edit from the same, now old, form is refused.
	edit := b.get("/units/" + unitA + "/edit")
	if !strings.Contains(edit.body, `value="Flat 1 Example Court"`) || !strings.Contains(edit.body, `value="203.77"`) {
		t.Fatalf("the edit form does not hold the unit's facts:\n%s", edit.body)
	}
	changed := unitAnswers("Flat 1 Example Court")
	changed.Set("weeklyCost", "210.00")
	changed.Set("etag", etagOf(edit))
	if saved := b.submit(edit, "/units/"+unitA, changed); !strings.Contains(saved.body, "Unit details saved.") || !strings.Contains(saved.body, "£210.00") {
		t.Fatalf("saving the unit: %d %s", saved.status, saved.url)
	}
	if stale := b.submit(edit, "/units/"+unitA, changed); stale.status != 409 || stale.h1() != "Someone changed this unit while you were editing" {
		t.Errorf("an edit from an old form: %d %q", stale.status, stale.h1())
	}

	page := b.get("/units/" + unitB)
	voided := b.submit(page, "/units/"+unitB+"/transitions", url.Values{"to": {"void"}, "reason": {"repairs"}, "etag": {etagOf(page)}})
	if !strings.Contains(voided.body, "The unit&#39;s state has changed.") || !strings.Contains(voided.body, ">Void</strong> for 0 days (repairs)") {
		t.Fatalf("voiding a unit: %s\n%s", voided.url, voided.body)
	}
	// The old version of the page is refused, saying someone changed it.
	stale := b.submit(page, "/units/"+unitB+"/transitions", url.Values{"to": {"closed"}, "etag": {etagOf(page)}})
	if stale.status != 409 || stale.h1() != "Someone changed this record while you were working on it" {
		t.Errorf("a change from a stale page: %d %q", stale.status, stale.h1())
	}

	today := e.clock.Now()
	q := url.Values{"referral": {referralID}, "arrival-day": {today.Format("2")}, "arrival-month": {today.Format("1")}, "arrival-year": {today.Format("2006")},
		"expected": {"14"}, "features": {"level-access-shower"}}
	found := b.get("/placements/find?" + q.Encode())
	if found.status != 200 || !strings.Contains(found.body, "1 unit is free from") || !strings.Contains(found.body, "Units not offered, and why") ||
		!strings.Contains(found.body, "Unit "+unitB[len(unitB)-8:]) {
		t.Fatalf("find a unit: %d\n%s", found.status, found.body)
	}
	// Each offered unit's button books with its own Idempotency-Key, so pressing it twice books once.
	if keys := bookingKey.FindAllStringSubmatch(found.body, -1); len(keys) != 1 || !strings.Contains(found.body, `href="/units/`+keys[0][1][strings.LastIndex(keys[0][1], "-")+1:]+`"`) {
		t.Errorf("the offered unit's booking form carries keys %v, want one ending in its unit's id", keys)
	}
	arrival := today.Format("2006-01-02")
	departure := today.AddDate(0, 0, 14).Format("2006-01-02")
	booked := b.submit(found, "/placements", url.Values{"referral": {referralID}, "unit": {unitA}, "arrival": {arrival}, "departure": {departure}})
	stay = placementLink.FindStringSubmatch(booked.url)[1]
	if !strings.Contains(booked.body, "Confirm the booking") || strings.Contains(booked.body, "Record departure") {
		t.Fatalf("a provisional booking offers the wrong moves:\n%s", booked.body)
	}
	clash := b.submit(found, "/placements", url.Values{"referral": {referralID}, "unit": {unitA}, "arrival": {arrival}, "departure": {departure}})
	if clash.status != 409 || !strings.Contains(clash.body, "placement "+stay+" holds the unit from") {
		t.Errorf("a double booking: %d, want 409 naming the booking it clashed with:\n%s", clash.status, clash.body)
	}
	for _, to := range []string{"confirmed", "arrived"} {
		page := b.get("/placements/" + stay)
		booked = b.submit(page, "/placements/"+stay+"/transitions", url.Values{"to": {to}, "etag": {etagOf(page)}})
		if !strings.Contains(booked.url, "done="+to) {
			t.Fatalf("moving the stay to %s: %d %s\n%s", to, booked.status, booked.url, booked.body)
		}
	}
	if !strings.Contains(booked.body, "Record the departure today") || !strings.Contains(booked.body, "Extend the stay") || strings.Contains(booked.body, "Confirm the booking") {
		t.Errorf("an arrived stay offers the wrong moves")
	}
	cal := b.get("/units/calendar?month=" + today.Format("2006-01"))
	day := today.Day()
	if cells := calendarRow(cal.body, "Flat 1 Example Court"); len(cells) < day || cells[day-1] != "O" {
		t.Errorf("the calendar does not show unit A occupied on day %d: %v", day, cells)
	}
	if cells := calendarRow(cal.body, "Flat 2 Example Court"); len(cells) < day || cells[day-1] != "V" {
		t.Errorf("the calendar does not show unit B void on day %d: %v", day, cells)
	}

	e.clock.Advance(10 * 24 * time.Hour)
	page = b.get("/placements/" + stay)
	left := b.submit(page, "/placements/"+stay+"/transitions", url.Values{"to": {"departed"}, "destination": {"own-home"},
		"housingBenefit": {"yes"}, "voidReason": {"cleaning"}, "etag": {etagOf(page)}})
	if !strings.Contains(left.body, "Departure recorded.") || !strings.Contains(left.body, "Own home") {
		t.Fatalf("recording the departure: %s\n%s", left.url, left.body)
	}
	if unit := b.get("/units/" + unitA); !strings.Contains(unit.body, ">Void</strong> for 0 days (cleaning)") || !strings.Contains(unit.body, "Stay from") {
		t.Errorf("unit A after the departure:\n%s", unit.body)
	}
	for _, path := range []string{"/placements/over-stays", "/placements/housing-benefit"} {
		if got := b.get(path); got.status != 200 {
			t.Errorf("%s: %d", path, got.status)
		}
	}
	return referralID, unitA, unitB, stay, b
}

var calendarCell = regexp.MustCompile(`<td class="govuk-table__cell hw-cal-day[^"]*">([^<]*)(?:<span[^>]*>[a-z ]+</span>)?</td>`)

// calendarRow is the letters of the calendar's row for the unit named.
func calendarRow(body, unit string) []string {
	start := strings.Index(body, ">"+unit+"</a>")
	if start < 0 {
		return nil
	}
	row := body[start:]
	row = row[:strings.Index(row, "</tr>")]
	var out []string
	for _, m := range calendarCell.FindAllStringSubmatch(row, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestHousingOfficerJourney(t *testing.T) {
	e := startEnv(t, "oldham")
	housingJourney(t, e)
}

// TestHousingInABrowser checks every housing page with axe in Chromium after the journey.
func TestHousingInABrowser(t *testing.T) {
	e := startEnv(t, "oldham")
	referralID, unitA, _, stay, officer := housingJourney(t, e)
	opened := officer.submit(officer.get("/referrals/"+referralID+"?tab=summary"), "/rehousing", url.Values{"referral": {referralID}})
	rehousingCase := strings.TrimPrefix(opened.url[:strings.Index(opened.url, "?")], e.url)
	ctx := portaltest.Start(t)
	portaltest.Open(t, ctx, e.url+"/login", "Sign in")
	portaltest.Do(t, ctx, chromedp.SendKeys(chromedp.CSS("#field-identifier"), "housing.officer@oldham.example"),
		chromedp.SendKeys(chromedp.CSS("#field-password"), "correct horse battery staple housing.officer@oldham.example"))
	portaltest.Follow(t, ctx, "button[value=password]", "Home")
	today := e.clock.Now()
	for _, pg := range []struct{ path, h1, shot string }{
		{"/units", "Units", "units"},
		{"/units/new", "Add a unit", ""},
		{"/units/" + unitA, "Flat 1 Example Court", "unit"},
		{"/placements/" + stay, "Stay", ""},
		{"/units/calendar?month=" + today.AddDate(0, 0, -10).Format("2006-01"), "Occupancy calendar", "calendar"},
		{"/placements/find?referral=" + referralID + "&arrival-day=" + today.Format("2") + "&arrival-month=" + today.Format("1") +
			"&arrival-year=" + today.Format("2006") + "&expected=7", "Find a unit", "find-unit"},
		{"/placements/over-stays", "Over-stays", ""},
		{"/placements/housing-benefit", "Housing benefit not yet claimed", ""},
		{"/rehousing", "Rehousing cases", ""},
		{rehousingCase, "Rehousing case", "rehousing"},
	} {
		portaltest.Open(t, ctx, e.url+pg.path, pg.h1)
		if pg.shot != "" {
			portaltest.Screenshot(t, ctx, pg.shot)
		}
	}
	portaltest.Do(t, ctx, chromedp.EmulateViewport(320, 800))
	for _, path := range []string{"/units", "/units/" + unitA, "/units/calendar"} {
		portaltest.Do(t, ctx, chromedp.Navigate(e.url+path), chromedp.WaitReady(chromedp.CSS("body")))
		if wide := portaltest.Width(t, ctx); wide > 320 {
			t.Errorf("%s is %d px wide at a 320 px viewport", path, wide)
		}
	}
}

// TestRehousingCase: a housing officer opens a case from a referral, records a bid, an offer the
// person refuses, another they accept and the move-in; each step is offered only when the case allows
// it, and days to rehoused show beside the waiting-list baseline.
func TestRehousingCase(t *testing.T) {
	e := startEnv(t, "oldham")
	coordinator, cpw := e.person(t, "key.worker@oldham.example", "oldham", "coordinator")
	c := e.browser(t)
	c.signIn(coordinator, cpw)
	sent := c.submit(c.fillReferral(referAnswers("")), "/refer", url.Values{"step": {"send"}})
	record := strings.TrimPrefix(sent.url[:strings.Index(sent.url, "?")], e.url)

	email, pw := e.person(t, "housing.officer@oldham.example", "oldham", "housing-officer")
	b := e.browser(t)
	b.signIn(email, pw)
	summary := b.get(record + "?tab=summary")
	opened := b.submit(summary, "/rehousing", url.Values{"referral": {strings.TrimPrefix(record, "/referrals/")}})
	if !strings.Contains(opened.body, "Rehousing case opened.") || strings.Contains(opened.body, "Record the move-in") || !strings.Contains(opened.body, "Record an offer") {
		t.Fatalf("opening a case: %d %s\n%s", opened.status, opened.url, opened.body)
	}
	caseURL := strings.TrimPrefix(opened.url[:strings.Index(opened.url, "?")], e.url)
	if again := b.submit(summary, "/rehousing", url.Values{"referral": {strings.TrimPrefix(record, "/referrals/")}}); again.status != 409 {
		t.Errorf("a second open case for the referral: %d", again.status)
	}
	today := e.clock.Now()
	dateOf := func(prefix string, d time.Time) url.Values {
		return url.Values{prefix + "-day": {d.Format("2")}, prefix + "-month": {d.Format("1")}, prefix + "-year": {d.Format("2006")}}
	}
	step := func(name string, form url.Values) page {
		page := b.get(caseURL)
		form.Set("etag", etagOf(page))
		got := b.submit(page, caseURL+"/"+name, form)
		if !strings.Contains(got.url, "done="+name) {
			t.Fatalf("%s: %d %s\n%s", name, got.status, got.url, got.body)
		}
		return got
	}
	bid := dateOf("submitted", today)
	bid.Set("landlord", "Oldham Council")
	bid.Set("reference", "OC-1234")
	step("bid", bid)
	offer := dateOf("offered", today)
	offer.Set("landlord", "Oldham Council")
	offer.Set("property", "Flat 3 Example House")
	offered := step("offer", offer)
	if !strings.Contains(offered.body, "Record the answer to the offer") || strings.Contains(offered.body, "Record an offer") {
		t.Errorf("a case with an offer awaiting its answer offers the wrong steps")
	}
	refuse := dateOf("responded", today)
	refuse.Set("decision", "refused")
	refuse.Set("reason", "too far from family")
	page := b.get(caseURL)
	refuse.Set("offer", regexp.MustCompile(`name="offer" value="([^"]+)"`).FindStringSubmatch(page.body)[1])
	step("respond", refuse)
	offer.Set("property", "2 Example Close")
	step("offer", offer)
	accept := dateOf("responded", today)
	accept.Set("decision", "accepted")
	page = b.get(caseURL)
	accept.Set("offer", regexp.MustCompile(`name="offer" value="([^"]+)"`).FindStringSubmatch(page.body)[1])
	accepted := step("respond", accept)
	if !strings.Contains(accepted.body, "Record the move-in") {
		t.Fatalf("an accepted offer does not lead to the move-in")
	}
	moved := step("move-in", dateOf("moved", today))
	if !strings.Contains(moved.body, "against 129 days on the waiting list") || !strings.Contains(moved.body, "too far from family") ||
		strings.Contains(moved.body, "Record a bid") {
		t.Errorf("a rehoused case:\n%s", moved.body)
	}
	if list := b.get("/rehousing?status=rehoused"); !strings.Contains(list.body, "Case ") || !strings.Contains(list.body, "(waiting list 129)") {
		t.Errorf("the rehoused list: %d", list.status)
	}
	if list := b.get("/rehousing?status=applying"); !strings.Contains(list.body, "No rehousing case is applying.") {
		t.Errorf("the applying list is not empty")
	}
}

var bookingKey = regexp.MustCompile(`name="key" value="([^"]+)"`)
