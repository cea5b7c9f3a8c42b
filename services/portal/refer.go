package portal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/homeward-dev/homeward/clients/referral"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/nhsnumber"
)

// draftTTL is how long a half-written referral is kept: long enough to survive a session ending
// mid-form, short enough that personal data does not linger.
const draftTTL = 24 * time.Hour

// referForm is the referral form's answers as typed, kept between pages and across sessions in a
// draft. Key is the idempotency key of the referral it becomes, so sending it twice refers once.
type referForm struct {
	Key                                string
	Name, NHSNumber, Address, Postcode string
	Phone                              string
	DOB, Admission, Ready              dateAnswer
	Source, Organisation, Ward         string
	ConsentToRefer, ConsentToShare     bool
	Tenure, Priority                   string
	Needs                              []string
}

// dateAnswer is a GOV.UK date input's three boxes, kept as typed.
type dateAnswer struct{ Day, Month, Year string }

func (d dateAnswer) empty() bool { return d.Day == "" && d.Month == "" && d.Year == "" }

func (d dateAnswer) date() (time.Time, bool) {
	day, e1 := strconv.Atoi(d.Day)
	month, e2 := strconv.Atoi(d.Month)
	year, e3 := strconv.Atoi(d.Year)
	if e1 != nil || e2 != nil || e3 != nil || year < 1900 || year > 2200 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	return t, t.Day() == day && int(t.Month()) == month
}

func (d dateAnswer) String() string {
	if t, ok := d.date(); ok {
		return t.Format("2 January 2006")
	}
	return ""
}

// textLimits are the form's longest answers, the same as the service's.
var textLimits = map[string]int{"name": 200, "nhs-number": 20, "address": 500, "postcode": 10, "phone": 30, "organisation": 200, "ward": 100}

// parseReferForm reads the posted form; answers too long or with control characters are kept (cut
// to their limit) and reported, never echoed unescaped.
func parseReferForm(r *http.Request, key string) (referForm, []fieldError) {
	var errs []fieldError
	text := func(name, label string) string {
		v := strings.TrimSpace(r.PostFormValue(name))
		v = strings.Map(func(c rune) rune {
			if c < 0x20 && c != '\n' || c == 0x7f {
				return -1
			}
			return c
		}, v)
		if limit := textLimits[name]; utf8.RuneCountInString(v) > limit {
			errs = append(errs, fieldError{Field: name, Href: "#" + name, Text: fmt.Sprintf("%s must be %d characters or fewer", label, limit)})
			v = string([]rune(v)[:limit])
		}
		return v
	}
	date := func(prefix string) dateAnswer {
		return dateAnswer{Day: trimTo(r.PostFormValue(prefix+"-day"), 2), Month: trimTo(r.PostFormValue(prefix+"-month"), 2), Year: trimTo(r.PostFormValue(prefix+"-year"), 4)}
	}
	f := referForm{Key: key,
		Name: text("name", "Full name"), NHSNumber: text("nhs-number", "NHS number"), Address: text("address", "Address"),
		Postcode: text("postcode", "Postcode"), Phone: text("phone", "Phone number"),
		DOB: date("dob"), Admission: date("admission"), Ready: date("ready"),
		Source: pick(r.PostFormValue("source"), sources), Organisation: text("organisation", "Referring organisation"),
		Ward: text("ward", "Ward"), ConsentToRefer: r.PostFormValue("consent-refer") == "yes",
		ConsentToShare: r.PostFormValue("consent-share") == "yes",
		Tenure:         pick(r.PostFormValue("tenure"), tenures), Priority: pick(r.PostFormValue("priority"), priorities)}
	for _, n := range r.PostForm["needs"] {
		if pick(n, needs) != "" && !slices.Contains(f.Needs, n) {
			f.Needs = append(f.Needs, n)
		}
	}
	for _, d := range []struct {
		answer dateAnswer
		id     string
		label  string
	}{{f.DOB, "dob", "Date of birth"}, {f.Admission, "admission", "Date of admission"}, {f.Ready, "ready", "Date medically fit for discharge"}} {
		if _, ok := d.answer.date(); !d.answer.empty() && !ok {
			errs = append(errs, fieldError{Field: d.id, Href: "#" + d.id + "-day", Text: d.label + " must be a real date, for example 27 3 1950"})
		}
	}
	return f, errs
}

func trimTo(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return s[:n]
	}
	return s
}

// request is the service's referral request from the answers.
func (f referForm) request() *referral.CreateRequest {
	req := &referral.CreateRequest{
		Person:   referral.Person{Name: f.Name},
		Source:   referral.Source(f.Source),
		Referrer: referral.CreateRequestReferrer{Organisation: f.Organisation},
		Consent:  referral.CreateRequestConsent{ToRefer: referral.NewOptBool(f.ConsentToRefer), ToShare: referral.NewOptBool(f.ConsentToShare)},
		Tenure:   referral.Tenure(f.Tenure), Priority: referral.Priority(f.Priority),
	}
	for _, n := range f.Needs {
		req.Needs = append(req.Needs, referral.Need(n))
	}
	optional := func(v string) referral.OptString {
		if v == "" {
			return referral.OptString{}
		}
		return referral.NewOptString(v)
	}
	req.Person.NhsNumber, req.Person.Address = optional(f.NHSNumber), optional(f.Address)
	req.Person.Postcode, req.Person.Phone, req.Referrer.Ward = optional(f.Postcode), optional(f.Phone), optional(f.Ward)
	if t, ok := f.DOB.date(); ok {
		req.Person.DateOfBirth = referral.NewOptDate(t)
	}
	if t, ok := f.Admission.date(); ok {
		req.AdmissionDate = referral.NewOptDate(t)
	}
	if t, ok := f.Ready.date(); ok {
		req.DischargeReadyDate = referral.NewOptDate(t)
	}
	return req
}

// serviceFields maps the service's field names to the form's, for the error summary's links.
var serviceFields = map[string][2]string{
	"person.name": {"name", "Full name"}, "person.nhsNumber": {"nhs-number", "NHS number"},
	"person.dateOfBirth": {"dob-day", "Date of birth"}, "person.address": {"address", "Address"},
	"person.postcode": {"postcode", "Postcode"}, "person.phone": {"phone", "Phone number"},
	"source": {"source", "Where the person is"}, "referrer.organisation": {"organisation", "Referring organisation"},
	"referrer.ward": {"ward", "Ward"}, "consent.toRefer": {"consent-refer", "Consent to refer"},
	"tenure": {"tenure", "Tenure"}, "needs": {"needs", "Housing needs"}, "priority": {"priority", "Priority"},
	"admissionDate": {"admission-day", "Date of admission"}, "dischargeReadyDate": {"ready-day", "Date medically fit for discharge"},
}

func fromService(pr *referral.Problem) []fieldError {
	var errs []fieldError
	for _, e := range pr.Errors {
		field := e.Field.Value
		if i := strings.IndexByte(field, '['); i > 0 {
			field = field[:i]
		}
		m, ok := serviceFields[field]
		if !ok {
			errs = append(errs, fieldError{Href: "#main-content", Text: field + " " + sentence(e.Message.Value)})
			continue
		}
		errs = append(errs, fieldError{Field: m[0], Href: "/refer/" + sectionOfField(m[0]) + "#" + m[0], Text: m[1] + " " + sentence(e.Message.Value)})
	}
	if len(errs) == 0 {
		errs = append(errs, fieldError{Href: "#main-content", Text: pr.Detail.Value})
	}
	return errs
}

func sentence(s string) string { return strings.TrimSuffix(s, ".") }

func (p *Portal) draftKey(r *http.Request) string {
	return p.app.Keys.PortalDraft(principalOf(r).IdentityID, "referral")
}

func (p *Portal) loadDraft(ctx context.Context, r *http.Request) (referForm, error) {
	sealed, err := p.app.Redis.Get(ctx, p.draftKey(r)).Bytes()
	if errors.Is(err, redis.Nil) {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		return referForm{Key: hex.EncodeToString(b)}, nil
	}
	if err != nil {
		return referForm{}, fmt.Errorf("read draft: %w", err)
	}
	plain, err := p.app.PII.Open(sealed, "portal-draft")
	if err != nil {
		return referForm{}, fmt.Errorf("open draft: %w", err)
	}
	var f referForm
	if err := json.Unmarshal(plain, &f); err != nil {
		return referForm{}, fmt.Errorf("decode draft: %w", err)
	}
	return f, nil
}

func (p *Portal) saveDraft(ctx context.Context, r *http.Request, f referForm) error {
	plain, err := json.Marshal(f)
	if err != nil {
		return err
	}
	if err := p.app.Redis.Set(ctx, p.draftKey(r), p.app.PII.Seal(plain, "portal-draft"), draftTTL).Err(); err != nil {
		return fmt.Errorf("save draft: %w", err)
	}
	return nil
}

// section is one task of the referral journey: its page, and the fields it owns.
type section struct {
	Slug, Title string
	Fields      []string
}

// sections are the referral journey's tasks, in order; each field belongs to exactly one.
var sections = []section{
	{"person", "Person's details", []string{"name", "nhs-number", "dob", "address", "postcode", "phone"}},
	{"consent", "Consent", []string{"consent-refer", "consent-share"}},
	{"referrer", "Where they are and who refers them", []string{"source", "organisation", "ward"}},
	{"housing", "Housing", []string{"tenure", "needs"}},
	{"hospital", "Hospital stay and priority", []string{"admission", "ready", "priority"}},
}

func sectionOf(slug string) (section, bool) {
	for _, s := range sections {
		if s.Slug == slug {
			return s, true
		}
	}
	return section{}, false
}

// sectionOfField names the section a form field (or a date's day box) belongs to.
func sectionOfField(field string) string {
	field = strings.TrimSuffix(field, "-day")
	for _, s := range sections {
		if slices.Contains(s.Fields, field) {
			return s.Slug
		}
	}
	return ""
}

// merge takes the posted section's answers into the draft and leaves the others as they were.
func (f *referForm) merge(slug string, from referForm) {
	switch slug {
	case "person":
		f.Name, f.NHSNumber, f.DOB, f.Address, f.Postcode, f.Phone = from.Name, from.NHSNumber, from.DOB, from.Address, from.Postcode, from.Phone
	case "consent":
		f.ConsentToRefer, f.ConsentToShare = from.ConsentToRefer, from.ConsentToShare
	case "referrer":
		f.Source, f.Organisation, f.Ward = from.Source, from.Organisation, from.Ward
	case "housing":
		f.Tenure, f.Needs = from.Tenure, from.Needs
	case "hospital":
		f.Admission, f.Ready, f.Priority = from.Admission, from.Ready, from.Priority
	}
}

// TaskStatus says how far a section is: the service's required answers given, some answers, or none.
func (f referForm) TaskStatus(slug string) string {
	done, started := false, false
	switch slug {
	case "person":
		done, started = f.Name != "", f.Name != "" || f.NHSNumber != "" || !f.DOB.empty() || f.Address != "" || f.Phone != ""
	case "consent":
		done, started = f.ConsentToRefer, f.ConsentToRefer || f.ConsentToShare
	case "referrer":
		done, started = f.Source != "" && f.Organisation != "", f.Source != "" || f.Organisation != "" || f.Ward != ""
	case "housing":
		done, started = f.Tenure != "" && len(f.Needs) > 0, f.Tenure != "" || len(f.Needs) > 0
	case "hospital":
		done, started = f.Priority != "", f.Priority != "" || !f.Admission.empty() || !f.Ready.empty()
	}
	switch {
	case done:
		return "Completed"
	case started:
		return "Incomplete"
	}
	return "Not yet started"
}

type referPage struct {
	F        referForm
	Step     string // "tasks", "check" or a section's slug
	Section  section
	Sections []section
	Sources  []string
	Tenures  []string
	Needs    []string
	Priority []string
}

func (p *Portal) referPage(w http.ResponseWriter, r *http.Request, status int, f referForm, errs []fieldError, step, banner string) {
	data := referPage{F: f, Step: step, Sections: sections, Sources: sources, Tenures: tenures, Needs: needs, Priority: priorities}
	title := "Refer a person"
	switch step {
	case "check":
		title = "Check your answers before sending the referral"
	case "tasks":
	default:
		data.Section, _ = sectionOf(step)
		title = data.Section.Title
	}
	if len(errs) > 0 {
		title = "Error: " + title
	}
	p.render(w, r, status, "refer", view{Title: title, Errors: errs, Banner: banner, Data: data})
}

// referForm shows the task list, a section's page (?section=) or the check-your-answers page (?step=check).
func (p *Portal) referForm(w http.ResponseWriter, r *http.Request) {
	if !principalOf(r).Can(auth.ReferralCreate) {
		p.notAuthorised(w, r)
		return
	}
	f, err := p.loadDraft(r.Context(), r)
	if err != nil {
		p.fail(w, r, http.StatusServiceUnavailable, err)
		return
	}
	step := "tasks"
	if r.URL.Query().Get("step") == "check" {
		step = "check"
	} else if s, ok := sectionOf(r.PathValue("section")); ok {
		step = s.Slug
	} else if r.PathValue("section") != "" {
		p.render(w, r, http.StatusNotFound, "problem", view{Title: "Page not found", Message: "There is no such part of the referral form."})
		return
	}
	banner := ""
	if r.URL.Query().Get("saved") == "1" {
		banner = "Your answers are saved for 24 hours. Come back to this page to finish the referral."
	}
	p.referPage(w, r, http.StatusOK, f, nil, step, banner)
}

// referSubmit saves one section's answers into the draft, or sends the referral from the check page.
func (p *Portal) referSubmit(w http.ResponseWriter, r *http.Request) {
	if !principalOf(r).Can(auth.ReferralCreate) {
		p.notAuthorised(w, r)
		return
	}
	draft, err := p.loadDraft(r.Context(), r)
	if err != nil {
		p.fail(w, r, http.StatusServiceUnavailable, err)
		return
	}
	sec, isSection := sectionOf(r.PathValue("section"))
	if !isSection {
		if r.PostFormValue("step") == "send" {
			p.sendReferral(w, r, draft)
			return
		}
		p.render(w, r, http.StatusNotFound, "problem", view{Title: "Page not found", Message: "There is no such part of the referral form."})
		return
	}
	posted, all := parseReferForm(r, draft.Key)
	draft.merge(sec.Slug, posted)
	var errs []fieldError
	for _, e := range all {
		if sectionOfField(e.Field) == sec.Slug {
			errs = append(errs, e)
		}
	}
	if err := p.saveDraft(r.Context(), r, draft); err != nil {
		p.fail(w, r, http.StatusServiceUnavailable, err)
		return
	}
	switch {
	case len(errs) > 0:
		p.referPage(w, r, http.StatusUnprocessableEntity, draft, errs, sec.Slug, "")
	case r.PostFormValue("step") == "save":
		http.Redirect(w, r, "/refer?saved=1", http.StatusSeeOther)
	default:
		http.Redirect(w, r, "/refer", http.StatusSeeOther)
	}
}

func (p *Portal) sendReferral(w http.ResponseWriter, r *http.Request, f referForm) {
	res, err := p.referrals.CreateReferral(withSession(r), f.request(), referral.CreateReferralParams{IdempotencyKey: referral.NewOptString(f.Key)})
	if err != nil {
		p.fail(w, r, http.StatusServiceUnavailable, err)
		return
	}
	created, ok := res.(*referral.ReferralHeaders)
	if !ok {
		pr, isProblem := problemOf(res)
		if isProblem && (pr.Status == http.StatusBadRequest || pr.Status == http.StatusUnprocessableEntity) {
			p.referPage(w, r, http.StatusUnprocessableEntity, f, fromService(pr), "check", "")
			return
		}
		p.answerProblem(w, r, res)
		return
	}
	if err := p.app.Redis.Del(r.Context(), p.draftKey(r)).Err(); err != nil {
		p.app.Log.Warn("draft not removed after sending; it expires on its own", "err", err)
	}
	http.Redirect(w, r, "/referrals/"+url.PathEscape(created.Response.ID)+"?done=sent", http.StatusSeeOther)
}

// nhsNumberCheck answers the form's script as the person types: whether the NHS number passes the
// Modulus 11 check the referral service applies, and how it reads in groups. It is a POST, so the
// number never appears in a URL or an access log; the service still decides when the form is sent.
func (p *Portal) nhsNumberCheck(w http.ResponseWriter, r *http.Request) {
	value := strings.TrimSpace(r.PostFormValue("nhs-number"))
	answer := struct {
		Valid     bool   `json:"valid"`
		Formatted string `json:"formatted,omitempty"`
		Message   string `json:"message"`
	}{}
	switch n, err := nhsnumber.Normalize(value); {
	case value == "":
		answer.Message = ""
	case err != nil:
		answer.Message = "This is not a valid NHS number: check the 10 digits"
	default:
		answer.Valid, answer.Formatted, answer.Message = true, nhsnumber.Format(n), "Valid NHS number: "+nhsnumber.Format(n)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(answer)
}
