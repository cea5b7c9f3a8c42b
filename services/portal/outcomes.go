package portal

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/homeward-dev/homeward/clients/reporting"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/calendar"
	"github.com/homeward-dev/homeward/services/portal/ui"
)

// reportingSession hands the reporting service the signed-in user's own session: the service
// decides what the user's role may see (a commissioner's figures come under disclosure control).
type reportingSession struct{}

func (reportingSession) SessionCookie(ctx context.Context, _ reporting.OperationName) (reporting.SessionCookie, error) {
	v, _ := ctx.Value(sessionValueKey{}).(string)
	return reporting.SessionCookie{APIKey: v}, nil
}

func (reportingSession) Bearer(context.Context, reporting.OperationName) (reporting.Bearer, error) {
	return reporting.Bearer{}, skip
}

func (reportingSession) SessionToken(context.Context, reporting.OperationName) (reporting.SessionToken, error) {
	return reporting.SessionToken{}, skip
}

// period is the span a report covers: from its first day to the day after its last.
type period struct {
	Key, Label string
	From, To   calendar.Date
}

// periods are the choices of the outcomes page, newest first: the last twelve months, the financial
// years, then each of the last eight quarters. Months are whole, so the charts' bars are too.
func periods(today calendar.Date) []period {
	month := calendar.Date{Year: today.Year, Month: today.Month, Day: 1}
	addMonths := func(d calendar.Date, n int) calendar.Date {
		t := time.Date(d.Year, d.Month+time.Month(n), 1, 12, 0, 0, 0, time.UTC)
		return calendar.Date{Year: t.Year(), Month: t.Month(), Day: 1}
	}
	fyStart := calendar.Date{Year: today.Year, Month: 4, Day: 1}
	if today.Month < 4 {
		fyStart.Year--
	}
	out := []period{
		{Key: "12m", Label: "Last 12 months", From: addMonths(month, -11), To: addMonths(month, 1)},
		{Key: "fy", Label: fmt.Sprintf("This financial year (April %d to March %d)", fyStart.Year, fyStart.Year+1), From: fyStart, To: addMonths(fyStart, 12)},
		{Key: "fy-1", Label: fmt.Sprintf("Last financial year (April %d to March %d)", fyStart.Year-1, fyStart.Year), From: addMonths(fyStart, -12), To: fyStart},
	}
	quarter := addMonths(month, -int((month.Month-1)%3))
	for i := range 8 {
		from := addMonths(quarter, -3*i)
		to := addMonths(from, 3)
		last := addMonths(to, -1)
		out = append(out, period{Key: "q" + from.String(), From: from, To: to,
			Label: fmt.Sprintf("%s to %s %d", from.Month, last.Month, last.Year)})
	}
	return out
}

// choosePeriod reads the page's period: a listed choice, or from and to given as dates (a link
// from elsewhere); anything else is a problem to show beside the choices.
func choosePeriod(q url.Values, today calendar.Date) (period, string) {
	choices := periods(today)
	if q.Get("from") != "" || q.Get("to") != "" {
		from, errFrom := calendar.ParseDate(q.Get("from"))
		to, errTo := calendar.ParseDate(q.Get("to"))
		switch {
		case errFrom != nil || errTo != nil:
			return choices[0], "Enter the period's dates as YYYY-MM-DD, for example 2026-04-01"
		case !from.Before(to):
			return choices[0], "The period must end after it starts"
		case to.Year-from.Year > 5:
			return choices[0], "Choose a period of five years or less"
		}
		return period{Key: "custom", From: from, To: to, Label: formatDay(from) + " to " + formatDay(to.AddDays(-1))}, ""
	}
	key := q.Get("period")
	if key == "" {
		return choices[0], ""
	}
	if i := slices.IndexFunc(choices, func(p period) bool { return p.Key == key }); i >= 0 {
		return choices[i], ""
	}
	return choices[0], "Choose a period from the list"
}

func formatDay(d calendar.Date) string {
	return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Format("2 January 2006")
}

func dateOf(d calendar.Date) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
}

// figure is one line of a summary list.
type figure struct{ Label, Value string }

// outcomesPage is what the outcomes template shows; every figure is the reporting service's, as text.
type outcomesPage struct {
	Period            period
	Periods           ui.Select
	PeriodProblem     string
	CSV               string
	Controlled        bool
	CountedTo         string
	Headline, Savings []figure
	Response          []figure
	Rehousing         []figure
	Outcomes          []figure
	Delays            *ui.Table
	Schemes           *ui.Table
	Destinations      *ui.Table
	Charts            []chartWithTable
}

type chartWithTable struct {
	Title string
	Chart template.HTML
	Table *ui.Table
}

// outcomes is the managers' and commissioners' dashboard, from the reporting service only: the
// portal formats the figures it is given and never computes one.
func (p *Portal) outcomes(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.require(w, r, auth.ReportRead); !ok {
		return
	}
	today := calendar.DateOf(p.app.Now())
	per, problem := choosePeriod(r.URL.Query(), today)
	ctx := withSession(r)
	var series *reporting.Series
	seriesDone := make(chan error, 1)
	var seriesRes reporting.GetMonthlyReportRes
	go func() {
		var err error
		seriesRes, err = p.reports.GetMonthlyReport(ctx, reporting.GetMonthlyReportParams{From: dateOf(per.From), To: dateOf(per.To)})
		seriesDone <- err
	}()
	res, err := p.reports.GetReport(ctx, reporting.GetReportParams{From: dateOf(per.From), To: dateOf(per.To)})
	seriesErr := <-seriesDone
	report, ok := expect[reporting.Report](p, w, r, res, err)
	if !ok {
		return
	}
	if series, ok = expect[reporting.Series](p, w, r, seriesRes, seriesErr); !ok {
		return
	}
	data := outcomesPage{Period: per, PeriodProblem: problem, Controlled: report.DisclosureControl.Value,
		CSV: "/outcomes.csv?" + url.Values{"from": {per.From.String()}, "to": {per.To.String()}}.Encode()}
	data.Periods = ui.Select{Field: ui.Field{ID: "period", Name: "period", Label: ui.Label{Text: "Period"}}, Value: per.Key}
	if problem != "" {
		data.Periods.ErrorMessage = &ui.ErrorMessage{Text: problem}
	}
	if per.Key == "custom" {
		data.Periods.Items = append(data.Periods.Items, ui.SelectItem{Value: "custom", Text: per.Label})
	}
	for _, c := range periods(today) {
		data.Periods.Items = append(data.Periods.Items, ui.SelectItem{Value: c.Key, Text: c.Label})
	}
	if report.CountedTo.Set && report.CountedTo.Value.Before(dateOf(per.To)) {
		data.CountedTo = formatDay(calendar.DateOf(report.CountedTo.Value.AddDate(0, 0, -1).Add(12 * time.Hour)))
	}
	fillOutcomes(&data, report)
	data.Charts = monthlyCharts(series)
	p.render(w, r, http.StatusOK, "outcomes", view{Title: "Outcomes", Data: data})
}

func fillOutcomes(data *outcomesPage, rep *reporting.Report) {
	refs, resp, delays := rep.Referrals.Value, rep.ResponseTargets.Value, rep.Delays.Value
	housing, out := rep.Rehousing.Value, rep.Outcomes.Value
	data.Headline = []figure{
		{"Referrals received", countText(refs.Received)},
		{"Bed days saved by rehousing", intText(housing.BedDaysSaved)},
		{"Delayed days before discharge", intText(delays.DelayedDays)},
	}
	if s := rep.Savings; s.Set && !s.Null {
		v := s.Value
		data.Savings = []figure{
			{"NHS cost avoided", moneyText(v.NhsCostAvoided)}, {"Care cost avoided", moneyText(v.CareCostAvoided)},
			{"Gross savings", moneyText(v.GrossSavings)}, {"Cost of the scheme", moneyText(v.SchemeCost)},
			{"Net savings", moneyText(v.NetSavings)},
			{"Savings to the NHS", moneyText(v.Split.Value.Nhs)}, {"Savings to the council", moneyText(v.Split.Value.LocalAuthority)},
			{"Savings to the housing provider", moneyText(v.Split.Value.HousingProvider)},
		}
		if v.Roi.Set && !v.Roi.Null {
			data.Savings = append(data.Savings, figure{"Return on investment", v.Roi.Value.Text.Value})
		} else {
			data.Savings = append(data.Savings, figure{"Return on investment", "Not applicable: no scheme cost in the period"})
		}
	}
	data.Response = []figure{
		{"Responses due", countText(resp.Due)}, {"Responses on time", countText(resp.Met)},
		{"Responses on time (%)", ratioText(resp.PercentMet, "%")},
	}
	data.Rehousing = []figure{
		{"People rehoused", countText(housing.Rehoused)}, {"Of whom from hospital", countText(housing.HospitalRehoused)},
		{"Median days to rehoused", ratioText(housing.MedianDaysToRehoused, " days")},
		{"Waiting-list baseline", intText(housing.WaitingListBaselineDays) + " days"},
	}
	fu := out.FollowUp91.Value
	data.Outcomes = []figure{
		{"91-day follow-ups recorded", countText(fu.Recorded)}, {"At home at 91 days", countText(fu.AtHome)},
		{"At home at 91 days (%)", ratioText(fu.PercentAtHome, "%")},
		{"Readmitted within 30 days (%)", ratioText(out.Readmissions30.Value.Percent, "%")},
	}
	if reasons := delays.ByReason.Value; len(reasons) > 0 {
		data.Delays = &ui.Table{Caption: "Delayed days by reason", CaptionClasses: "govuk-table__caption--m",
			Head: []ui.TableCell{{Text: "Reason"}, {Text: "Delayed days", Format: "numeric"}}}
		keys := sortedKeys(reasons)
		for _, k := range keys {
			data.Delays.Rows = append(data.Delays.Rows, []ui.TableCell{{Text: ui.Text(sentenceCase(k))}, {Text: ui.Text(thousands(reasons[k])), Format: "numeric"}})
		}
	}
	if schemes := rep.StepDown.Value.Schemes; len(schemes) > 0 {
		data.Schemes = &ui.Table{Caption: "Step-down schemes", CaptionClasses: "govuk-table__caption--m",
			Head: []ui.TableCell{{Text: "Scheme"}, {Text: "Units", Format: "numeric"}, {Text: "Occupancy", Format: "numeric"}, {Text: "Stays", Format: "numeric"},
				{Text: "Average stay", Format: "numeric"}, {Text: "Average void turnaround", Format: "numeric"}, {Text: "Over-stays now", Format: "numeric"}}}
		for _, s := range schemes {
			data.Schemes.Rows = append(data.Schemes.Rows, []ui.TableCell{{Text: ui.Text(s.Scheme.Value)}, {Text: ui.Text(intText(s.Units)), Format: "numeric"},
				{Text: ui.Text(ratioText(s.OccupancyPercent, "%")), Format: "numeric"}, {Text: ui.Text(countText(s.Stays)), Format: "numeric"},
				{Text: ui.Text(ratioText(s.AverageStayNights, " nights")), Format: "numeric"}, {Text: ui.Text(ratioText(s.AverageTurnaroundDays, " days")), Format: "numeric"},
				{Text: ui.Text(countText(s.OverStaysNow)), Format: "numeric"}})
		}
	}
	if dest := out.Destinations.Value; len(dest) > 0 {
		data.Destinations = &ui.Table{Caption: "Where people went on discharge", CaptionClasses: "govuk-table__caption--m",
			Head: []ui.TableCell{{Text: "Destination"}, {Text: "People", Format: "numeric"}, {Text: "Share", Format: "numeric"}}}
		for _, k := range sortedKeys(dest) {
			data.Destinations.Rows = append(data.Destinations.Rows, []ui.TableCell{{Text: ui.Text(sentenceCase(k))},
				{Text: ui.Text(countText(dest[k].Count)), Format: "numeric"}, {Text: ui.Text(ratioText(dest[k].Percent, "%")), Format: "numeric"}})
		}
	}
}

// monthlyCharts draws the series month by month, each chart with its table.
func monthlyCharts(s *reporting.Series) []chartWithTable {
	if len(s.Months) == 0 {
		return nil
	}
	type series struct {
		id, title, column string
		value             func(reporting.SeriesMonthsItem) (float64, bool, string)
	}
	count := func(c reporting.OptCount) (float64, bool, string) {
		if c.Set && c.Value.IsInt() {
			return float64(c.Value.Int), true, thousands(c.Value.Int)
		}
		return 0, false, countText(c)
	}
	all := []series{
		{"referrals", "Referrals received by month", "Referrals", func(m reporting.SeriesMonthsItem) (float64, bool, string) { return count(m.ReferralsReceived) }},
		{"bed-days", "Bed days saved by month", "Bed days saved", func(m reporting.SeriesMonthsItem) (float64, bool, string) {
			return float64(m.BedDaysSaved.Value), m.BedDaysSaved.Set, intText(m.BedDaysSaved)
		}},
		{"net-savings", "Net savings by month", "Net savings", func(m reporting.SeriesMonthsItem) (float64, bool, string) {
			if !m.NetSavings.Set || m.NetSavings.Null {
				return 0, false, "Not applicable"
			}
			v, err := strconv.ParseFloat(string(m.NetSavings.Value), 64)
			return v, err == nil, moneyText(reporting.NewOptMoney(m.NetSavings.Value))
		}},
		{"occupancy", "Step-down occupancy by month", "Occupancy", func(m reporting.SeriesMonthsItem) (float64, bool, string) {
			r := m.OccupancyPercent
			return r.Value.Float64, r.Set && r.Value.IsFloat64(), ratioText(r, "%")
		}},
	}
	out := make([]chartWithTable, 0, len(all))
	for _, c := range all {
		chart := ui.BarChart{ID: "chart-" + c.id, Title: c.title,
			Description: fmt.Sprintf("Bar chart, one bar per month from %s to %s. The table after it gives every value.",
				monthName(s.Months[0].Month.Value), monthName(s.Months[len(s.Months)-1].Month.Value))}
		table := &ui.Table{Caption: c.title + ": the figures", CaptionClasses: "govuk-visually-hidden",
			Head: []ui.TableCell{{Text: "Month"}, {Text: ui.Text(c.column), Format: "numeric"}}}
		for _, m := range s.Months {
			v, has, text := c.value(m)
			chart.Bars = append(chart.Bars, ui.Bar{Label: shortMonth(m.Month.Value), Value: v, HasBar: has && v > 0, Display: text})
			table.Rows = append(table.Rows, []ui.TableCell{{Text: ui.Text(monthName(m.Month.Value))}, {Text: ui.Text(text), Format: "numeric"}})
		}
		out = append(out, chartWithTable{Title: c.title, Chart: chart.HTML(), Table: table})
	}
	return out
}

// outcomesCSV is the report for the period as the reporting service writes it: the same file a
// manager gets from the service, and for a commissioner the controlled one.
func (p *Portal) outcomesCSV(w http.ResponseWriter, r *http.Request) {
	if _, ok := p.require(w, r, auth.ReportRead); !ok {
		return
	}
	per, problem := choosePeriod(r.URL.Query(), calendar.DateOf(p.app.Now()))
	if problem != "" {
		p.render(w, r, http.StatusBadRequest, "problem", view{Title: "The report could not be made", Message: problem + "."})
		return
	}
	res, err := p.reports.GetReport(withSession(r), reporting.GetReportParams{From: dateOf(per.From), To: dateOf(per.To),
		Format: reporting.NewOptFormat(reporting.FormatCsv)})
	file, ok := expect[reporting.GetReportOKTextCsv](p, w, r, res, err)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="outcomes-%s-%s-to-%s.csv"`, p.app.Config.Partnership, per.From, per.To.AddDays(-1)))
	w.Header().Set("Cache-Control", "no-store")
	if _, err := io.Copy(w, file.Data); err != nil {
		p.app.Log.Warn("outcomes CSV cut short", "err", err)
	}
}

// countText is a count as the service gave it: a number, or "<5" under disclosure control.
func countText(c reporting.OptCount) string {
	switch {
	case !c.Set:
		return "–"
	case c.Value.IsString():
		return c.Value.String
	default:
		return thousands(c.Value.Int)
	}
}

// ratioText is a percentage or mean to one place, "withheld" under disclosure control, or a dash
// when there was nothing to divide by.
func ratioText(r reporting.OptRatio, unit string) string {
	switch {
	case !r.Set || r.Value.IsNull():
		return "–"
	case r.Value.IsString():
		return r.Value.String
	default:
		return strconv.FormatFloat(r.Value.Float64, 'f', 1, 64) + unit
	}
}

func intText(v reporting.OptInt) string {
	if !v.Set {
		return "–"
	}
	return thousands(v.Value)
}

// moneyText writes the service's pounds and pence with a pound sign and thousands separators.
func moneyText(m reporting.OptMoney) string {
	if !m.Set {
		return "–"
	}
	s := string(m.Value)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "−", s[1:]
	}
	pounds, pence, _ := strings.Cut(s, ".")
	n, err := strconv.Atoi(pounds)
	if err != nil {
		return string(m.Value)
	}
	return sign + "£" + thousands(n) + "." + pence
}

func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		return "−" + s
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func monthTime(month string) (time.Time, bool) {
	t, err := time.Parse("2006-01", month)
	return t, err == nil
}

func monthName(month string) string {
	if t, ok := monthTime(month); ok {
		return t.Format("January 2006")
	}
	return month
}

func shortMonth(month string) string {
	if t, ok := monthTime(month); ok {
		return t.Format("Jan 2006")
	}
	return month
}
