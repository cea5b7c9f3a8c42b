// Package services is the home of the tenant services — referral, housing options, reporting and
// the portal — each in its own subpackage, all run by the one `homeward` binary as subcommands,
// one process per tenant.
package services
