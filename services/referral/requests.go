package referral

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/httpapi"
	"github.com/homeward-dev/homeward/services/kit/nhsnumber"
)

// fieldErrors collects what is wrong with a request body.
type fieldErrors = httpapi.Fields

func wellbeing(e *fieldErrors, field string, v *int) {
	if v != nil && (*v < 14 || *v > 70) {
		e.Add(field, "must be a WEMWBS total from 14 to 70")
	}
}

func person(e *fieldErrors, p *Person, prefix string) {
	e.Text(prefix+"name", &p.Name, true, 200)
	e.Text(prefix+"address", &p.Address, false, 500)
	e.Text(prefix+"postcode", &p.Postcode, false, 10)
	e.Text(prefix+"phone", &p.Phone, false, 30)
	if p.Phone != "" && strings.ContainsFunc(p.Phone, func(r rune) bool { return !unicode.IsDigit(r) && !strings.ContainsRune(" +()-", r) }) {
		e.Add(prefix+"phone", "may hold only digits, spaces and + ( ) -")
	}
	if p.NHSNumber != "" {
		n, err := nhsnumber.Normalize(p.NHSNumber)
		if err != nil {
			e.Add(prefix+"nhsNumber", "%v", err)
		} else {
			p.NHSNumber = n
		}
	}
	if p.DateOfBirth != nil && p.DateOfBirth.Year < 1900 {
		e.Add(prefix+"dateOfBirth", "must be after 1900")
	}
}

// CreateRequest is the referral form.
type CreateRequest struct {
	Person Person `json:"person"`
	Form
}

// Validate implements httpapi.Validator.
func (c *CreateRequest) Validate() []httpapi.FieldError {
	var e fieldErrors
	person(&e, &c.Person, "person.")
	e.OneOf("source", c.Source, Sources, true)
	e.Text("referrer.organisation", &c.Referrer.Organisation, true, 200)
	e.Text("referrer.ward", &c.Referrer.Ward, false, 100)
	if !c.Consent.ToRefer {
		e.Add("consent.toRefer", "must be true: a person is referred only with their consent (or a recorded best-interests decision)")
	}
	e.OneOf("tenure", c.Tenure, Tenures, true)
	if len(c.Needs) == 0 {
		e.Add("needs", "must name at least one housing need")
	}
	seen := map[string]bool{}
	for i, n := range c.Needs {
		e.OneOf(fmt.Sprintf("needs[%d]", i), n, Needs, true)
		if seen[n] {
			e.Add(fmt.Sprintf("needs[%d]", i), "repeats %q", n)
		}
		seen[n] = true
	}
	e.OneOf("priority", c.Priority, Priorities, true)
	e.OneOf("delayReason", c.DelayReason, DelayReasons, false)
	wellbeing(&e, "wellbeing", c.Wellbeing)
	if c.AdmissionDate != nil && c.DischargeReadyDate != nil && c.DischargeReadyDate.Before(*c.AdmissionDate) {
		e.Add("dischargeReadyDate", "must not be before admissionDate")
	}
	return e
}

// notAfter refuses dates later than today, in London.
func notAfter(e *fieldErrors, field string, d *calendar.Date, now time.Time) {
	if d != nil && calendar.DateOf(now.In(calendar.London())).Before(*d) {
		e.Add(field, "must not be in the future")
	}
}

// DetailsRequest changes what is learnt after referral; absent fields stay as they are.
type DetailsRequest struct {
	Tenure             *string        `json:"tenure,omitempty"`
	Needs              []string       `json:"needs,omitempty"`
	DischargeReadyDate *calendar.Date `json:"dischargeReadyDate,omitempty"`
	DelayReason        *string        `json:"delayReason,omitempty"`
	ConsentToShare     *bool          `json:"consentToShare,omitempty"`
	Address            *string        `json:"address,omitempty"`
	Postcode           *string        `json:"postcode,omitempty"`
	Phone              *string        `json:"phone,omitempty"`
}

// Validate implements httpapi.Validator.
func (d *DetailsRequest) Validate() []httpapi.FieldError {
	var e fieldErrors
	if d.Tenure != nil {
		e.OneOf("tenure", *d.Tenure, Tenures, true)
	}
	if d.Needs != nil {
		c := CreateRequest{Form: Form{Needs: d.Needs}}
		for _, fe := range c.Validate() {
			if strings.HasPrefix(fe.Field, "needs") {
				e = append(e, fe)
			}
		}
	}
	if d.DelayReason != nil {
		e.OneOf("delayReason", *d.DelayReason, DelayReasons, true)
	}
	for field, v := range map[string]*string{"address": d.Address, "postcode": d.Postcode, "phone": d.Phone} {
		if v != nil {
			max := map[string]int{"address": 500, "postcode": 10, "phone": 30}[field]
			e.Text(field, v, false, max)
		}
	}
	if d.Tenure == nil && d.Needs == nil && d.DischargeReadyDate == nil && d.DelayReason == nil && d.ConsentToShare == nil &&
		d.Address == nil && d.Postcode == nil && d.Phone == nil {
		e.Add("(body)", "names nothing to change")
	}
	return e
}

// TransitionRequest moves a referral through the workflow.
type TransitionRequest struct {
	To        Status     `json:"to"`
	Reason    string     `json:"reason,omitempty"`
	Discharge *Discharge `json:"discharge,omitempty"`
}

// Validate implements httpapi.Validator.
func (t *TransitionRequest) Validate() []httpapi.FieldError {
	var e fieldErrors
	all := make([]string, len(Statuses))
	for i, s := range Statuses {
		all[i] = string(s)
	}
	e.OneOf("to", string(t.To), all, true)
	e.Text("reason", &t.Reason, needsReason(t.To), 1000)
	if t.To == StatusDischarged {
		if t.Discharge == nil {
			e.Add("discharge", "is required to discharge: the date and destination")
		} else {
			e.OneOf("discharge.destination", t.Discharge.Destination, Destinations, true)
			if t.Discharge.Date.Year == 0 {
				e.Add("discharge.date", "is required")
			}
			if t.Discharge.DelayedDays != nil {
				e.Add("discharge.delayedDays", "is computed, not given")
			}
		}
	} else if t.Discharge != nil {
		e.Add("discharge", "is given only when moving to discharged")
	}
	return e
}

// KeyWorkerRequest assigns the key worker.
type KeyWorkerRequest struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Validate implements httpapi.Validator.
func (k *KeyWorkerRequest) Validate() []httpapi.FieldError {
	var e fieldErrors
	e.Text("id", &k.ID, true, 64)
	e.Text("name", &k.Name, true, 200)
	return e
}

// FirstContactRequest records when the person was first contacted.
type FirstContactRequest struct {
	At time.Time `json:"at"`
}

// Validate implements httpapi.Validator.
func (f *FirstContactRequest) Validate() []httpapi.FieldError {
	var e fieldErrors
	if f.At.IsZero() {
		e.Add("at", "is required (RFC 3339 time)")
	}
	return e
}

// NoteRequest adds a case note.
type NoteRequest struct {
	Text string `json:"text"`
}

// Validate implements httpapi.Validator.
func (n *NoteRequest) Validate() []httpapi.FieldError {
	var e fieldErrors
	e.Text("text", &n.Text, true, 10000)
	return e
}

// ActionRequest commissions an action.
type ActionRequest struct {
	Type              string `json:"type"`
	Detail            string `json:"detail,omitempty"`
	OwnerOrganisation string `json:"ownerOrganisation"`
	Urgency           string `json:"urgency"`
}

// Validate implements httpapi.Validator.
func (a *ActionRequest) Validate() []httpapi.FieldError {
	var e fieldErrors
	e.OneOf("type", a.Type, ActionTypes, true)
	e.Text("detail", &a.Detail, a.Type == "other", 2000)
	e.Text("ownerOrganisation", &a.OwnerOrganisation, true, 200)
	e.OneOf("urgency", a.Urgency, Priorities, true)
	return e
}

// ActionUpdateRequest moves an action on.
type ActionUpdateRequest struct {
	Status string `json:"status"`
}

// Validate implements httpapi.Validator.
func (a *ActionUpdateRequest) Validate() []httpapi.FieldError {
	var e fieldErrors
	e.OneOf("status", a.Status, ActionStatuses, true)
	return e
}

// FollowUpRequest records a follow-up's result.
type FollowUpRequest struct {
	Result    string `json:"result"`
	Wellbeing *int   `json:"wellbeing,omitempty"`
}

// Validate implements httpapi.Validator.
func (f *FollowUpRequest) Validate() []httpapi.FieldError {
	var e fieldErrors
	e.OneOf("result", f.Result, FollowUpResults, true)
	wellbeing(&e, "wellbeing", f.Wellbeing)
	return e
}

// ReadmissionRequest records a return to hospital.
type ReadmissionRequest struct {
	Date calendar.Date `json:"date"`
}

// Validate implements httpapi.Validator.
func (r *ReadmissionRequest) Validate() []httpapi.FieldError {
	var e fieldErrors
	if r.Date.Year == 0 {
		e.Add("date", "is required")
	}
	return e
}

// SearchRequest finds referrals by NHS number, in a body so the number never sits in a URL or log.
type SearchRequest struct {
	NHSNumber string `json:"nhsNumber"`
}

// Validate implements httpapi.Validator.
func (s *SearchRequest) Validate() []httpapi.FieldError {
	var e fieldErrors
	n, err := nhsnumber.Normalize(s.NHSNumber)
	if err != nil {
		e.Add("nhsNumber", "%v", err)
	}
	s.NHSNumber = n
	return e
}

// ClosureDaysRequest replaces the partnership's closure days.
type ClosureDaysRequest struct {
	Days []calendar.Date `json:"days"`
}

// Validate implements httpapi.Validator.
func (c *ClosureDaysRequest) Validate() []httpapi.FieldError {
	var e fieldErrors
	if c.Days == nil {
		e.Add("days", "is required (an empty list clears them)")
	}
	if len(c.Days) > 366 {
		e.Add("days", "must hold at most 366 days")
	}
	for i, d := range c.Days {
		if d.Year < calendar.FirstYear || d.Year > calendar.LastYear {
			e.Add(fmt.Sprintf("days[%d]", i), "must be within %d–%d", calendar.FirstYear, calendar.LastYear)
		}
	}
	return e
}
