// Package dnsproviders builds the DNS-01 provider DNS_PROVIDER names. Only the binary links it, so
// the other packages' tests do not link any provider's SDK.
//
// Linking a provider costs memory whether or not it is used: its packages' initialisation touches
// their pages and fills their tables. Every lego provider together adds about 19 MB of resident
// memory to a small program (go run ./test/providercost -p all), the default build's set about 5
// MB; in the service, every provider costs about 20 MiB more than the default set at the start (the
// code pages are released once the service idles, so idle it costs 1-2 MiB). So the default
// build links the providers of the DNS hosts people who run their own Swarm use most (Cloudflare,
// Route 53, DigitalOcean, Hetzner, OVH, Gandi, GoDaddy, Namecheap, Linode, DuckDNS, Porkbun,
// deSEC, INWX, IONOS, Namesilo, Vultr, DNSimple, netcup, TransIP), and the three that reach any
// server of one's own (rfc2136 for BIND, PowerDNS, Knot or Windows DNS; httpreq, a webhook; exec,
// a script). Providers behind a large vendor SDK (Google Cloud DNS alone adds about 10 MB, Azure
// about 4 MB) and the other 170 are in the build with the allproviders tag (the Dockerfile's
// TAGS=allproviders). A code the build lacks stops the start with one line naming that build.
package dnsproviders
