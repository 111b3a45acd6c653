// Package event names every log event the service emits. The names are the product's interface:
// operators alert on them, so each is declared once here, used as event.X in code and tests, and
// listed in the README's "Logs" table (a test keeps the three in step).
package event

// Name is the value of a log line's "event" field.
type Name string

// Start, configuration and stop.
const (
	ServiceStarted          Name = "service_started"
	ResponderStarted        Name = "responder_started"
	OpsStarted              Name = "ops_started"
	DataDirNotPersistent    Name = "data_dir_not_persistent"
	LeftoversRemoved        Name = "leftovers_removed"
	CertificateRecovered    Name = "certificate_recovered"
	RecoverySkipped         Name = "recovery_skipped"
	RecoveryFailed          Name = "recovery_failed"
	LedgerRebuilt           Name = "ledger_rebuilt"
	Standby                 Name = "standby"
	LockAcquired            Name = "lock_acquired"
	LeaderElected           Name = "leader_elected"
	LedgerMerged            Name = "ledger_merged"
	LeadershipLost          Name = "leadership_lost"
	EtcdUnavailable         Name = "etcd_unavailable"
	EtcdInClear             Name = "etcd_credentials_in_clear"
	NotifyOpen              Name = "notify_open"
	NoContactEmail          Name = "no_contact_email"
	ShutdownStarted         Name = "shutdown_started"
	ShutdownComplete        Name = "shutdown_complete"
	ShutdownTimeout         Name = "shutdown_timeout"
	ShutdownOrdersAbandoned Name = "shutdown_orders_abandoned"
	Fatal                   Name = "fatal"
	SpawnFailed             Name = "spawn_failed"
	ACMEClient              Name = "acme_client"
	PanicRecovered          Name = "panic_recovered"
	AlertSent               Name = "alert_sent"
	AlertFailed             Name = "alert_failed"
)

// Discovery: which names DFP serves.
const (
	DomainDiscovered    Name = "domain_discovered"
	SwarmNotified       Name = "swarm_notified"
	DomainSkipped       Name = "domain_skipped"
	DomainExcluded      Name = "domain_excluded"
	MaxNamesReached     Name = "max_names_reached"
	SubdomainsUnlisted  Name = "subdomains_unlisted"
	DiscoveryEmpty      Name = "discovery_empty"
	DiscoveryFailed     Name = "discovery_failed"
	DomainRemoved       Name = "domain_removed"
	RetryRequested      Name = "retry_requested"
	RetryUnknown        Name = "retry_unknown"
	CertificateImported Name = "certificate_imported"
	ImportSkipped       Name = "import_skipped"
	PresenceCorrupt     Name = "presence_corrupt"
	PresenceWriteFailed Name = "presence_write_failed"
	StoreListFailed     Name = "store_list_failed"
)

// One name's certificate: renewal, orders, failures.
const (
	CertificateLoaded     Name = "certificate_loaded"
	CertificateUnusable   Name = "certificate_unusable"
	CertificateUnreadable Name = "certificate_unreadable"
	StateCorrupt          Name = "state_corrupt"
	StateWriteFailed      Name = "state_write_failed"
	RenewalDue            Name = "renewal_due"
	CertificateExpiring   Name = "certificate_expiring"
	IssuanceStarted       Name = "issuance_started"
	CertificateObtained   Name = "certificate_obtained"
	OrderAdopted          Name = "order_adopted"
	IssuanceFailed        Name = "issuance_failed"
	IssuanceWaiting       Name = "issuance_waiting"
	IssuanceDeferred      Name = "issuance_deferred"
	PreflightFailed       Name = "preflight_failed"
	PreflightIPv6         Name = "preflight_ipv6"
	PreflightViaProxy     Name = "preflight_via_proxy"
	RateLimited           Name = "rate_limited"
	DomainPaused          Name = "domain_paused"
	ARIWindow             Name = "ari_window"
	RenewalSpaced         Name = "renewal_spaced"
	ARIUnsupported        Name = "ari_unsupported"
	ARIFailed             Name = "ari_failed"
	ARIReplacesRefused    Name = "ari_replaces_refused"
	AccountRegistered     Name = "account_registered"
	AccountLoaded         Name = "account_loaded"
	AccountCheckFailed    Name = "account_check_failed"
	AccountRefused        Name = "account_refused"
)

// The rate limiter.
const (
	CaRateLimited     Name = "ca_rate_limited"
	LedgerCorrupt     Name = "ledger_corrupt"
	LedgerWriteFailed Name = "ledger_write_failed"
	OrderQueued       Name = "order_queued"
)

// Uploads to DFP and what the proxy serves.
const (
	CertificateUploaded  Name = "certificate_uploaded"
	UploadFailed         Name = "upload_failed"
	UploadRejected       Name = "upload_rejected"
	DistributeDisabled   Name = "distribute_disabled"
	DistributeRestored   Name = "distribute_restored"
	ReconcileUpload      Name = "reconcile_upload"
	ReconcileFailed      Name = "reconcile_failed"
	Reconciled           Name = "reconciled"
	DFPHasNewer          Name = "dfp_has_newer"
	CertificateServed    Name = "certificate_served"
	CertificateNotStored Name = "certificate_not_stored"
	CertificateStored    Name = "certificate_stored"
	ClockSkew            Name = "clock_skew"
	CertificateNotServed Name = "certificate_not_served"
	ServeCheckFailed     Name = "serve_check_failed"
	// The proxy watch (sampled handshakes between uploads).
	ProxyNotServing       Name = "proxy_not_serving"
	ProxyLostCertificates Name = "proxy_lost_certificates"
)
