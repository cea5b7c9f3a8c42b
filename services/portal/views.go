package portal

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/httpapi"
	"github.com/homeward-dev/homeward/services/kit/nhsnumber"
	"github.com/homeward-dev/homeward/services/portal/ui"
)

// view is what every page template receives: the layout's needs and the page's own Data.
type view struct {
	Title     string
	Display   string
	Who       *auth.Principal
	CSRF      string
	Nonce     string
	Nav       []navItem
	Banner    string
	Errors    []fieldError
	Message   string
	RequestID string
	Expires   string
	Data      any
	// Header and Navigation are rendered by the ui ports before the page.
	Header, Navigation template.HTML
}

type navItem struct {
	Text, Href string
	Current    bool
}

// fieldError is one line of a GOV.UK error summary: Href is the id of the field it links to.
type fieldError struct {
	Field, Href, Text string
}

// pageNames are the pages; each is parsed as its own template set with the layout and components.
var pageNames = []string{"problem", "not-authorised", "signed-out", "accessibility", "privacy", "cookies",
	"home", "board", "record", "refer", "flow", "overdue", "audit", "follow-ups", "outcomes", "units", "unit", "unit-form", "find-unit", "placement", "calendar", "placements", "closure-days", "users", "invite", "invited", "user", "rehousing-list", "rehousing"}

func parsePages(memo *ui.Memo) (map[string]*template.Template, error) {
	pages := map[string]*template.Template{}
	memoFuncs := template.FuncMap{
		// A filter's select depends only on its list and the value picked from it: render each once.
		"filterSelect": func(id, label, value string, options []string) (template.HTML, error) {
			sel := ui.Select{Field: ui.Field{ID: id, Name: id, Label: ui.Label{Text: label}}, Value: value, Items: []ui.SelectItem{{Value: "", Text: "Any"}}}
			for _, o := range options {
				sel.Items = append(sel.Items, ui.SelectItem{Value: o, Text: strings.ReplaceAll(o, "-", " ")})
			}
			return memo.Render("govukSelect", id+"\x00"+label+"\x00"+value+"\x00"+strings.Join(options, "\x00"), sel)
		},
		// A select of one of the services' lists, nothing chosen.
		"selectHTML": func(id, name, label string, options []string) (template.HTML, error) {
			sel := ui.Select{Field: ui.Field{ID: id, Name: name, Label: ui.Label{Text: label}}}
			for _, o := range options {
				sel.Items = append(sel.Items, ui.SelectItem{Value: o, Text: words(o)})
			}
			return memo.Render("govukSelect", "select\x00"+id+"\x00"+name+"\x00"+label+"\x00"+strings.Join(options, "\x00"), sel)
		},
		// Radios of one of the services' lists (the moves a workflow offers, the urgencies), with
		// nothing typed by a user in them.
		"choicesHTML": func(name, legend, legendClasses string, options []string, value string) (template.HTML, error) {
			return memo.Render("govukRadios", strings.Join([]string{name, legend, legendClasses, value, strings.Join(options, "\x00")}, "\x01"),
				choices(name, legend, legendClasses, options, value))
		},
		// Buttons are the page's own constants.
		"buttonHTML": func(text, name, value, classes string) (template.HTML, error) {
			return memo.Render("govukButton", strings.Join([]string{text, name, value, classes}, "\x00"),
				ui.Button{Text: text, Name: name, Value: value, Classes: classes})
		},
		// The board's yes-or-no filters: four ways to be.
		"filterCheckboxesHTML": func(f boardFilters, mine bool) (template.HTML, error) {
			return memo.Render("govukCheckboxes", strconv.FormatBool(f.Overdue)+strconv.FormatBool(f.Mine)+strconv.FormatBool(mine), filterCheckboxes(f, mine))
		},
		"textareaHTML": func(id, label string, rows int) (template.HTML, error) {
			return memo.Render("govukTextarea", id+"\x00"+label+"\x00"+strconv.Itoa(rows),
				ui.Textarea{Field: ui.Field{ID: id, Name: id, Label: ui.Label{Text: label}}, Rows: rows})
		},
	}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).Funcs(memoFuncs).ParseFS(templateFS,
			"templates/layout.html", "templates/components.html", "templates/"+name+".html")
		if err == nil {
			t, err = t.ParseFS(ui.Templates, "components.html")
		}
		if err != nil {
			return nil, fmt.Errorf("page %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

var funcs = template.FuncMap{
	"nhs":      formatNHSNumber,
	"date":     formatDate,
	"datetime": formatDateTime,
	"words":    words[string],
	"tagClass": statusTagClass,
	"has":      slices.Contains[[]string, string],
	"list":     func(v ...any) []any { return v },
	"tag":      tagOf,
	"tagHTML":  ui.Tag.HTML,
	"needsCheckboxes": func(checked []string, errs []fieldError, options []string) ui.Checkboxes {
		c := ui.Checkboxes{Name: "needs", Classes: "govuk-checkboxes--small", Values: checked, ErrorMessage: errorFor(errs, "needs"),
			Hint:     &ui.Hint{Text: "Select all that apply."},
			Fieldset: &ui.Fieldset{Legend: ui.Legend{Text: "Housing needs", Classes: "govuk-fieldset__legend--s"}}}
		for _, o := range options {
			c.Items = append(c.Items, ui.ChoiceItem{Value: o, Text: strings.ReplaceAll(o, "-", " ")})
		}
		return c
	},
	"radios": func(id, legend, value string, errs []fieldError, options []string) ui.Radios {
		r := choices(id, legend, "govuk-fieldset__legend--s", options, value)
		r.ErrorMessage = errorFor(errs, id)
		return r
	},
	"choices": choices,
	"textarea": func(id, label string, rows int) ui.Textarea {
		return ui.Textarea{Field: ui.Field{ID: id, Name: id, Label: ui.Label{Text: label}}, Rows: rows}
	},
	"input": func(id, label, value string, errs []fieldError, classes string) ui.Input {
		return ui.Input{Field: ui.Field{ID: id, Name: id, Label: ui.Label{Text: label}, ErrorMessage: errorFor(errs, id)},
			Value: value, Classes: classes, Spellcheck: new(bool)}
	},
	"nhsNumberInput": func(value string, errs []fieldError) ui.Input {
		return ui.Input{Field: ui.Field{ID: "nhs-number", Name: "nhs-number", Label: ui.Label{Text: "NHS number (optional)"}, DescribedBy: "nhs-number-check",
			Hint: &ui.Hint{Text: "10 digits, for example 485 777 3456. Leave it empty if it is not known."}, ErrorMessage: errorFor(errs, "nhs-number")},
			Value: value, Classes: "govuk-input--width-10", Inputmode: "numeric", Spellcheck: new(bool), Check: "/refer/nhs-number"}
	},
	"button": func(text, name, value, classes string) ui.Button {
		return ui.Button{Text: text, Name: name, Value: value, Classes: classes}
	},
	"skipLink": func() ui.SkipLink { return ui.SkipLink{Text: "Skip to main content", Href: "#main-content"} },
	"errorSummary": func(errs []fieldError) ui.ErrorSummary {
		s := ui.ErrorSummary{TitleText: "There is a problem"}
		for _, e := range errs {
			s.ErrorList = append(s.ErrorList, ui.ErrorItem{Text: e.Text, Href: e.Href})
		}
		return s
	},
	"successBanner": func(text string) ui.NotificationBanner { return ui.NotificationBanner{Type: "success", Text: text} },
	"referencePanel": func(title, reference string) ui.Panel {
		return ui.Panel{TitleText: title, HTML: template.HTML("Your reference is<br><strong>" + template.HTMLEscapeString(reference) + "</strong>")}
	},
	"plural":    plural,
	"emptyDate": func() dateAnswer { return dateAnswer{} },
	"title":     func(s string) string { return strings.ToUpper(s[:1]) + s[1:] },
	"errorsFor": func(errs []fieldError, field string) []fieldError {
		var out []fieldError
		for _, e := range errs {
			if e.Field == field {
				out = append(out, e)
			}
		}
		return out
	},
	"answers": answers,
	"backLink": func(href, text string) ui.BackLink {
		return ui.BackLink{Href: href, Text: text, Classes: "hw-no-print"}
	},
	"linkButton": func(text, href, classes string) ui.Button {
		return ui.Button{Text: text, Href: href, Classes: classes}
	},
	"numberInput": func(id, name, label, classes string) ui.Input {
		return ui.Input{Field: ui.Field{ID: id, Name: name, Label: ui.Label{Text: label}}, Classes: classes, Inputmode: "numeric"}
	},
	// consentCheckboxes are the two consents, each its own field, under one legend.
	"consentCheckboxes": func(f referForm, errs []fieldError) ui.Checkboxes {
		return ui.Checkboxes{IDPrefix: "consent-refer", Classes: "govuk-checkboxes--small", ErrorMessage: errorFor(errs, "consent-refer"),
			Fieldset: &ui.Fieldset{Legend: ui.Legend{Text: "What has the person agreed to?", Classes: "govuk-fieldset__legend--s"}},
			Items: []ui.ChoiceItem{
				{Name: "consent-refer", Value: "yes", Text: "To be referred (or a best-interests decision is recorded)", Checked: &f.ConsentToRefer},
				{ID: "consent-share", Name: "consent-share", Value: "yes", Text: "To their details being shared with the organisations that act on the referral", Checked: &f.ConsentToShare},
			}}
	},

	"dateInput":      dateInput,
	"taskList":       taskList,
	"fieldID":        fieldID,
	"shown":          shownNode,
	"nodeErrors":     nodeErrors,
	"labelOf":        labelOf,
	"buttonText":     buttonText,
	"autocompleteOf": autocompleteOf,
}

// answers are the check-your-answers rows: question, answer, and the link to the field that changes it
// on its section's page.
func answers(f referForm) ui.SummaryList {
	yes := func(b bool) string {
		if b {
			return "Yes"
		}
		return "No"
	}
	or := func(s string) string {
		if s == "" {
			return "Not given"
		}
		return s
	}
	needList := make([]string, len(f.Needs))
	for i, n := range f.Needs {
		needList[i] = strings.ReplaceAll(n, "-", " ")
	}
	rows := [][3]string{
		{"Full name", or(f.Name), "name"},
		{"NHS number", or(formatNHSNumber(strings.ReplaceAll(f.NHSNumber, " ", ""))), "nhs-number"},
		{"Date of birth", or(f.DOB.String()), "dob-day"},
		{"Address", or(strings.TrimSpace(f.Address + " " + f.Postcode)), "address"},
		{"Phone number", or(f.Phone), "phone"},
		{"Consent to refer", yes(f.ConsentToRefer), "consent-refer"},
		{"Consent to share", yes(f.ConsentToShare), "consent-share"},
		{"Where the person is", or(strings.ReplaceAll(f.Source, "-", " ")), "source"},
		{"Referring organisation", or(strings.TrimSpace(f.Organisation + " " + f.Ward)), "organisation"},
		{"Tenure", or(strings.ReplaceAll(f.Tenure, "-", " ")), "tenure"},
		{"Housing needs", or(strings.Join(needList, ", ")), "needs"},
		{"Date of admission", or(f.Admission.String()), "admission-day"},
		{"Date medically fit for discharge", or(f.Ready.String()), "ready-day"},
		{"Priority", or(f.Priority), "priority"},
	}
	var list ui.SummaryList
	for _, row := range rows {
		list.Rows = append(list.Rows, &ui.SummaryRow{Key: ui.SummaryText{Text: row[0]}, Value: ui.SummaryText{Text: row[1]},
			Actions: &ui.SummaryActions{Items: []ui.SummaryAction{{Href: "/refer/" + sectionOfField(row[2]) + "#" + row[2], Text: "Change", VisuallyHiddenText: row[0]}}}})
	}
	return list
}

// dateInput is a GOV.UK date input named id-day, id-month and id-year, with its errors.
func dateInput(id, legend string, d dateAnswer, errs []fieldError, hint string) ui.DateInput {
	in := ui.DateInput{ID: id, NamePrefix: id, Hint: &ui.Hint{Text: hint},
		Fieldset: &ui.Fieldset{Legend: ui.Legend{Text: legend, Classes: "govuk-fieldset__legend--s"}},
		Items:    []ui.DateInputItem{{Name: "day", Value: d.Day}, {Name: "month", Value: d.Month}, {Name: "year", Value: d.Year}}}
	if msg := errorFor(errs, id); msg != nil {
		in.ErrorMessage = msg
	}
	return in
}

// taskList is the referral's sections, each with how far it has got.
func taskList(f referForm, sections []section) ui.TaskList {
	list := ui.TaskList{IDPrefix: "task"}
	for _, sec := range sections {
		status := ui.TaskStatus{Text: "Completed"}
		switch f.TaskStatus(sec.Slug) {
		case "Incomplete":
			status = ui.TaskStatus{Tag: &ui.Tag{Text: "Incomplete", Classes: "govuk-tag--light-blue"}}
		case "Not yet started":
			status = ui.TaskStatus{Tag: &ui.Tag{Text: "Not yet started", Classes: "govuk-tag--blue"}}
		}
		list.Items = append(list.Items, ui.TaskItem{Title: ui.TaskTitle{Text: sec.Title}, Href: "/refer/" + sec.Slug, Status: status})
	}
	return list
}

// shownNode: the portal shows Kratos' CSRF token, the password and code methods; profile traits are
// the partnership admin's to change, not the user's.
func shownNode(n node) bool {
	if strings.HasPrefix(n.Attributes.Name, "traits.") {
		return false
	}
	switch n.Group {
	case "default", "password", "code":
		return true
	}
	return false
}

func nodeErrors(n node) []message {
	var out []message
	for _, m := range n.Messages {
		if m.Type == "error" {
			out = append(out, m)
		}
	}
	return out
}

func labelOf(n node) string {
	switch n.Attributes.Name {
	case "identifier", "email":
		return "Email address"
	case "password":
		return "Password"
	case "code":
		return "Code from your email"
	}
	if n.Meta.Label != nil {
		return n.Meta.Label.Text
	}
	return n.Attributes.Name
}

func buttonText(n node) string {
	if n.Meta.Label != nil && n.Meta.Label.Text != "" {
		return n.Meta.Label.Text
	}
	return "Continue"
}

func autocompleteOf(n node) string {
	switch n.Attributes.Name {
	case "identifier":
		return "username"
	case "password":
		if n.Group == "password" && n.Attributes.Autocomp != "" {
			return n.Attributes.Autocomp
		}
		return "current-password"
	case "code":
		return "one-time-code"
	}
	return ""
}

// choices is a small radio group under a legend, one item per option, in words.
func choices(name, legend, legendClasses string, options []string, value string) ui.Radios {
	r := ui.Radios{Name: name, Classes: "govuk-radios--small", Value: value,
		Fieldset: &ui.Fieldset{Legend: ui.Legend{Text: legend, Classes: legendClasses}}}
	for _, o := range options {
		r.Items = append(r.Items, ui.ChoiceItem{Value: o, Text: strings.ReplaceAll(o, "-", " ")})
	}
	return r
}

// errorFor is the error message of a field, if the page has one for it.
func errorFor(errs []fieldError, field string) *ui.ErrorMessage {
	for _, e := range errs {
		if e.Field == field {
			return &ui.ErrorMessage{Text: e.Text}
		}
	}
	return nil
}

func formatDate(t time.Time) string { return t.In(calendar.London()).Format("2 January 2006") }
func formatDateTime(t time.Time) string {
	return t.In(calendar.London()).Format("2 January 2006 at 3:04pm")
}

// tagOf is the tag showing a status or priority, in words and its colour.
// words turns a value of the services' lists ("ready-for-discharge") into words for a page.
func words[S ~string](s S) string { return strings.ReplaceAll(string(s), "-", " ") }

func tagOf(value string) ui.Tag {
	return ui.Tag{Text: strings.ReplaceAll(value, "-", " "), Classes: statusTagClass(value)}
}

// formatNHSNumber shows an NHS number as 3 3 4 digits, so it is read aloud in groups.
func formatNHSNumber(n string) string { return nhsnumber.Format(n) }

func statusTagClass(status string) string {
	switch status {
	case "received":
		return "govuk-tag--blue"
	case "triaged", "assessing":
		return "govuk-tag--light-blue"
	case "actions-in-progress":
		return "govuk-tag--yellow"
	case "ready-for-discharge", "discharged":
		return "govuk-tag--green"
	case "follow-up":
		return "govuk-tag--purple"
	case "declined", "withdrawn":
		return "govuk-tag--red"
	case "emergency":
		return "govuk-tag--red"
	case "urgent":
		return "govuk-tag--orange"
	default:
		return "govuk-tag--grey"
	}
}

// displayName is the partnership's name as staff know it, for the header.
func displayName(partnership string) string {
	words := strings.Split(partnership, "-")
	for i, w := range words {
		if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ") + " discharge partnership"
}

func (p *Portal) navFor(r *http.Request, who *auth.Principal) []navItem {
	if who == nil {
		return nil
	}
	var items []navItem
	add := func(text, href string) {
		items = append(items, navItem{Text: text, Href: href, Current: r.URL.Path == href})
	}
	add("Home", "/")
	if who.Can(auth.ReferralRead) {
		add("Caseload", "/referrals")
		add("Actions overdue", "/actions/overdue")
		add("Follow-ups", "/follow-ups/due")
	}
	if who.Can(auth.ReferralCreate) {
		add("Refer a person", "/refer")
	}
	if who.Has(auth.RoleReferrer) {
		add("My referrals", "/my-referrals")
	}
	if who.Can(auth.HousingRead) {
		add("Units", "/units")
		add("Calendar", "/units/calendar")
		add("Rehousing", "/rehousing")
	}
	if who.Can(auth.ReportRead) {
		add("Outcomes", "/outcomes")
	}
	if who.Can(auth.AuditRead) {
		add("Audit trail", "/audit")
	}
	if who.Can(auth.UsersManage) {
		add("Users", "/users")
	}
	if who.Can(auth.CalendarManage) {
		add("Closure days", "/closure-days")
	}
	return items
}

// render writes a page; a template that fails is a server fault, logged, with a plain error page.
// maxPooledPage is the largest page buffer kept for the next page; a rare huge page (a long audit
// trail) is left to the garbage collector rather than held for ever.
const maxPooledPage = 256 << 10

func (p *Portal) render(w http.ResponseWriter, r *http.Request, status int, page string, v view) {
	t := p.pages[page]
	v.Display = p.display
	v.Nonce = nonceOf(r.Context())
	v.RequestID = httpapi.RequestID(r.Context())
	if v.Who == nil {
		v.Who = principalOf(r)
	}
	v.Header = ui.GenericHeader{LogoText: p.display}.HTML()
	if v.Who != nil {
		v.CSRF = p.csrfToken(r)
		v.Nav = p.navFor(r, v.Who)
		if exp := v.Who.ExpiresAt(); !exp.IsZero() {
			v.Expires = exp.UTC().Format(time.RFC3339)
		}
		nav := ui.ServiceNavigation{Classes: "hw-no-print", Slots: &ui.NavigationSlots{NavigationEnd: signOut(v.CSRF, v.Who.Email)}}
		for _, it := range v.Nav {
			nav.Navigation = append(nav.Navigation, ui.NavigationItem{Href: it.Href, Text: it.Text, Current: it.Current})
		}
		v.Navigation = nav.HTML()
	}
	buf := p.buffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledPage {
			buf.Reset()
			p.buffers.Put(buf)
		}
	}()
	if err := t.Execute(buf, v); err != nil {
		p.app.Log.Error("render page", "page", page, "err", err)
		http.Error(w, "Sorry, there is a problem with the service. Request "+v.RequestID, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// filterCheckboxes are the board's yes-or-no filters.
func filterCheckboxes(f boardFilters, mine bool) ui.Checkboxes {
	c := ui.Checkboxes{IDPrefix: "overdue", Classes: "govuk-checkboxes--small",
		Items: []ui.ChoiceItem{{Name: "overdue", Value: "true", Text: "Response overdue only", Checked: &f.Overdue}}}
	if !mine {
		c.Items = append(c.Items, ui.ChoiceItem{ID: "mine", Name: "mine", Value: "true", Text: "Only people I am key worker for", Checked: &f.Mine})
	}
	return c
}

// signOut is the end of the navigation: who is signed in, a link to change the password, and the
// sign-out form (a POST with the session's CSRF token, so no other site can sign a user out).
func signOut(csrf, email string) template.HTML {
	return ui.Join(`<li class="govuk-service-navigation__item hw-sign-out"><form method="post" action="/sign-out" class="hw-sign-out">`,
		`<input type="hidden" name="csrf" value="`, ui.Escape(csrf), `">`,
		`<span class="govuk-body-s hw-signed-in-as">`, ui.Escape(email), `</span>`,
		ui.Link("/settings", "Change password", "govuk-body-s", "hw-signed-in-as"),
		`<button type="submit" class="govuk-button govuk-button--secondary govuk-!-margin-bottom-0" data-module="govuk-button">Sign out</button></form></li>`)
}

// fail answers a fault the user cannot fix, with the request id an SRE can look up.
func (p *Portal) fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	p.app.Log.Error("page failed", "path", r.URL.Path, "err", err, "request", httpapi.RequestID(r.Context()))
	title := "Sorry, there is a problem with the service"
	if status == http.StatusServiceUnavailable {
		title = "Sorry, the service is unavailable"
	}
	p.render(w, r, status, "problem", view{Title: title, Message: "Try again in a few minutes. Nothing you sent has been lost if you saw no success message; if it keeps happening, quote the request number below."})
}

func (p *Portal) notAuthorised(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, http.StatusForbidden, "not-authorised", view{Title: "You are not authorised to see this page"})
}

func (p *Portal) static(page, title string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p.render(w, r, http.StatusOK, page, view{Title: title, Data: p.app.Config.Policy})
	}
}
