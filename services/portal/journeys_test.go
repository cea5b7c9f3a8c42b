package portal

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/servicetest"
)

func referAnswers(nhs string) url.Values {
	return url.Values{
		"name": {"Test Person"}, "nhs-number": {nhs}, "dob-day": {"27"}, "dob-month": {"3"}, "dob-year": {"1950"},
		"address": {"1 Test Street, Oldham"}, "postcode": {"OL1 1AA"}, "phone": {"01610000000"},
		"consent-refer": {"yes"}, "consent-share": {"yes"}, "source": {"ward"}, "organisation": {"Royal Oldham Hospital"},
		"ward": {"Ward 4"}, "tenure": {"social-rented"}, "needs": {"repairs", "adaptations"}, "priority": {"urgent"},
		"admission-day": {"20"}, "admission-month": {"10"}, "admission-year": {"2026"},
	}
}

// fillReferral answers every section of the referral journey, each on its own page, and returns the
// check-your-answers page.
func (b *browser) fillReferral(answers url.Values) page {
	b.t.Helper()
	for _, s := range sections {
		form := b.get("/refer/" + s.Slug)
		if form.h1() != s.Title {
			b.t.Fatalf("section %s: %d %q", s.Slug, form.status, form.h1())
		}
		if tasks := b.submit(form, "/refer/"+s.Slug, answers); tasks.h1() != "Refer a person" {
			b.t.Fatalf("saving %s: %d %q\n%s", s.Slug, tasks.status, tasks.h1(), tasks.body)
		}
	}
	return b.get("/refer?step=check")
}

func (b *browser) submit(p page, action string, form url.Values) page {
	b.t.Helper()
	form.Set("csrf", p.csrf())
	return b.post(action, form)
}

var etagField = regexp.MustCompile(`name="etag" value="([^"]+)"`)

func etagOf(p page) string {
	m := etagField.FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

var recordLink = regexp.MustCompile(`href="/referrals/([0-9A-Z]{26})"`)

func TestReferAPersonJourney(t *testing.T) {
	e := startEnv(t, "oldham")
	referrer, pw := e.person(t, "ward.nurse@oldham.example", "oldham", "referrer")
	b := e.browser(t)
	b.signIn(referrer, pw)

	tasks := b.get("/refer")
	if tasks.h1() != "Refer a person" || !strings.Contains(tasks.body, "Not yet started") {
		t.Fatalf("refer page: %d %q", tasks.status, tasks.h1())
	}
	// A wrong NHS number (fails the Modulus 11 check) reaches the check page, and the service's
	// refusal comes back as an error summary linking to the field on its section's page.
	checkPage := b.fillReferral(referAnswers("999 000 0019"))
	if checkPage.h1() != "Check your answers before sending the referral" {
		t.Fatalf("after the sections: %d %q\n%s", checkPage.status, checkPage.h1(), checkPage.body)
	}
	if !strings.Contains(checkPage.body, "999 000 0019") {
		t.Errorf("check page does not show the NHS number as 3 3 4")
	}
	if done := b.get("/refer"); strings.Count(done.body, ">Completed<") != len(sections) {
		t.Errorf("the task list does not show every section completed:\n%s", done.body)
	}
	refused := b.submit(checkPage, "/refer", url.Values{"step": {"send"}})
	if refused.status != http.StatusUnprocessableEntity || !strings.Contains(refused.body, `govuk-error-summary`) ||
		!strings.Contains(refused.body, `href="/refer/person#nhs-number"`) {
		t.Fatalf("a wrong NHS number: %d, want 422 with an error summary linking to the field\n%s", refused.status, refused.body)
	}
	if !strings.Contains(refused.body, "Royal Oldham Hospital") || !strings.Contains(refused.body, `<title>Error: `) {
		t.Errorf("the other answers were not kept, or the title does not start with Error:")
	}
	// Corrected, it is sent; the confirmation shows the reference and the response deadline.
	person := b.get("/refer/person")
	b.submit(person, "/refer/person", referAnswers("999 000 0018"))
	checkPage = b.get("/refer?step=check")
	sent := b.submit(checkPage, "/refer", url.Values{"step": {"send"}})
	if !strings.Contains(sent.body, "Referral sent") || !strings.Contains(sent.body, "The partnership will respond by") {
		t.Fatalf("after sending: %d %q\n%s", sent.status, sent.h1(), sent.body)
	}
	if strings.Contains(sent.url, "Test") || strings.Contains(sent.url, "999") {
		t.Errorf("personal data in the URL %s", sent.url)
	}
	// Sending again (a double click, a back button) finds no draft: the empty form is refused and
	// nothing more is referred.
	if again := b.post("/refer", url.Values{"step": {"send"}, "csrf": {sent.csrf()}}); again.status != http.StatusUnprocessableEntity {
		t.Errorf("a second send after success: %d, want 422 for an empty form", again.status)
	}

	mine := b.get("/my-referrals")
	if got := len(recordLink.FindAllStringSubmatch(mine.body, -1)); got != 1 || !strings.Contains(mine.body, "Test Person") {
		t.Errorf("my referrals lists %d, want the one sent:\n%s", got, mine.body)
	}
	if board := b.get("/referrals"); board.status != http.StatusForbidden || board.h1() != "You are not authorised to see this page" {
		t.Errorf("a referrer on the caseload board: %d %q", board.status, board.h1())
	}
}

func TestCoordinatorWorksAReferral(t *testing.T) {
	e := startEnv(t, "oldham")
	referrer, rpw := e.person(t, "ward.nurse@oldham.example", "oldham", "referrer")
	coordinator, cpw := e.person(t, "key.worker@oldham.example", "oldham", "coordinator")
	nurse := e.browser(t)
	nurse.signIn(referrer, rpw)
	check := nurse.fillReferral(referAnswers(""))
	nurse.submit(check, "/refer", url.Values{"step": {"send"}})

	b := e.browser(t)
	b.signIn(coordinator, cpw)
	board := b.get("/referrals?priority=urgent&need=repairs")
	ids := recordLink.FindAllStringSubmatch(board.body, -1)
	if len(ids) != 1 {
		t.Fatalf("board with filters lists %d referrals, want 1:\n%s", len(ids), board.body)
	}
	all := b.get("/referrals")
	if !strings.Contains(all.body, `aria-current="page" href="/referrals">all <span class="hw-count">(1<span class="govuk-visually-hidden"> referrals</span>)`) ||
		!strings.Contains(all.body, `received <span class="hw-count">(1<`) || !strings.Contains(all.body, `triaged <span class="hw-count">(0<`) {
		t.Errorf("the caseload's status tabs do not count the one received referral:\n%s", all.body)
	}
	if none := b.get("/referrals?priority=emergency"); recordLink.MatchString(none.body) {
		t.Errorf("the emergency filter still lists the urgent referral")
	}
	record := "/referrals/" + ids[0][1]
	rec := b.get(record)
	etag := etagOf(rec)

	if mine := b.get("/referrals?mine=true"); recordLink.MatchString(mine.body) {
		t.Errorf("my cases list a referral with no key worker")
	}
	// Every change is POST → redirect → banner.
	assigned := b.submit(rec, record+"/key-worker", url.Values{"etag": {etag}})
	if !strings.Contains(assigned.body, "You are now the key worker.") || !strings.Contains(assigned.body, "Test key.worker") {
		t.Fatalf("assign: %d\n%s", assigned.status, assigned.body)
	}
	if mine := b.get("/referrals?mine=true"); len(recordLink.FindAllStringSubmatch(mine.body, -1)) != 1 {
		t.Errorf("the key worker's own cases do not list the referral just assigned")
	}
	// A form read before someone else's change is refused plainly, and nothing is saved.
	stale := b.submit(assigned, record+"/first-contact", url.Values{"etag": {etag}})
	if stale.status != http.StatusConflict || !strings.Contains(stale.body, "Someone changed this record") {
		t.Errorf("a stale form: %d %q", stale.status, stale.h1())
	}
	rec = b.get(record)
	etag = etagOf(rec)
	contacted := b.submit(rec, record+"/first-contact", url.Values{"etag": {etag}})
	if !strings.Contains(contacted.body, "First contact recorded.") {
		t.Fatalf("first contact: %d\n%s", contacted.status, contacted.body)
	}
	actions := b.get(record + "?tab=actions")
	etag = etagOf(actions)
	done := b.submit(actions, record+"/actions", url.Values{"etag": {etag}, "type": {"minor-repair"}, "owner": {"Oldham Council"}, "urgency": {"emergency"}})
	if !strings.Contains(done.body, "Action commissioned.") {
		t.Fatalf("commission: %d\n%s", done.status, done.body)
	}
	// The service's clock passes the action's 24-hour deadline, across the end of summer time: due at
	// 09:00 BST on 24 October + 24 hours is 08:00 GMT on the 25th, and it shows overdue.
	e.clock.Advance(25 * time.Hour)
	actions = b.get(record + "?tab=actions")
	if !strings.Contains(actions.body, "Overdue") || !strings.Contains(actions.body, "25 October 2026 at 8:00am") {
		t.Errorf("the action is not shown overdue, due 25 October 2026 at 8:00am:\n%s", actions.body)
	}
	if home := b.get("/"); !strings.Contains(home.body, `>1</span> action past their due time`) {
		t.Errorf("home does not count the overdue action:\n%s", home.body)
	}
	worklist := b.get("/actions/overdue")
	if !strings.Contains(worklist.body, "minor repair") || !strings.Contains(worklist.body, "Oldham Council") ||
		!strings.Contains(worklist.body, `<span class="govuk-visually-hidden"> by 1 hour</span>`) {
		t.Errorf("the overdue worklist does not show the action overdue by 1 hour:\n%s", worklist.body)
	}
	// The action is done; the referral moves on through the moves the service offers, to discharge.
	actionID := regexp.MustCompile(`action="/referrals/[0-9A-Z]+/actions/([0-9A-Z]+)"`).FindStringSubmatch(actions.body)
	if actionID == nil {
		t.Fatalf("no form to move the action on:\n%s", actions.body)
	}
	done = b.submit(actions, record+"/actions/"+actionID[1], url.Values{"etag": {etagOf(actions)}, "status": {"done"}})
	if !strings.Contains(done.body, "Action marked done.") {
		t.Fatalf("mark done: %d\n%s", done.status, done.body)
	}
	for _, to := range []string{"triaged", "assessing", "ready-for-discharge"} {
		rec = b.get(record)
		if !strings.Contains(rec.body, `value="`+to+`"`) {
			t.Fatalf("%s is not offered:\n%s", to, rec.body)
		}
		if moved := b.submit(rec, record+"/transitions", url.Values{"etag": {etagOf(rec)}, "to": {to}}); !strings.Contains(moved.body, "The referral has moved on.") {
			t.Fatalf("move to %s: %d\n%s", to, moved.status, moved.body)
		}
	}
	rec = b.get(record)
	if strings.Contains(rec.body, `value="closed"`) {
		t.Errorf("closed is offered from ready for discharge")
	}
	discharged := b.submit(rec, record+"/transitions", url.Values{"etag": {etagOf(rec)}, "to": {"discharged"},
		"discharge-day": {"25"}, "discharge-month": {"10"}, "discharge-year": {"2026"}, "destination": {"own-home"}})
	if !strings.Contains(discharged.body, "The referral has moved on.") {
		t.Fatalf("discharge: %d\n%s", discharged.status, discharged.body)
	}
	outcome := b.get(record + "?tab=outcome")
	if !strings.Contains(outcome.body, "25 October 2026 to own home") || !strings.Contains(outcome.body, "Record 30-day follow-up") {
		t.Fatalf("outcome tab after discharge:\n%s", outcome.body)
	}
	// Four weeks on, the 30-day follow-up (due 24 November) is on this week's worklist and the home page.
	e.clock.Set(time.Date(2026, 11, 20, 9, 0, 0, 0, calendar.London()))
	if due := b.get("/follow-ups/due"); !strings.Contains(due.body, "30 days after discharge") || !strings.Contains(due.body, "24 November 2026") ||
		strings.Contains(due.body, "91 days after discharge") {
		t.Errorf("the follow-ups worklist does not show the 30-day follow-up alone:\n%s", due.body)
	}
	if home := b.get("/"); !strings.Contains(home.body, `>1</span> follow-up due this week`) {
		t.Errorf("home does not count the follow-up due:\n%s", home.body)
	}
	outcome = b.get(record + "?tab=outcome")
	followed := b.submit(outcome, record+"/follow-ups/30", url.Values{"etag": {etagOf(outcome)}, "result": {"at-home"}, "wellbeing": {"52"}})
	if !strings.Contains(followed.body, "Follow-up recorded.") {
		t.Errorf("follow-up: %d\n%s", followed.status, followed.body)
	}
	if outcome = b.get(record + "?tab=outcome"); !strings.Contains(outcome.body, "at home; wellbeing score 52") {
		t.Errorf("the follow-up is not shown:\n%s", outcome.body)
	}
	if due := b.get("/follow-ups/due"); strings.Contains(due.body, "30 days after discharge") {
		t.Errorf("a recorded follow-up is still on the worklist")
	}

	// Without the session's token a change is refused.
	forged := b.post(record+"/notes", url.Values{"etag": {etag}, "text": {"forged"}})
	if forged.status != http.StatusForbidden {
		t.Errorf("a note without the CSRF token: %d", forged.status)
	}
	// Hostile text is stored and shown as text, never as markup.
	notes := b.get(record + "?tab=notes")
	etag = etagOf(notes)
	hostile := `<script>alert(1)</script><img src=x onerror=alert(2)>`
	shown := b.submit(notes, record+"/notes", url.Values{"etag": {etag}, "text": {hostile}})
	if strings.Contains(shown.body, "<script>alert") || strings.Contains(shown.body, "<img src=x") {
		t.Errorf("a note was echoed unescaped")
	}

	// Sign out ends the session: the record is no longer reachable with the same cookies.
	out := b.submit(b.get("/"), "/sign-out", url.Values{})
	if out.h1() != "You have been signed out" {
		t.Fatalf("sign out: %d %q at %s", out.status, out.h1(), out.url)
	}
	if after := b.get(record); after.h1() != "Sign in" || strings.Contains(after.body, "Test Person") {
		t.Errorf("after signing out the record shows %q", after.h1())
	}
}

func TestNotAuthorised(t *testing.T) {
	e := startEnv(t, "oldham")
	coordinator, cpw := e.person(t, "key.worker@oldham.example", "oldham", "coordinator")
	c := e.browser(t)
	c.signIn(coordinator, cpw)
	check := c.fillReferral(referAnswers(""))
	sent := c.submit(check, "/refer", url.Values{"step": {"send"}})
	record := strings.TrimPrefix(sent.url, e.url)
	record = record[:strings.Index(record, "?")]

	for _, tc := range []struct {
		who, partnership string
		roles            []string
	}{
		{"commissioner@oldham.example", "oldham", []string{"commissioner"}},
		{"coordinator@kirklees.example", "kirklees", []string{"coordinator"}},
		{"nobody@oldham.example", "oldham", nil},
	} {
		email, pw := e.person(t, tc.who, tc.partnership, tc.roles...)
		b := e.browser(t)
		b.signIn(email, pw)
		for _, path := range []string{"/referrals", record, "/refer"} {
			got := b.get(path)
			if got.status != http.StatusForbidden || got.h1() != "You are not authorised to see this page" || strings.Contains(got.body, "Test Person") {
				t.Errorf("%s on %s: %d %q", tc.who, path, got.status, got.h1())
			}
		}
	}
}

func TestFormsRefuseBadInputWithoutLosingAnswers(t *testing.T) {
	e := startEnv(t, "oldham")
	referrer, pw := e.person(t, "ward.nurse@oldham.example", "oldham", "referrer")
	b := e.browser(t)
	b.signIn(referrer, pw)
	person := b.get("/refer/person")
	answers := referAnswers("")
	answers.Set("name", strings.Repeat("x", 1<<20))
	answers.Set("dob-day", "31")
	answers.Set("dob-month", "2")
	got := b.submit(person, "/refer/person", answers)
	if got.status != http.StatusUnprocessableEntity {
		t.Fatalf("1 MB name and 31 February: %d\n%.2000s", got.status, got.body)
	}
	for _, want := range []string{`href="#name"`, "Full name must be 200 characters or fewer", `href="#dob-day"`,
		"Date of birth must be a real date", `value="01610000000"`} {
		if !strings.Contains(got.body, want) {
			t.Errorf("missing %q", want)
		}
	}
	if strings.Contains(got.body, strings.Repeat("x", 201)) {
		t.Errorf("the 1 MB answer was echoed whole")
	}
	answers = referAnswers("")
	answers.Set("organisation", "A & B <Trust>\x00\x07")
	saved := b.submit(b.get("/refer/referrer"), "/refer/referrer", answers)
	if saved.h1() != "Refer a person" {
		t.Fatalf("saving hostile text: %d %q", saved.status, saved.h1())
	}
	if check := b.get("/refer?step=check"); !strings.Contains(check.body, "A &amp; B &lt;Trust&gt;") || strings.Contains(check.body, "<Trust>") {
		t.Errorf("hostile text not shown escaped, control characters kept, or answers lost")
	}
	// The answers survive the session: sign out, sign in, and the draft is still there.
	b.submit(got, "/sign-out", url.Values{})
	b.signIn(referrer, pw)
	if again := b.get("/refer/referrer"); !strings.Contains(again.body, `value="Ward 4"`) {
		t.Errorf("the draft did not survive signing out and in")
	}
	// Saved in Redis sealed: the portal's key holds no readable personal data.
	keys, err := e.tenant.Admin.Keys(t.Context(), "t:{oldham}:portal:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("portal keys %v %v", keys, err)
	}
	raw, _ := e.tenant.Admin.Get(t.Context(), keys[0]).Result()
	ttl, _ := e.tenant.Admin.TTL(t.Context(), keys[0]).Result()
	if strings.Contains(raw, "Ward 4") || ttl <= 0 || ttl > draftTTL {
		t.Errorf("draft stored readable or without its expiry (ttl %s)", ttl)
	}
}

// The board's order and its delay-reason filter are the service's: the portal sends them on, marks
// the sorted column with aria-sort, and keeps the filters in the sort links.
func TestBoardSortsAndFiltersOnTheServer(t *testing.T) {
	e := startEnv(t, "oldham")
	email, pw := e.person(t, "coordinator@oldham.example", "oldham", "coordinator")
	token, err := e.tenant.Identity.Login(context.Background(), email, pw)
	if err != nil {
		t.Fatal(err)
	}
	api := (&servicetest.Client{Base: e.portal.app.Config.ReferralURL, Token: token}).As(t)
	refer := func(name, priority, delay string) string {
		var created struct{ ID string }
		api.Must(http.StatusCreated, "POST", "/v1/referrals", map[string]any{
			"person": map[string]any{"name": name}, "source": "ward", "referrer": map[string]any{"organisation": "Royal Oldham Hospital"},
			"consent": map[string]any{"toRefer": true, "toShare": true}, "tenure": "social-rented", "needs": []string{"repairs"},
			"priority": priority, "delayReason": delay,
		}).JSON(t, &created)
		e.clock.Advance(time.Minute)
		return created.ID
	}
	routine := refer("Routine Person", "routine", "awaiting-transport")
	urgent := refer("Urgent Person", "urgent", "awaiting-medicines")
	emergency := refer("Emergency Person", "emergency", "awaiting-transport")

	b := e.browser(t)
	b.signIn(email, pw)
	order := func(page page) []string {
		var got []string
		for _, m := range recordLink.FindAllStringSubmatch(page.body, -1) {
			got = append(got, m[1])
		}
		return got
	}
	for _, tc := range []struct {
		query, receivedSort, dueSort, caption string
		want                                  []string
	}{
		{"", "descending", "none", "newest first", []string{emergency, urgent, routine}},
		{"?sort=oldest", "ascending", "none", "oldest first", []string{routine, urgent, emergency}},
		// Emergency is due in 24 hours, urgent in four working days, routine in ten.
		{"?sort=due", "none", "ascending", "awaiting first contact, response due soonest first", []string{emergency, urgent, routine}},
		{"?sort=oldest&delayReason=awaiting-transport", "ascending", "none", "oldest first", []string{routine, emergency}},
		{"?sort=sideways", "descending", "none", "newest first", []string{emergency, urgent, routine}},
	} {
		board := b.get("/referrals" + tc.query)
		if got := order(board); !slices.Equal(got, tc.want) {
			t.Errorf("%q lists %v, want %v", tc.query, got, tc.want)
		}
		if !strings.Contains(board.body, `aria-sort="`+tc.receivedSort+`"><a class="govuk-link hw-sort" href="?`) ||
			!strings.Contains(board.body, `aria-sort="`+tc.dueSort+`"><a class="govuk-link hw-sort" href="?`) ||
			!strings.Contains(board.body, "on this page, "+tc.caption+"</caption>") {
			t.Errorf("%q: the headers are not aria-sort %s and %s, or the caption does not say %q:\n%s", tc.query, tc.receivedSort, tc.dueSort, tc.caption, board.body)
		}
	}
	filtered := b.get("/referrals?delayReason=awaiting-transport&cursor=" + emergency)
	if !strings.Contains(filtered.body, `<option value="awaiting-transport" selected>awaiting transport</option>`) ||
		!strings.Contains(filtered.body, `href="?delayReason=awaiting-transport&amp;sort=oldest"`) {
		t.Errorf("the delay reason is not kept in the form and the sort link, or the link keeps the cursor:\n%s", filtered.body)
	}
	// Once contacted, a referral has no response due and leaves that order.
	rec := b.get("/referrals/" + emergency)
	b.submit(rec, "/referrals/"+emergency+"/first-contact", url.Values{"etag": {etagOf(rec)}})
	if got := order(b.get("/referrals?sort=due")); !slices.Equal(got, []string{urgent, routine}) {
		t.Errorf("by response due after first contact: %v, want %v", got, []string{urgent, routine})
	}
}
