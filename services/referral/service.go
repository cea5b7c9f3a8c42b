// Package referral is the referral service: from a ward's referral to a safe discharge and the
// follow-ups after it, for one partnership.
package referral

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/audit"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/config"
	"github.com/homeward-dev/homeward/services/kit/httpapi"
)

// Name is the service's name: its subcommand, Redis user and span prefix.
const Name = "referral"

//go:embed openapi.yaml
var openAPI []byte

// OpenAPI is the service's OpenAPI 3.1 description.
func OpenAPI() []byte { return openAPI }

// Service serves the referral API of one partnership.
type Service struct {
	app    *app.Service
	repo   *repo
	policy config.Policy
	now    func() time.Time
	// sweeps counts retention sweeps by result; swept is when one last finished.
	sweeps *prometheus.CounterVec
	swept  prometheus.Gauge
}

// New registers the referral API on a kit service.
func New(a *app.Service) *Service {
	s := &Service{
		app:    a,
		repo:   &repo{rdb: a.Redis, keys: a.Keys, pii: a.PII},
		policy: a.Config.Policy,
		now:    a.Now,
		sweeps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "homeward_retention_sweeps_total", Help: "Retention sweeps run by this replica, by result (done, failed).",
		}, []string{"result"}),
		swept: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "homeward_retention_last_sweep_timestamp_seconds", Help: "When this replica's last retention sweep finished without error.",
		}),
	}
	// Both results exist from the start, so an alert on failures sees a zero, not nothing.
	s.sweeps.WithLabelValues("done")
	s.sweeps.WithLabelValues("failed")
	a.Registry.MustRegister(s.sweeps, s.swept)
	read := []auth.Permission{auth.ReferralRead, auth.ReferralReadOwn}
	a.ServeOpenAPI(openAPI)
	a.API("POST /v1/referrals", s.create, auth.ReferralCreate)
	a.API("GET /v1/referrals", s.list, read...)
	a.API("GET /v1/referrals/counts", s.counts, auth.ReferralRead)
	a.API("POST /v1/referrals/search", s.search, read...)
	a.API("GET /v1/referrals/{id}", s.get, read...)
	a.API("PATCH /v1/referrals/{id}", s.mutation(s.details), auth.ReferralManage)
	a.API("POST /v1/referrals/{id}/transitions", s.mutation(s.transition), auth.ReferralManage)
	a.API("PUT /v1/referrals/{id}/key-worker", s.mutation(s.keyWorker), auth.ReferralManage)
	a.API("POST /v1/referrals/{id}/first-contact", s.mutation(s.firstContact), auth.ReferralManage)
	a.API("POST /v1/referrals/{id}/notes", s.mutation(s.note), auth.ReferralManage, auth.ReferralWork)
	a.API("POST /v1/referrals/{id}/actions", s.mutation(s.addAction), auth.ReferralManage)
	a.API("PATCH /v1/referrals/{id}/actions/{action}", s.mutation(s.updateAction), auth.ReferralManage, auth.ReferralWork)
	a.API("POST /v1/referrals/{id}/readmissions", s.mutation(s.readmission), auth.ReferralManage)
	a.API("PUT /v1/referrals/{id}/follow-ups/{days}", s.mutation(s.followUp), auth.ReferralManage)
	a.API("GET /v1/referrals/{id}/audit", a.AuditTrail(auditKind), auth.AuditRead)
	a.API("GET /v1/audit/actors/{id}", a.ActorTrail(), auth.AuditRead)
	a.API("GET /v1/actions/overdue", s.overdueActions, read...)
	a.API("GET /v1/follow-ups/due", s.followUpsDue, read...)
	a.API("GET /v1/closure-days", s.getClosureDays, auth.ReferralRead, auth.ReferralReadOwn, auth.CalendarManage)
	a.API("PUT /v1/closure-days", s.putClosureDays, auth.CalendarManage)
	imports := s.referralImport()
	a.API("POST /v1/imports", app.Imports{ImportLayout.Name: imports.Run}.Handle, auth.RecordsImport)
	return s
}

func staffOf(p *auth.Principal) Staff { return p.Staff() }

func (s *Service) auditEntry(r *http.Request, action, detail string) audit.Entry {
	return s.app.AuditEntry(r, action, detail)
}

func writeReferral(w http.ResponseWriter, status int, r *Referral, version int64, now time.Time) {
	r.withClock(now)
	r.Allowed = append(make([]Status, 0, 4), Allowed(r.Status)...)
	w.Header().Set("ETag", app.ETag(version))
	httpapi.WriteJSON(w, status, r)
}

// pathID reads and checks a referral's id from the path.
func pathID(r *http.Request) (string, *httpapi.Problem) { return app.PathID(r, "id", "referral") }

// dueAt is the deadline of a target counted from t.
func (s *Service) dueAt(ctx context.Context, t time.Time, priority string) (time.Time, string, error) {
	var target config.Target
	switch priority {
	case "emergency":
		target = s.policy.Rules.ResponseTargets.Emergency
	case "urgent":
		target = s.policy.Rules.ResponseTargets.Urgent
	default:
		target = s.policy.Rules.ResponseTargets.Routine
	}
	if target.Unit == config.UnitHours {
		return t.Add(time.Duration(target.Value) * time.Hour), target.String(), nil
	}
	cal, err := s.repo.calendar(ctx, s.now())
	if err != nil {
		return time.Time{}, "", err
	}
	due, err := cal.AddWorkingDays(t, target.Value)
	return due, target.String(), err
}

func (s *Service) deadlineProblem(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, calendar.ErrOutsideCalendar) {
		httpapi.WriteProblem(w, r, httpapi.Invalid(err.Error()))
		return
	}
	storageFailed(w, r, err)
}

// storageFailed answers a storage error the kit's way: a missing referral is a 404, Redis failing a
// 503 with Retry-After (not the caller's fault).
func storageFailed(w http.ResponseWriter, r *http.Request, err error) {
	app.WriteStorageProblem(w, r, err, "the referral")
}

func limitParam(r *http.Request, def, max int) (int, *httpapi.Problem) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, httpapi.BadRequest(fmt.Sprintf("limit must be a whole number from 1 to %d", max))
	}
	return n, nil
}
