package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PartnershipSpec is what a platform admin asks for: who the partners are, where the portal lives,
// who administers it, how the services run, and the policy and cost model the services apply.
//
// +kubebuilder:validation:XValidation:rule="!has(self.identity) || !has(self.identity.allowedEmailDomains) || size(self.identity.allowedEmailDomains) == 0 || self.admins.all(a, self.identity.allowedEmailDomains.exists(d, a.email.lowerAscii().endsWith('@' + d)))",message="every admin's email must be in one of identity.allowedEmailDomains"
type PartnershipSpec struct {
	// DisplayName is the partnership's name as its staff know it, e.g. "Oldham Hospital2Home".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=100
	// +kubebuilder:validation:XValidation:rule="self == self.trim()",message="displayName must not start or end with spaces"
	DisplayName string `json:"displayName"`

	// Region is the NHS region or local area the partnership serves, e.g. "North West".
	// +optional
	// +kubebuilder:validation:MaxLength=100
	Region string `json:"region,omitempty"`

	// Partners are the organisations working together: at least one.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=50
	// +listType=map
	// +listMapKey=name
	Partners []Partner `json:"partners"`

	// Host is the DNS name of the tenant's portal (RFC 1123). Hosts are unique across partnerships:
	// the newer of two claimants is refused with reason HostConflict.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$')",message="host must be a lower-case DNS name (RFC 1123) with at least two labels, e.g. oldham.homeward.example"
	Host string `json:"host"`

	// Admins become partnership-admin identities in the tenant's Kratos and are sent an invitation.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	// +listType=map
	// +listMapKey=email
	Admins []Admin `json:"admins"`

	// Services sets how many replicas of each tenant service run.
	// +optional
	// +kubebuilder:default={}
	Services ServiceReplicas `json:"services,omitempty"`

	// Policy holds the response targets and time limits the services enforce.
	// +optional
	// +kubebuilder:default={}
	Policy Policy `json:"policy,omitempty"`

	// CostModel holds the figures the reporting service turns into savings and return on investment.
	CostModel CostModel `json:"costModel"`

	// Storage configures the tenant's Redis.
	// +optional
	// +kubebuilder:default={}
	Storage Storage `json:"storage,omitempty"`

	// Identity configures the tenant's Kratos.
	// +optional
	// +kubebuilder:default={}
	Identity Identity `json:"identity,omitempty"`

	// Observability configures the tenant's traces.
	// +optional
	// +kubebuilder:default={}
	Observability Observability `json:"observability,omitempty"`

	// Resources are the hard limits of the tenant namespace's ResourceQuota.
	// +optional
	// +kubebuilder:default={}
	Resources TenantResources `json:"resources,omitempty"`

	// DeletionPolicy says what deleting the Partnership removes. Retain (the default) removes the
	// workloads but keeps volumes, secrets and the namespace's data, labelled so that a new
	// Partnership of the same name adopts them; Delete removes everything.
	// +optional
	// +kubebuilder:default=Retain
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// Suspend scales every workload to zero and keeps all data.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// PartnerType is the kind of organisation a partner is.
// +kubebuilder:validation:Enum=HousingProvider;LocalAuthority;NHSTrust;IntegratedCareBoard;CareProvider;VoluntarySector
type PartnerType string

// Partner types.
const (
	PartnerHousingProvider     PartnerType = "HousingProvider"
	PartnerLocalAuthority      PartnerType = "LocalAuthority"
	PartnerNHSTrust            PartnerType = "NHSTrust"
	PartnerIntegratedCareBoard PartnerType = "IntegratedCareBoard"
	PartnerCareProvider        PartnerType = "CareProvider"
	PartnerVoluntarySector     PartnerType = "VoluntarySector"
)

// Partner is one organisation in the partnership.
type Partner struct {
	// Name of the organisation, e.g. "First Choice Homes Oldham".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=200
	Name string `json:"name"`

	Type PartnerType `json:"type"`

	// ODSCode is the NHS Organisation Data Service code, for NHS bodies (e.g. "RW6").
	// +optional
	// +kubebuilder:validation:MaxLength=10
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Z0-9]{3,10}$')",message="odsCode must be 3 to 10 upper-case letters or digits, e.g. RW6"
	ODSCode string `json:"odsCode,omitempty"`
}

// Admin is a partnership administrator: invites staff and sets their roles.
type Admin struct {
	// Email is the admin's login and where the invitation goes.
	// +kubebuilder:validation:MaxLength=254
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\\\\.[A-Za-z0-9-]+)+$')",message="email must be an email address, e.g. key.worker@fcho.example"
	Email string `json:"email"`

	// Name is the admin's full name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=200
	Name string `json:"name"`
}

// ServiceReplicas is the number of replicas of each tenant service; 0 turns a service off.
type ServiceReplicas struct {
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=20
	Referral *int32 `json:"referral,omitempty"`
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=20
	HousingOptions *int32 `json:"housingOptions,omitempty"`
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=20
	Reporting *int32 `json:"reporting,omitempty"`
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=20
	Portal *int32 `json:"portal,omitempty"`
}

// TimeUnit says how a response target is counted.
// +kubebuilder:validation:Enum=Hours;WorkingDays
type TimeUnit string

// Time units: clock hours, or working days (weekends and England & Wales bank holidays skipped).
const (
	UnitHours       TimeUnit = "Hours"
	UnitWorkingDays TimeUnit = "WorkingDays"
)

// ResponseTarget is a deadline counted in an explicit unit, so "3" can never be misread.
type ResponseTarget struct {
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	Value int32    `json:"value"`
	Unit  TimeUnit `json:"unit"`
}

// ResponseTargets are the first-contact deadlines per referral priority.
type ResponseTargets struct {
	// +optional
	// +kubebuilder:default={value: 24, unit: Hours}
	Emergency *ResponseTarget `json:"emergency,omitempty"`
	// +optional
	// +kubebuilder:default={value: 3, unit: WorkingDays}
	Urgent *ResponseTarget `json:"urgent,omitempty"`
	// +optional
	// +kubebuilder:default={value: 10, unit: WorkingDays}
	Routine *ResponseTarget `json:"routine,omitempty"`
}

// Policy holds the partnership's service rules.
type Policy struct {
	// +optional
	// +kubebuilder:default={}
	ResponseTargets ResponseTargets `json:"responseTargets,omitempty"`

	// MaxStayDays is the longest planned stay in a step-down unit.
	// +optional
	// +kubebuilder:default=42
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=365
	MaxStayDays int32 `json:"maxStayDays,omitempty"`

	// FollowUpDays are the days after discharge when a follow-up is due, ascending.
	// +optional
	// +kubebuilder:default={30,91}
	// +kubebuilder:validation:MaxItems=6
	// +kubebuilder:validation:items:Minimum=1
	// +kubebuilder:validation:items:Maximum=730
	// +kubebuilder:validation:XValidation:rule="self.isSorted()",message="followUpDays must be in ascending order"
	// +listType=set
	FollowUpDays []int32 `json:"followUpDays,omitempty"`

	// RetentionDays is how long personal data of a closed case is kept (default 8 years).
	// +optional
	// +kubebuilder:default=2922
	// +kubebuilder:validation:Minimum=30
	// +kubebuilder:validation:Maximum=36525
	RetentionDays int32 `json:"retentionDays,omitempty"`

	// HousingBenefitClaimDays is how many days after arrival a step-down stay in a unit eligible
	// for housing benefit is flagged when no claim has been recorded (late claims leave arrears).
	// +optional
	// +kubebuilder:default=14
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=90
	HousingBenefitClaimDays int32 `json:"housingBenefitClaimDays,omitempty"`

	// LateEntryDays is how many days back staff may record what already happened — an arrival, a
	// departure, a first contact, a discharge, a move-in — each marked as a late entry; 0 allows none.
	// +optional
	// +kubebuilder:default=31
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=366
	LateEntryDays *int32 `json:"lateEntryDays,omitempty"`
}

// Money is an amount as a decimal string with at most two decimal places, e.g. "536.77", so it is
// never rounded through a float.
// +kubebuilder:validation:MaxLength=16
// +kubebuilder:validation:XValidation:rule="self.matches('^(0|[1-9][0-9]{0,11})(\\\\.[0-9]{1,2})?$')",message="money must be a decimal string with at most 2 decimal places, e.g. \"536.77\""
type Money string

// Currency of a cost model.
// +kubebuilder:validation:Enum=GBP
type Currency string

// SavingsSplit is how savings divide between the stakeholders, in percent, summing to 100.
// +kubebuilder:validation:XValidation:rule="self.nhs + self.localAuthority + self.housingProvider == 100",message="savingsSplit percentages must sum to 100"
type SavingsSplit struct {
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	NHS int32 `json:"nhs"`
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	LocalAuthority int32 `json:"localAuthority"`
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	HousingProvider int32 `json:"housingProvider"`
}

// CostModel holds what a day or week of each kind of care costs and what the scheme costs.
type CostModel struct {
	// +optional
	// +kubebuilder:default=GBP
	Currency Currency `json:"currency,omitempty"`
	// BedDayCost is the cost of one acute hospital bed day.
	BedDayCost Money `json:"bedDayCost"`
	// ResidentialCareWeekly is the weekly cost of a residential care placement.
	ResidentialCareWeekly Money `json:"residentialCareWeekly"`
	// StepDownWeekly is the weekly cost of a step-down unit.
	StepDownWeekly Money `json:"stepDownWeekly"`
	// WaitingListBaselineDays is how long rehousing takes through the waiting list alone.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=3650
	WaitingListBaselineDays int32 `json:"waitingListBaselineDays"`
	// SchemeAnnualCost is what running the scheme costs a year.
	SchemeAnnualCost Money        `json:"schemeAnnualCost"`
	SavingsSplit     SavingsSplit `json:"savingsSplit"`
}

// AppendFsync says when Redis flushes its append-only file to disk.
// +kubebuilder:validation:Enum=always;everysec
type AppendFsync string

// AppendFsync values: always (no write is ever lost) or everysec (up to a second lost on a crash).
const (
	AppendFsyncAlways   AppendFsync = "always"
	AppendFsyncEverySec AppendFsync = "everysec"
)

// Storage configures the tenant's data stores.
type Storage struct {
	// +optional
	// +kubebuilder:default={}
	Redis RedisStorage `json:"redis,omitempty"`
}

// RedisStorage configures the tenant's Redis, its system of record.
// +kubebuilder:validation:XValidation:rule="!has(self.size) || quantity(string(self.size)).isGreaterThan(quantity('0'))",message="storage.redis.size must be greater than zero"
type RedisStorage struct {
	// AppendFsync defaults to always: health data is never lost.
	// +optional
	// +kubebuilder:default=always
	AppendFsync AppendFsync `json:"appendFsync,omitempty"`
	// Size of the persistent volume.
	// +optional
	// +kubebuilder:default="5Gi"
	Size *resource.Quantity `json:"size,omitempty"`
	// StorageClassName of the persistent volume; the cluster default when empty. A StorageClass is
	// named by a lower-case DNS subdomain, which the volume claims the operator makes must carry.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	StorageClassName *string `json:"storageClassName,omitempty"`
}

// Identity configures the tenant's Kratos.
type Identity struct {
	// AllowedEmailDomains restricts who may be invited, e.g. ["nhs.net", "oldham.gov.uk"]. Empty
	// allows any domain.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MaxLength=253
	// +kubebuilder:validation:items:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$')",message="allowedEmailDomains entries must be lower-case domain names, e.g. nhs.net"
	// +listType=set
	AllowedEmailDomains []string `json:"allowedEmailDomains,omitempty"`
	// SessionLifespan is how long a login lasts.
	// +optional
	// +kubebuilder:default="8h"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('5m') && duration(self) <= duration('720h')",message="sessionLifespan must be between 5m and 720h"
	SessionLifespan *metav1.Duration `json:"sessionLifespan,omitempty"`
	// ExternalDSNSecretRef points at a Secret key holding an external database DSN for Kratos; by
	// default Kratos keeps SQLite on a volume.
	// +optional
	ExternalDSNSecretRef *corev1.SecretKeySelector `json:"externalDSNSecretRef,omitempty"`
}

// Observability configures what the tenant's processes report.
type Observability struct {
	// TraceSamplePercent is the share of the traces the tenant's processes start (a staff member's
	// click, a sweep) that are kept and exported; a trace a caller started follows the caller's choice.
	// +optional
	// +kubebuilder:default=100
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	TraceSamplePercent *int32 `json:"traceSamplePercent,omitempty"`
}

// TenantResources are the hard limits of the tenant namespace.
type TenantResources struct {
	// +optional
	// +kubebuilder:default="4"
	RequestsCPU *resource.Quantity `json:"requestsCPU,omitempty"`
	// +optional
	// +kubebuilder:default="8Gi"
	RequestsMemory *resource.Quantity `json:"requestsMemory,omitempty"`
	// LimitsCPU leaves room for a rolling update: every container is limited to one CPU, and each
	// Deployment starts one new pod before it stops an old one.
	// +optional
	// +kubebuilder:default="16"
	LimitsCPU *resource.Quantity `json:"limitsCPU,omitempty"`
	// +optional
	// +kubebuilder:default="16Gi"
	LimitsMemory *resource.Quantity `json:"limitsMemory,omitempty"`
	// +optional
	// +kubebuilder:default="50Gi"
	RequestsStorage *resource.Quantity `json:"requestsStorage,omitempty"`
	// +optional
	// +kubebuilder:default=50
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	Pods int32 `json:"pods,omitempty"`
	// RequestsEphemeralStorage and LimitsEphemeralStorage bound the node disk the tenant's pods may
	// use outside their volumes (logs, /tmp); each container gets a default from the LimitRange.
	// +optional
	// +kubebuilder:default="10Gi"
	RequestsEphemeralStorage *resource.Quantity `json:"requestsEphemeralStorage,omitempty"`
	// +optional
	// +kubebuilder:default="20Gi"
	LimitsEphemeralStorage *resource.Quantity `json:"limitsEphemeralStorage,omitempty"`
	// Objects bounds how many of each kind of object the tenant namespace may hold, so nobody with
	// write access there can fill the API server.
	// +optional
	// +kubebuilder:default={}
	Objects ObjectCounts `json:"objects,omitempty"`
}

// ObjectCounts are the most objects of each kind a tenant namespace holds.
type ObjectCounts struct {
	// +optional
	// +kubebuilder:default=40
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	ConfigMaps int32 `json:"configMaps,omitempty"`
	// Secrets include one per admin invitation waiting to be used.
	// +optional
	// +kubebuilder:default=60
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	Secrets int32 `json:"secrets,omitempty"`
	// +optional
	// +kubebuilder:default=20
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	Services int32 `json:"services,omitempty"`
	// +optional
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	PersistentVolumeClaims int32 `json:"persistentVolumeClaims,omitempty"`
}

// DeletionPolicy says what deleting a Partnership removes.
// +kubebuilder:validation:Enum=Retain;Delete
type DeletionPolicy string

// Deletion policies.
const (
	DeletionRetain DeletionPolicy = "Retain"
	DeletionDelete DeletionPolicy = "Delete"
)

// Condition types of a Partnership. Ready summarises the areas; Deleting is True while a deleted
// Partnership's tenant is being taken down (as Cluster API reports it).
const (
	ConditionReady          = "Ready"
	ConditionNamespaceReady = "NamespaceReady"
	// ConditionAccessReady covers RBAC, ResourceQuota, LimitRange and NetworkPolicies.
	ConditionAccessReady  = "AccessReady"
	ConditionStorageReady = "StorageReady"
	// ConditionIdentityReady means Kratos answers and every admin has been invited.
	ConditionIdentityReady = "IdentityReady"
	// ConditionServicesReady means the services run and the portal is published.
	ConditionServicesReady = "ServicesReady"
	ConditionDeleting      = "Deleting"
)

// Condition reasons while things are on their way, or held on purpose: events about them are Normal.
const (
	ReasonReady       = "Ready"
	ReasonProgressing = "Progressing"
	// ReasonNamespaceTerminating: the tenant's namespace is still being deleted from before.
	ReasonNamespaceTerminating = "NamespaceTerminating"
	ReasonRedisStarting        = "RedisStarting"
	// ReasonKratosStarting: Kratos is migrating its database or starting.
	ReasonKratosStarting   = "KratosStarting"
	ReasonServicesStarting = "ServicesStarting"
	ReasonSuspended        = "Suspended"
	ReasonDeleting         = "Deleting"
)

// Condition reasons when something failed and a person may have to act: events about them are
// Warnings.
const (
	// ReasonFailed is an error no more specific reason names.
	ReasonFailed = "Failed"
	// ReasonApplyFailed: the API server refused or did not take a write of the tenant's objects.
	ReasonApplyFailed = "ApplyFailed"
	// ReasonNamespaceTaken: a namespace of the tenant's name exists and belongs to someone else.
	ReasonNamespaceTaken = "NamespaceTaken"
	// ReasonRedisNotAnswering: the tenant's Redis could not be reached or bootstrapped.
	ReasonRedisNotAnswering = "RedisNotAnswering"
	// ReasonAppendOnlyFileOff: the tenant's Redis runs without its append-only file, so a crash
	// would lose acknowledged writes; the tenant is refused until it is back on.
	ReasonAppendOnlyFileOff = "AppendOnlyFileOff"
	// ReasonKratosNotAnswering: the tenant's Kratos could not be started or reached.
	ReasonKratosNotAnswering = "KratosNotAnswering"
	// ReasonAdminInviteFailed: an admin could not be created or invited in Kratos.
	ReasonAdminInviteFailed = "AdminInviteFailed"
	// ReasonPortalNotPublished: the portal's Ingress could not be written.
	ReasonPortalNotPublished = "PortalNotPublished"
	// ReasonHostConflict: another Partnership claimed the host first.
	ReasonHostConflict = "HostConflict"
	// ReasonNotReady: a Secret the tenant needs is missing or incomplete.
	ReasonNotReady      = "NotReady"
	ReasonNoServiceBins = "ServiceBinaryMissing"
)

// FailureReasons are the reasons that mean something failed rather than is on its way.
var FailureReasons = []string{ReasonFailed, ReasonApplyFailed, ReasonNamespaceTaken, ReasonRedisNotAnswering,
	ReasonAppendOnlyFileOff, ReasonKratosNotAnswering, ReasonAdminInviteFailed, ReasonPortalNotPublished, ReasonHostConflict, ReasonNotReady, ReasonNoServiceBins}

// AdminInvitationState says where an admin's invitation stands.
type AdminInvitationState string

// Invitation states.
const (
	InvitationPending AdminInvitationState = "Pending"
	InvitationSent    AdminInvitationState = "Invited"
	InvitationFailed  AdminInvitationState = "Failed"
)

// AdminStatus is an admin's identity and invitation, without the secret link.
type AdminStatus struct {
	Email string `json:"email"`
	// IdentityID is the admin's Kratos identity.
	// +optional
	IdentityID string               `json:"identityID,omitempty"`
	Invitation AdminInvitationState `json:"invitation"`
	// InvitationSecret names the Secret in the tenant namespace holding the recovery link.
	// +optional
	InvitationSecret string `json:"invitationSecret,omitempty"`
	// +optional
	InvitationExpiresAt *metav1.Time `json:"invitationExpiresAt,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
}

// ServiceEndpoint is where one tenant component answers.
type ServiceEndpoint struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// Endpoints are the tenant's addresses.
type Endpoints struct {
	// Portal is the URL staff open in a browser.
	// +optional
	Portal string `json:"portal,omitempty"`
	// Services lists every component's address (in the local runtime, loopback URLs).
	// +optional
	// +listType=map
	// +listMapKey=name
	Services []ServiceEndpoint `json:"services,omitempty"`
}

// PartnershipStatus is what the operator observed and did.
type PartnershipStatus struct {
	// ObservedGeneration is the spec generation the conditions describe.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions describe the tenant's state, one per area plus Ready.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Namespace is the tenant namespace, hw-<name>.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// +optional
	Endpoints Endpoints `json:"endpoints,omitempty"`

	// Admins is the invitation state of each spec.admins entry.
	// +optional
	// +listType=map
	// +listMapKey=email
	Admins []AdminStatus `json:"admins,omitempty"`
}

// Partnership is one local hospital-discharge housing partnership (councils, housing providers,
// NHS trusts) and the isolated tenant the operator runs for it. Cluster-scoped, because it owns
// a namespace rather than living in one.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=pship,categories=homeward
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 40 && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must be a DNS label of at most 40 characters starting with a letter: it names the tenant namespace hw-<name>"
// +kubebuilder:printcolumn:name="Display Name",type=string,JSONPath=`.spec.displayName`
// +kubebuilder:printcolumn:name="Host",type=string,JSONPath=`.spec.host`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Partnership struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   PartnershipSpec   `json:"spec"`
	Status PartnershipStatus `json:"status,omitempty"`
}

// PartnershipList is a list of Partnerships.
//
// +kubebuilder:object:root=true
type PartnershipList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Partnership `json:"items"`
}
