// Package housing is the housing-options service: step-down units, placements in them, voids,
// matching a person to a unit, permanent rehousing and occupancy, for one partnership.
package housing

import (
	_ "embed"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/config"
	"github.com/homeward-dev/homeward/services/kit/events"
	"github.com/homeward-dev/homeward/services/kit/httpapi"
	"github.com/homeward-dev/homeward/services/kit/ids"
	"github.com/homeward-dev/homeward/services/kit/store"
)

// Name is the service's name: its subcommand, Redis user and span prefix.
const Name = "housing"

//go:embed openapi.yaml
var openAPI []byte

// OpenAPI is the service's OpenAPI 3.1 description.
func OpenAPI() []byte { return openAPI }

// Service serves the housing-options API of one partnership.
type Service struct {
	app    *app.Service
	repo   *repo
	policy config.Policy
	now    func() time.Time
	// unitRetries is how often a change re-reads its unit after losing a race for it.
	unitRetries int
}

// New registers the housing API on a kit service.
func New(a *app.Service) *Service {
	s := &Service{app: a, repo: &repo{rdb: a.Redis, keys: a.Keys, pii: a.PII}, policy: a.Config.Policy, now: a.Now, unitRetries: unitConflictRetries}
	a.ServeOpenAPI(openAPI)
	read, manage := auth.HousingRead, auth.HousingManage
	a.API("POST /v1/units", s.createUnit, manage)
	a.API("GET /v1/units", s.listUnits, read)
	a.API("GET /v1/units/{id}", s.getUnit, read)
	a.API("PUT /v1/units/{id}", s.unitMutation(s.editUnit), manage)
	a.API("POST /v1/units/{id}/transitions", s.unitMutation(s.moveUnit), manage)
	a.API("POST /v1/matches", s.match, read)
	a.API("POST /v1/placements", s.book, manage)
	a.API("GET /v1/placements", s.listPlacements, read)
	a.API("GET /v1/placements/over-stays", s.overStays, read)
	a.API("GET /v1/placements/housing-benefit-unclaimed", s.claimsDue, read)
	a.API("GET /v1/placements/{id}", s.getPlacement, read)
	a.API("POST /v1/placements/{id}/transitions", s.placementMutation(s.movePlacement), manage)
	a.API("PUT /v1/placements/{id}/housing-benefit", s.placementMutation(s.recordClaim), manage)
	a.API("GET /v1/placements/{id}/audit", a.AuditTrail(kindPlacement), auth.AuditRead)
	a.API("POST /v1/rehousing-cases", s.openRehousing, manage)
	a.API("GET /v1/rehousing-cases", s.listRehousing, read)
	a.API("GET /v1/rehousing-cases/{id}", s.getRehousing, read)
	a.API("POST /v1/rehousing-cases/{id}/bids", s.rehousingMutation(s.addBid), manage)
	a.API("POST /v1/rehousing-cases/{id}/offers", s.rehousingMutation(s.addOffer), manage)
	a.API("POST /v1/rehousing-cases/{id}/offers/{offer}/response", s.rehousingMutation(s.answerOffer), manage)
	a.API("POST /v1/rehousing-cases/{id}/move-in", s.rehousingMutation(s.moveIn), manage)
	a.API("POST /v1/rehousing-cases/{id}/withdraw", s.rehousingMutation(s.withdraw), manage)
	a.API("GET /v1/rehousing-cases/{id}/audit", a.AuditTrail(kindRehousing), auth.AuditRead)
	a.API("GET /v1/occupancy", s.occupancy, read, auth.ReportRead)
	a.API("GET /v1/occupancy/calendar", s.occupancyCalendar, read, auth.ReportRead)
	a.API("POST /v1/imports", app.Imports{
		UnitLayout.Name:      func(w http.ResponseWriter, r *http.Request, f *app.ImportFile) { s.unitImport().Run(w, r, f) },
		PlacementLayout.Name: func(w http.ResponseWriter, r *http.Request, f *app.ImportFile) { s.placementImport().Run(w, r, f) },
		RehousingLayout.Name: func(w http.ResponseWriter, r *http.Request, f *app.ImportFile) { s.rehousingImport().Run(w, r, f) },
		VoidLayout.Name:      func(w http.ResponseWriter, r *http.Request, f *app.ImportFile) { s.voidImport().Run(w, r, f) },
	}.Handle, auth.RecordsImport)
	return s
}

// today is the current day in England.
func (s *Service) today() calendar.Date { return londonDay(s.now()) }

// londonDay is the England calendar day of an instant.
func londonDay(t time.Time) calendar.Date { return calendar.DateOf(t.In(calendar.London())) }

// stamp dates a change's events with the change's time.
func stamp(evs []event, now time.Time) {
	for i := range evs {
		evs[i].At = now
	}
}

func staffOf(r *http.Request) Staff {
	p, _ := auth.From(r.Context())
	return p.Staff()
}

func decode(r *http.Request, v any) *httpapi.Problem {
	return httpapi.Decode(r, v, httpapi.DefaultBodyLimit)
}

// allowing is a record that says which moves are open from where it stands.
type allowing interface{ withAllowed() }

func writeRecord(w http.ResponseWriter, status int, v any, version int64) {
	if a, ok := v.(allowing); ok {
		a.withAllowed()
	}
	w.Header().Set("ETag", app.ETag(version))
	httpapi.WriteJSON(w, status, v)
}

// Page is one page of a list; Next is the cursor of the following page, empty at the end.
type Page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

// listQuery reads a list's query: only the named filters, a limit of 1–200 (default 50) and a cursor.
func listQuery(q url.Values, filters ...string) (limit int, cursor string, prob *httpapi.Problem) {
	var e fields
	for k := range q {
		if !slices.Contains(filters, k) && k != "limit" && k != "cursor" {
			e.Add(k, "is not a filter of this list")
		}
	}
	limit = 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			e.Add("limit", "must be 1 to 200")
		}
		limit = n
	}
	cursor = q.Get("cursor")
	if cursor != "" && !ids.Valid(cursor) {
		e.Add("cursor", "is not a cursor this list gave")
	}
	if len(e) > 0 {
		return 0, "", httpapi.BadRequest("the query is not valid", e...)
	}
	return limit, cursor, nil
}

// pageOf cuts a page from items sorted by id, after the cursor.
func pageOf[T any](items []T, id func(T) string, cursor string, limit int) Page[T] {
	start := 0
	if cursor != "" {
		start, _ = slices.BinarySearchFunc(items, cursor, func(it T, c string) int {
			if id(it) <= c {
				return -1
			}
			return 1
		})
	}
	end := min(start+limit, len(items))
	p := Page[T]{Items: items[start:end]}
	if p.Items == nil {
		p.Items = []T{}
	}
	if end < len(items) {
		p.Next = id(items[end-1])
	}
	return p
}

// dateParam reads an optional YYYY-MM-DD query parameter.
func dateParam(q url.Values, name string, e *fields) *calendar.Date {
	v := q.Get(name)
	if v == "" {
		return nil
	}
	d, err := calendar.ParseDate(v)
	if err != nil {
		e.Add(name, "%v", err)
		return nil
	}
	return &d
}

// referralOf reads the referral a request names; when it does not exist or cannot be read it
// answers the request and returns ok false.
func (s *Service) referralOf(w http.ResponseWriter, r *http.Request, id string) (*events.ReferralFacts, bool) {
	ref, err := s.repo.referral(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		httpapi.WriteProblem(w, r, httpapi.Invalid("the referral does not exist", httpapi.FieldError{Field: "referralId", Message: "no such referral"}))
		return nil, false
	case err != nil:
		app.WriteStorageProblem(w, r, err, "the referral")
		return nil, false
	}
	return ref, true
}

// isConflictOn reports whether err is a version conflict on key.
func isConflictOn(err error, key string) bool {
	var c *store.ConflictError
	return errors.As(err, &c) && c.Key == key
}
