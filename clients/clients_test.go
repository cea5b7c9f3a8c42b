package clients_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ogen-go/ogen/ogenerrors"

	"github.com/homeward-dev/homeward/clients/housing"
	"github.com/homeward-dev/homeward/clients/referral"
	"github.com/homeward-dev/homeward/clients/reporting"
	housingsvc "github.com/homeward-dev/homeward/services/housing"
	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/kit/config"
	"github.com/homeward-dev/homeward/services/kit/servicetest"
	referralsvc "github.com/homeward-dev/homeward/services/referral"
	reportingsvc "github.com/homeward-dev/homeward/services/reporting"
)

// bearer is how an integrator authenticates: a Kratos session token sent as a bearer token; the
// other schemes the descriptions offer are skipped.
type bearer string

func (b bearer) Bearer(context.Context, referral.OperationName) (referral.Bearer, error) {
	return referral.Bearer{Token: string(b)}, nil
}
func (bearer) SessionCookie(context.Context, referral.OperationName) (referral.SessionCookie, error) {
	return referral.SessionCookie{}, ogenerrors.ErrSkipClientSecurity
}
func (bearer) SessionToken(context.Context, referral.OperationName) (referral.SessionToken, error) {
	return referral.SessionToken{}, ogenerrors.ErrSkipClientSecurity
}

type housingBearer string

func (b housingBearer) Bearer(context.Context, housing.OperationName) (housing.Bearer, error) {
	return housing.Bearer{Token: string(b)}, nil
}
func (housingBearer) SessionCookie(context.Context, housing.OperationName) (housing.SessionCookie, error) {
	return housing.SessionCookie{}, ogenerrors.ErrSkipClientSecurity
}
func (housingBearer) SessionToken(context.Context, housing.OperationName) (housing.SessionToken, error) {
	return housing.SessionToken{}, ogenerrors.ErrSkipClientSecurity
}

type reportingBearer string

func (b reportingBearer) Bearer(context.Context, reporting.OperationName) (reporting.Bearer, error) {
	return reporting.Bearer{Token: string(b)}, nil
}
func (reportingBearer) SessionCookie(context.Context, reporting.OperationName) (reporting.SessionCookie, error) {
	return reporting.SessionCookie{}, ogenerrors.ErrSkipClientSecurity
}
func (reportingBearer) SessionToken(context.Context, reporting.OperationName) (reporting.SessionToken, error) {
	return reporting.SessionToken{}, ogenerrors.ErrSkipClientSecurity
}

// TestGeneratedClientsIntegrate uses only the clients generated from the three OpenAPI descriptions,
// as a hospital or council system would: refer a person, read the referral back, add a step-down
// unit, book it, and read the partnership's report once the events are counted.
func TestGeneratedClientsIntegrate(t *testing.T) {
	ctx := context.Background()
	tenant := servicetest.StartTenant(t, "kirklees")
	clock := servicetest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, calendar.London()))
	policy := config.DefaultPolicy()
	opts := app.Options{Now: clock.Now}
	var rep *reportingsvc.Service
	_, refSrv := servicetest.Serve(t, tenant.Config(t, referralsvc.Name, policy), opts, func(a *app.Service) { referralsvc.New(a) })
	_, homeSrv := servicetest.Serve(t, tenant.Config(t, housingsvc.Name, policy), opts, func(a *app.Service) { housingsvc.New(a) })
	_, repSrv := servicetest.Serve(t, tenant.Config(t, reportingsvc.Name, policy), opts, func(a *app.Service) { rep = reportingsvc.New(a) })
	ingest, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = rep.Ingest(ingest) }()
	t.Cleanup(func() { stop(); <-done })

	token := tenant.Person(t, refSrv.URL, "coordinator@kirklees.example", "kirklees", "coordinator", "housing-officer").Token
	refs, err := referral.NewClient(refSrv.URL, bearer(token))
	if err != nil {
		t.Fatal(err)
	}
	homes, err := housing.NewClient(homeSrv.URL, housingBearer(token))
	if err != nil {
		t.Fatal(err)
	}
	reports, err := reporting.NewClient(repSrv.URL, reportingBearer(token))
	if err != nil {
		t.Fatal(err)
	}

	created, err := refs.CreateReferral(ctx, &referral.CreateRequest{
		Person:   referral.Person{Name: "Test Person", NhsNumber: referral.NewOptString("999 000 0018")},
		Source:   referral.SourceWard,
		Referrer: referral.CreateRequestReferrer{Organisation: "Huddersfield Royal Infirmary", Ward: referral.NewOptString("Ward 8")},
		Consent:  referral.CreateRequestConsent{ToRefer: referral.NewOptBool(true), ToShare: referral.NewOptBool(true)},
		Tenure:   referral.TenureOwnerOccupier,
		Needs:    []referral.Need{referral.NeedAdaptations},
		Priority: referral.PriorityUrgent,
	}, referral.CreateReferralParams{IdempotencyKey: referral.NewOptString("integration-1")})
	if err != nil {
		t.Fatal(err)
	}
	made, ok := created.(*referral.ReferralHeaders)
	if !ok {
		t.Fatalf("create referral answered %T %+v", created, created)
	}
	id := made.Response.ID
	if id == "" || made.ETag.Value == "" || made.Location.Value == "" {
		t.Fatalf("created referral lacks id, ETag or Location: %+v", made)
	}

	read, err := refs.GetReferral(ctx, referral.GetReferralParams{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	got, ok := read.(*referral.GetReferralOKHeaders)
	if !ok {
		t.Fatalf("get referral answered %T", read)
	}
	if got.Response.Person.Value.Name != "Test Person" || got.Response.Status != referral.StatusReceived ||
		got.Response.Person.Value.NhsNumber.Value != "9990000018" {
		t.Errorf("read back %+v", got.Response)
	}
	missing, err := refs.GetReferral(ctx, referral.GetReferralParams{ID: "01J00000000000000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := missing.(*referral.GetReferralNotFound); !ok {
		t.Errorf("an unknown referral answered %T, want the typed 404 problem", missing)
	}

	unitRes, err := homes.CreateUnit(ctx, &housing.UnitFields{
		Scheme: "Home from Home", OwnerOrganisation: "Kirklees Council", Type: housing.UnitTypeFlat, Bedrooms: 1,
		Address:    housing.UnitFieldsAddress{Line1: "1 Test Court", Town: "Huddersfield", Postcode: "HD1 1AA"},
		Features:   []housing.Feature{housing.FeatureWheelchairAccessible},
		WeeklyCost: "203.77", HousingBenefitEligible: housing.NewOptBool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	unit, ok := unitRes.(*housing.UnitCreatedHeaders)
	if !ok {
		t.Fatalf("create unit answered %T %+v", unitRes, unitRes)
	}
	booked, err := homes.BookPlacement(ctx, &housing.BookRequest{
		ReferralId: id, UnitId: unit.Response.ID, Arrival: housing.Date(time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)),
	}, housing.BookPlacementParams{IdempotencyKey: housing.NewOptString("clients-test-booking")})
	if err != nil {
		t.Fatal(err)
	}
	placement, ok := booked.(*housing.PlacementBookedHeaders)
	if !ok {
		t.Fatalf("book placement answered %T %+v", booked, booked)
	}
	if placement.Response.Status != housing.PlacementStatusProvisional || placement.Response.ReferralId != id {
		t.Errorf("booked %+v", placement.Response)
	}

	deadline := time.Now().Add(15 * time.Second)
	for {
		status, err := reports.GetIngestStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		st, ok := status.(*reporting.GetIngestStatusOK)
		if !ok {
			t.Fatalf("ingest status answered %T", status)
		}
		if st.StreamLength.Value > 0 && st.Pending.Value == 0 && st.Undelivered.Value == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ingest did not catch up in 15 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	res, err := reports.GetReport(ctx, reporting.GetReportParams{
		From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	report, ok := res.(*reporting.Report)
	if !ok {
		t.Fatalf("report answered %T", res)
	}
	if received := report.Referrals.Value.Received.Value; received.Type != reporting.IntCount || received.Int != 1 {
		t.Errorf("referrals received %+v, want 1", received)
	}

	bad, err := refs.CreateReferral(ctx, &referral.CreateRequest{
		Person: referral.Person{Name: "Test Person"}, Source: referral.SourceWard,
		Referrer: referral.CreateRequestReferrer{Organisation: "Huddersfield Royal Infirmary"},
		Consent:  referral.CreateRequestConsent{ToRefer: referral.NewOptBool(true)}, Tenure: referral.TenureHomeless,
		Needs: []referral.Need{referral.NeedHomelessness}, Priority: referral.PriorityRoutine,
		AdmissionDate:      referral.NewOptDate(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)),
		DischargeReadyDate: referral.NewOptDate(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)),
	}, referral.CreateReferralParams{})
	if err != nil {
		t.Fatal(err)
	}
	if problem, ok := bad.(*referral.CreateReferralBadRequest); !ok || problem.Status != http.StatusBadRequest || problem.Errors[0].Field.Value != "dischargeReadyDate" {
		t.Errorf("discharge-ready before admission answered %T %+v, want the typed 400 problem naming the field", bad, bad)
	}
}
