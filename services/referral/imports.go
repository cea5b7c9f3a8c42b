package referral

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/homeward-dev/homeward/services/kit/audit"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/events"
	"github.com/homeward-dev/homeward/services/kit/httpapi"
	"github.com/homeward-dev/homeward/services/kit/ids"
	"github.com/homeward-dev/homeward/services/kit/importer"
	"github.com/homeward-dev/homeward/services/kit/store"
)

// ImportLayout is the published layout of a referrals file (docs/import.md describes each column).
var ImportLayout = importer.Layout{Name: "referrals", Columns: []importer.Column{
	{Name: "importKey", Required: true, Doc: "the row's own key in the partnership's old records; importing it again changes nothing"},
	{Name: "receivedAt", Required: true, Doc: "when the referral came: YYYY-MM-DD or YYYY-MM-DDTHH:MM, London time"},
	{Name: "name", Required: true, Doc: "the person's full name"},
	{Name: "dateOfBirth", Doc: "YYYY-MM-DD"},
	{Name: "nhsNumber", Doc: "10 digits, checked like the live form's"},
	{Name: "address"}, {Name: "postcode"}, {Name: "phone"},
	{Name: "source", Required: true, Doc: strings.Join(Sources, ", ")},
	{Name: "referrerOrganisation", Required: true},
	{Name: "ward"},
	{Name: "consentToRefer", Required: true, Doc: "yes (a referral needs it)"},
	{Name: "consentToShare", Required: true, Doc: "yes or no"},
	{Name: "tenure", Required: true, Doc: strings.Join(Tenures, ", ")},
	{Name: "needs", Required: true, Doc: "one or more of " + strings.Join(Needs, ", ") + ", separated by ;"},
	{Name: "priority", Required: true, Doc: strings.Join(Priorities, ", ")},
	{Name: "admissionDate"}, {Name: "dischargeReadyDate"},
	{Name: "delayReason", Doc: strings.Join(DelayReasons, ", ")},
	{Name: "wellbeing", Doc: "WEMWBS 14–70 at referral"},
	{Name: "firstContactAt", Doc: "when the referral was first answered"},
	{Name: "history", Doc: "the moves after receipt in order, each status@when, separated by ; (e.g. triaged@2025-01-03;assessing@2025-01-06)"},
	{Name: "dischargeDestination", Doc: "required when the history has discharged: " + strings.Join(Destinations, ", ")},
}}

// maxImportBytes bounds one file (a spreadsheet of a partnership's whole history is far smaller).
const maxImportBytes = 64 << 20

// importKeyPattern is what an import key may be: the old system's own ids, of printable ASCII.
var importKeyPattern = regexp.MustCompile(`^[!-~]{1,128}$`)

// ImportReport says what an import did.
type ImportReport struct {
	Layout    string `json:"layout"`
	File      string `json:"file"`
	SHA256    string `json:"sha256"`
	Rows      int    `json:"rows"`
	Imported  int    `json:"imported"`
	Unchanged int    `json:"unchanged"`
}

// importFile is an uploaded file kept on disk, so the whole of it is checked before anything is
// written and it is then read again to write, in memory flat in its size.
type importFile struct {
	path, name, sha string
}

// spool keeps the request body in a temporary file and hashes it.
func spool(r *http.Request) (*importFile, *httpapi.Problem, error) {
	name := strings.TrimSpace(r.Header.Get("X-Import-File"))
	if name == "" {
		name = "upload.csv"
	}
	if len(name) > 200 || strings.ContainsAny(name, "\x00\r\n") {
		return nil, httpapi.BadRequest("X-Import-File must be a file name of at most 200 characters"), nil
	}
	f, err := os.CreateTemp("", "homeward-import-*.csv")
	if err != nil {
		return nil, nil, fmt.Errorf("keep the upload: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r.Body, maxImportBytes+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return nil, nil, fmt.Errorf("keep the upload: %w", err)
	}
	if n > maxImportBytes {
		_ = os.Remove(f.Name())
		return nil, httpapi.NewProblem(http.StatusRequestEntityTooLarge, "too-large", "File too large",
			fmt.Sprintf("a file is at most %d MB; split it by year", maxImportBytes>>20)), nil
	}
	return &importFile{path: f.Name(), name: filepath.Base(name), sha: hex.EncodeToString(h.Sum(nil))}, nil, nil
}

// importRow is a row made into a referral, with its import key and the events it implies.
type importRow struct {
	key    string
	row    int
	ref    *Referral
	events []event
}

// importReferrals answers POST /v1/imports?layout=referrals: every row is checked with the live API's
// rules and nothing is written unless the whole file is clean; then each referral is written
// atomically with its indexes, events (at their historical times) and an audit entry naming the file,
// its SHA-256 and the row. A row whose import key was imported before is left as it is.
func (s *Service) importReferrals(w http.ResponseWriter, r *http.Request) {
	if layout := r.URL.Query().Get("layout"); layout != ImportLayout.Name {
		httpapi.WriteProblem(w, r, httpapi.BadRequest("unknown layout", httpapi.FieldError{Field: "layout", Message: "this service imports the referrals layout"}))
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "text/csv" {
		httpapi.WriteProblem(w, r, httpapi.NewProblem(http.StatusUnsupportedMediaType, "unsupported-media-type",
			"Send a CSV file", "send the file as Content-Type: text/csv"))
		return
	}
	file, prob, err := spool(r)
	if err != nil {
		httpapi.Internal(w, r, err)
		return
	}
	if prob != nil {
		httpapi.WriteProblem(w, r, prob)
		return
	}
	defer func() { _ = os.Remove(file.path) }()
	principal, _ := auth.From(r.Context())
	now := s.now()
	// First pass: check every row; keep nothing but the errors.
	rows := 0
	errs, err := s.eachImportRow(r.Context(), file, principal, now, func(importRow) error { rows++; return nil })
	if err != nil {
		storageFailed(w, r, err)
		return
	}
	if len(errs) > 0 {
		p := httpapi.Invalid(fmt.Sprintf("%s: %d problem(s); nothing was imported", file.name, len(errs)))
		p.ImportErrors = errs
		httpapi.WriteProblem(w, r, p)
		return
	}
	// Second pass: write each referral.
	report := ImportReport{Layout: ImportLayout.Name, File: file.name, SHA256: file.sha, Rows: rows}
	_, err = s.eachImportRow(r.Context(), file, principal, now, func(ir importRow) error {
		entry := s.auditEntry(r, audit.ActionCreate, fmt.Sprintf("imported from %s (sha256 %s) row %d", file.name, file.sha, ir.row))
		c := change{after: ir.ref, audit: entry, events: ir.events,
			extra: []store.Op{store.Claim(s.repo.keys.Idempotency("import", "referral:"+ir.key), ir.ref.ID, 0)}}
		_, err := s.repo.commit(r.Context(), c)
		var claimed *store.ClaimTakenError
		switch {
		case errors.As(err, &claimed):
			report.Unchanged++
		case err != nil:
			return fmt.Errorf("row %d: %w", ir.row, err)
		default:
			report.Imported++
		}
		return nil
	})
	if err != nil {
		// Rows before this one are written and will be left as they are when the file is sent again.
		storageFailed(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, report)
}

// eachImportRow reads the file and makes each row a referral, calling use for the good ones; it
// returns the file's errors. Keys are checked for repeats within the file.
func (s *Service) eachImportRow(ctx context.Context, file *importFile, principal *auth.Principal, now time.Time, use func(importRow) error) ([]importer.Error, error) {
	f, err := os.Open(file.path)
	if err != nil {
		return nil, fmt.Errorf("read the upload: %w", err)
	}
	defer func() { _ = f.Close() }()
	rd, err := importer.NewReader(f, file.name, ImportLayout)
	var headerErrs importer.Errors
	if errors.As(err, &headerErrs) {
		return headerErrs, nil
	}
	if err != nil {
		return nil, err
	}
	seen := map[string]int{}
	for {
		row, ok := rd.Next()
		if !ok {
			return rd.Errors, nil
		}
		key := row.Get("importKey")
		first, dup := seen[key]
		if dup && key != "" {
			rd.Fail(row, "importKey", fmt.Sprintf("repeats the key of row %d", first))
		} else {
			seen[key] = row.Number
		}
		ir, bad, err := s.referralFromRow(ctx, rd, row, principal, now)
		if err != nil {
			return nil, err
		}
		if bad || len(rd.Errors) > 0 {
			continue
		}
		if err := use(ir); err != nil {
			return nil, err
		}
	}
}

// formColumns maps the live API's field names to the layout's columns, so a rule's message lands on
// the column it is about.
var formColumns = map[string]string{
	"referrer.organisation": "referrerOrganisation", "referrer.ward": "ward",
	"consent.toRefer": "consentToRefer", "consent.toShare": "consentToShare",
}

func columnOf(field string) string {
	if c, ok := formColumns[field]; ok {
		return c
	}
	field = strings.TrimPrefix(field, "person.")
	if i := strings.IndexByte(field, '['); i >= 0 {
		field = field[:i]
	}
	return field
}

// referralFromRow builds the referral a row describes, recording every problem on the reader; bad is
// true when the row has any.
func (s *Service) referralFromRow(ctx context.Context, rd *importer.Reader, row importer.Row, principal *auth.Principal, now time.Time) (importRow, bool, error) {
	bad := false
	fail := func(column, msg string) { rd.Fail(row, column, msg); bad = true }
	today := calendar.DateOf(now.In(calendar.London()))
	key := row.Get("importKey")
	if !importKeyPattern.MatchString(key) {
		fail("importKey", "must be 1 to 128 printable characters without spaces")
	}
	received, ok := parseWhen(row.Get("receivedAt"))
	switch {
	case !ok:
		fail("receivedAt", "must be YYYY-MM-DD or YYYY-MM-DDTHH:MM")
	case received.After(now):
		fail("receivedAt", "must not be in the future")
	}
	date := func(column string) *calendar.Date {
		v := row.Get(column)
		if v == "" {
			return nil
		}
		d, err := calendar.ParseDate(v)
		if err != nil {
			fail(column, "must be a date, YYYY-MM-DD")
			return nil
		}
		if today.Before(d) {
			fail(column, "must not be in the future")
		}
		return &d
	}
	yes := func(column string) bool {
		switch strings.ToLower(row.Get(column)) {
		case "yes", "true", "y", "1":
			return true
		case "no", "false", "n", "0":
		default:
			fail(column, "must be yes or no")
		}
		return false
	}
	req := CreateRequest{
		Person: Person{Name: row.Get("name"), DateOfBirth: date("dateOfBirth"), NHSNumber: row.Get("nhsNumber"),
			Address: row.Get("address"), Postcode: row.Get("postcode"), Phone: row.Get("phone")},
		Form: Form{Source: row.Get("source"), Referrer: Referrer{Organisation: row.Get("referrerOrganisation"), Ward: row.Get("ward")},
			Consent: Consent{ToRefer: yes("consentToRefer"), ToShare: yes("consentToShare")}, Tenure: row.Get("tenure"),
			Priority: row.Get("priority"), AdmissionDate: date("admissionDate"), DischargeReadyDate: date("dischargeReadyDate"),
			DelayReason: row.Get("delayReason")},
	}
	for _, n := range strings.Split(row.Get("needs"), ";") {
		if n = strings.TrimSpace(n); n != "" {
			req.Needs = append(req.Needs, n)
		}
	}
	if v := row.Get("wellbeing"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			fail("wellbeing", "must be a whole number")
		}
		req.Wellbeing = &n
	}
	for _, e := range req.Validate() {
		fail(columnOf(e.Field), e.Message)
	}
	if bad {
		return importRow{}, true, nil
	}
	due, target, err := s.dueAt(ctx, received, req.Priority)
	if errors.Is(err, calendar.ErrOutsideCalendar) {
		fail("receivedAt", err.Error())
		return importRow{}, true, nil
	}
	if err != nil {
		return importRow{}, false, err
	}
	by := principal.Staff()
	person := req.Person
	ref := &Referral{
		ID: ids.New(received), Status: StatusReceived, Person: &person, Form: req.Form, ReceivedAt: received,
		Response: Response{Target: target, DueAt: due}, Notes: []Note{}, Actions: []Action{}, Readmissions: []Readmission{},
		FollowUps: []FollowUp{}, History: []Transition{}, CreatedBy: by, CreatedAt: now, UpdatedAt: now,
	}
	evs := []event{{At: received, Payload: receivedEvent(ref)}}
	if v := row.Get("firstContactAt"); v != "" {
		at, ok := parseWhen(v)
		switch {
		case !ok:
			fail("firstContactAt", "must be YYYY-MM-DD or YYYY-MM-DDTHH:MM")
		case at.Before(received) || at.After(now):
			fail("firstContactAt", "must be between the referral's receipt and now")
		default:
			met := !at.After(due)
			ref.Response.FirstContactAt, ref.Response.Met = &at, &met
			evs = append(evs, event{At: at, Payload: events.ReferralFirstContact{At: at, DueAt: due, Met: met, Priority: ref.Priority}})
		}
	}
	moves, ok := s.historyFromRow(row, ref, by, fail)
	if !ok {
		return importRow{}, true, nil
	}
	evs = append(evs, moves...)
	return importRow{key: key, row: row.Number, ref: ref, events: evs}, bad, nil
}

// historyFromRow replays the row's history on the referral: each move allowed by the workflow from
// the one before, in time order, none in the future.
func (s *Service) historyFromRow(row importer.Row, ref *Referral, by Staff, fail func(column, msg string)) ([]event, bool) {
	var evs []event
	last := ref.ReceivedAt
	for i, step := range strings.Split(row.Get("history"), ";") {
		step = strings.TrimSpace(step)
		if step == "" {
			continue
		}
		status, when, found := strings.Cut(step, "@")
		to := Status(strings.TrimSpace(status))
		at, ok := parseWhen(strings.TrimSpace(when))
		switch {
		case !found || !ok:
			fail("history", fmt.Sprintf("move %d (%q) must be status@YYYY-MM-DD", i+1, step))
			return nil, false
		case !CanMove(ref.Status, to):
			fail("history", fmt.Sprintf("move %d: a referral that is %s cannot move to %s", i+1, ref.Status, to))
			return nil, false
		case at.Before(last):
			fail("history", fmt.Sprintf("move %d (%s) is dated before the move or receipt before it", i+1, to))
			return nil, false
		case at.After(s.now()):
			fail("history", fmt.Sprintf("move %d (%s) is in the future", i+1, to))
			return nil, false
		}
		t := Transition{From: ref.Status, To: to, At: at, By: by}
		if needsReason(to) {
			t.Reason = "recorded before Homeward"
		}
		if to == StatusDischarged {
			dest := row.Get("dischargeDestination")
			if !slices.Contains(Destinations, dest) {
				fail("dischargeDestination", "must be one of "+strings.Join(Destinations, ", ")+" when the history has discharged")
				return nil, false
			}
			d := Discharge{Date: calendar.DateOf(at.In(calendar.London())), Destination: dest}
			if ref.DischargeReadyDate != nil {
				delayed := max(0, ref.DischargeReadyDate.DaysUntil(d.Date))
				d.DelayedDays = &delayed
			}
			ref.Discharge = &d
			for _, days := range s.policy.Rules.FollowUpDays {
				ref.FollowUps = append(ref.FollowUps, FollowUp{Days: days, DueDate: d.Date.AddDays(days)})
			}
			evs = append(evs, event{At: at, Payload: dischargedEvent(ref)})
		}
		if !to.Open() {
			closed := at
			ref.ClosedAt = &closed
		}
		evs = append(evs, event{At: at, Payload: events.ReferralStatusChanged{From: string(ref.Status), To: string(to)}})
		ref.History = append(ref.History, t)
		ref.Status, last = to, at
	}
	return evs, true
}

// parseWhen reads a day (taken as its London midnight) or a London date-time.
func parseWhen(v string) (time.Time, bool) {
	for _, layout := range []string{time.DateOnly, "2006-01-02T15:04", "2006-01-02 15:04", time.RFC3339} {
		if t, err := time.ParseInLocation(layout, v, calendar.London()); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
