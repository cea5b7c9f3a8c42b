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
			m = [2]string{"main-content", field}
		}
		errs = append(errs, fieldError{Field: m[0], Href: "#" + m[0], Text: m[1] + " " + sentence(e.Message.Value)})
	}
	if len(errs) == 0 {
		errs = append(errs, fieldError{Href: "#main-content", Text: pr.Detail.Value})
	}
	return errs
}

func sentence(s string) string { return strings.TrimSuffix(s, ".") }

type referPage struct {
	F        referForm
	Sources  []string
	Tenures  []string
	Needs    []string
	Priority []string
	Check    bool
}

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

func (p *Portal) referPage(w http.ResponseWriter, r *http.Request, status int, f referForm, errs []fieldError, check bool, banner string) {
	title := "Refer a person"
	if check {
		title = "Check your answers before sending the referral"
	}
	if len(errs) > 0 {
		title = "Error: " + title
	}
	p.render(w, r, status, "refer", view{Title: title, Errors: errs, Banner: banner,
		Data: referPage{F: f, Sources: sources, Tenures: tenures, Needs: needs, Priority: priorities, Check: check}})
}

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
	banner := ""
	if r.URL.Query().Get("saved") == "1" {
		banner = "Your answers are saved for 24 hours. Come back to this page to finish the referral."
	}
	p.referPage(w, r, http.StatusOK, f, nil, r.URL.Query().Get("step") == "check", banner)
}

// referSubmit handles the form (save, or continue to check your answers) and the check page (send).
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
	if r.PostFormValue("step") == "send" {
		p.sendReferral(w, r, draft)
		return
	}
	f, errs := parseReferForm(r, draft.Key)
	if err := p.saveDraft(r.Context(), r, f); err != nil {
		p.fail(w, r, http.StatusServiceUnavailable, err)
		return
	}
	switch {
	case len(errs) > 0:
		p.referPage(w, r, http.StatusUnprocessableEntity, f, errs, false, "")
	case r.PostFormValue("step") == "save":
		http.Redirect(w, r, "/refer?saved=1", http.StatusSeeOther)
	default:
		http.Redirect(w, r, "/refer?step=check", http.StatusSeeOther)
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
			p.referPage(w, r, http.StatusUnprocessableEntity, f, fromService(pr), false, "")
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
