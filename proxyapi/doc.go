// Package proxyapi talks to Docker Flow Proxy (DFP): its HTTP API (list services, list and put
// certificates) and its HTTPS port (which certificate HAProxy really serves for a name).
//
// # What this project relies on about DFP
//
// DFP has no specification; what follows is how its code behaves, as this project was checked
// against a DFP built from its source (HAProxy 2.6, Let's Encrypt's test CA validating through
// HAProxy, the swarm listener's notifications). The stand-in in test/dfpstub follows these rules
// to the letter, and serves test/dfpstub/testdata/config.json, a real GET /config?type=json
// response captured from that DFP, which this package's tests decode too. Comments elsewhere
// refer to the rules below by their letter: "(DFP rule B)".
//
// A. Services. GET /v1/docker-flow-proxy/config?type=json is a JSON object keyed by service
// name (not an array; any order). Keys are Go field names (ServiceName, ServiceDest,
// ServiceDomain, ReqMode, RedirectFromDomain...), with no json tags, whatever the Content-Type
// says. Domains are not normalised: case is kept and "host:port" stays as written. Only
// ReqMode "http" destinations terminate TLS in HAProxy; tcp and sni ones carry their own. A
// service's Users field holds basic-auth passwords in clear text, so it is never decoded.
// Wildcards are mangled: "*.example.com" is listed as ".example.com", and after DFP's next
// render its ACL matches nothing unless the service set serviceDomainAlgo=hdr_end(host).
// A service with serviceDomainAlgo=hdr_dom(host) serves subdomains nobody can list.
//
// B. Certificates in. PUT /v1/docker-flow-proxy/cert?certName=NAME writes the body, verbatim and
// unchecked, to /certs/NAME and reloads HAProxy; it answers 200 even when the reload failed. A
// file HAProxy cannot load stays in /certs and makes every later reload fail (every later
// service registration is rolled back), until a valid PEM is put under the same name. There is
// no delete. So nothing is uploaded that has not been parsed and checked here, and only a TLS
// handshake with the proxy shows what HAProxy serves. Every PUT is a check of the whole
// configuration plus a reload, serialised by DFP: about 1 s each with 100-200 certificates, so
// uploads are done only for what DFP lacks or holds in an older version. With several DFP
// replicas, distribute=true makes the one that receives the PUT send it to the others
// (tasks.SERVICE_NAME on port 8080); success is 200 with an empty body, and a failed lookup
// of tasks.SERVICE_NAME is a 400 naming it (outside Swarm distribute must be off).
//
// C. Certificates out. GET /v1/docker-flow-proxy/certs lists every file in /certs with its whole
// PEM, private key included ({"Certs":[{"ProxyServiceName": file name, "CertContent": PEM}]}).
// It is the only view of what DFP holds, and it is large (about 3.5 KB a certificate).
//
// D. No authentication, and no memory. The API has no authentication at all. Services live in
// DFP's memory only: after a restart the service list is {} until the swarm listener has sent
// them again (a few seconds), so an empty or shrinking list never means "names removed".
// Certificates survive only if /certs is a volume; otherwise a restarted DFP copies them from a
// peer replica if it has one, and has none if it does not, and while /certs is empty it binds
// port 443 without TLS. That port is the cheap way to see a loss: a TLS handshake there fails
// at once after such a restart, whatever the service list says, and a lost file shows as
// another certificate presented (HAProxy's default, the alphabetically first file). DFP's API
// tells neither: its only view of /certs is rule C's whole list.
//
// E. Replies. reconfigure, remove and reload send their JSON as text/plain; a client parses JSON
// whatever the Content-Type. Error bodies are {"Status":"NOK","Message":...}.
//
// F. Challenges. The companion service registered with servicePath=/.well-known/acme-challenge
// is routed before every other service, for every Host, on ports 80 and 443, so the responder
// answers any Host. Redirects (redirectFromDomain, HTTPS_ONLY) send the CA elsewhere, which it
// follows; global USERS basic auth covers the companion unless it sets ignoreAuthorization.
package proxyapi
