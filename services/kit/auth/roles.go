// Package auth authenticates requests with the tenant's Kratos and decides what each role may do.
package auth

import (
	"slices"
)

// Role is a partnership role, kept in an identity's metadata_public where users cannot edit it.
type Role string

// The roles of a partnership.
const (
	RoleReferrer         Role = "referrer"
	RoleCoordinator      Role = "coordinator"
	RoleHousingOfficer   Role = "housing-officer"
	RoleManager          Role = "manager"
	RoleCommissioner     Role = "commissioner"
	RolePartnershipAdmin Role = "partnership-admin"
)

// Roles lists every role.
var Roles = []Role{RoleReferrer, RoleCoordinator, RoleHousingOfficer, RoleManager, RoleCommissioner, RolePartnershipAdmin}

// Permission is one thing a caller may do.
type Permission string

// Permissions of the tenant services.
const (
	// ReferralCreate: refer a person.
	ReferralCreate Permission = "referral:create"
	// ReferralReadOwn: read the referrals one made oneself.
	ReferralReadOwn Permission = "referral:read-own"
	// ReferralRead: read, list and search every referral, personal data included.
	ReferralRead Permission = "referral:read"
	// ReferralManage: triage, move through the workflow, assign, record contact and outcomes.
	ReferralManage Permission = "referral:manage"
	// ReferralWork: add notes and work on commissioned actions.
	ReferralWork Permission = "referral:work"
	// AuditRead: read the audit trail of a record.
	AuditRead Permission = "audit:read"
	// CalendarManage: declare the partnership's closure days.
	CalendarManage Permission = "calendar:manage"
	// HousingRead: see units, placements and rehousing cases.
	HousingRead Permission = "housing:read"
	// HousingManage: manage units, book placements and record rehousing.
	HousingManage Permission = "housing:manage"
	// ReportRead: read aggregate reports; personal data never appears in them.
	ReportRead Permission = "report:read"
	// ReportRebuild: recompute a partnership's aggregates from its event stream.
	ReportRebuild Permission = "report:rebuild"
	// RecordsImport: bring a partnership's existing records in from files (POST /v1/imports).
	RecordsImport Permission = "records:import"
	// UsersManage: invite staff, change their roles, deactivate and reactivate them (the portal, through
	// Kratos' admin API).
	UsersManage Permission = "users:manage"
)

// permissions is the explicit table of what each role may do; the tests pin every cell.
var permissions = map[Role][]Permission{
	RoleReferrer:         {ReferralCreate, ReferralReadOwn},
	RoleCoordinator:      {ReferralCreate, ReferralReadOwn, ReferralRead, ReferralManage, ReferralWork, HousingRead, HousingManage, ReportRead},
	RoleHousingOfficer:   {ReferralReadOwn, ReferralRead, ReferralWork, HousingRead, HousingManage, ReportRead},
	RoleManager:          {ReferralCreate, ReferralReadOwn, ReferralRead, ReferralManage, ReferralWork, HousingRead, HousingManage, ReportRead},
	RoleCommissioner:     {ReportRead},
	RolePartnershipAdmin: {AuditRead, CalendarManage, ReportRead, ReportRebuild, RecordsImport, UsersManage},
}

// Allowed reports whether any of roles grants p.
func Allowed(roles []Role, p Permission) bool {
	for _, r := range roles {
		if slices.Contains(permissions[r], p) {
			return true
		}
	}
	return false
}

// KnownRole reports whether r is a role of the platform.
func KnownRole(r Role) bool { return slices.Contains(Roles, r) }
