package dfpstub

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// templateService is the captured "dsvc" entry: every field DFP emits, used as the shape of
// services registered through reconfigure.
const templateService = "dsvc"

// registeredService renders what DFP stores for an un-indexed reconfigure: fields from the query,
// every other field at the value the capture shows for a plain service.
func registeredService(q url.Values) (json.RawMessage, error) {
	var all map[string]map[string]any
	if err := json.Unmarshal(Fixture, &all); err != nil {
		return nil, fmt.Errorf("fixture: %w", err)
	}
	svc := all[templateService]
	dests, _ := svc["ServiceDest"].([]any)
	if svc == nil || len(dests) == 0 {
		return nil, fmt.Errorf("fixture has no %q template", templateService)
	}
	dest := dests[0].(map[string]any)

	name := q.Get("serviceName")
	svc["ServiceName"] = name
	svc["AclName"] = orDefault(q.Get("aclName"), name)
	svc["ServiceDomainAlgo"] = q.Get("serviceDomainAlgo")
	svc["IsGlobal"] = q.Get("replicas") == ""
	svc["Replicas"] = 0
	if r := q.Get("replicas"); r != "" {
		var n int
		fmt.Sscan(r, &n)
		svc["Replicas"] = n
	}
	dest["ServiceDomain"] = split(q.Get("serviceDomain"))
	dest["ServicePath"] = split(q.Get("servicePath"))
	if len(dest["ServicePath"].([]string)) == 0 && q.Get("serviceDomain") != "" {
		dest["ServicePath"] = []string{"/"}
	}
	dest["RedirectFromDomain"] = split(q.Get("redirectFromDomain"))
	dest["Port"] = q.Get("port")
	dest["OutboundHostname"] = q.Get("outboundHostname")
	dest["ReqMode"] = orDefault(q.Get("reqMode"), "http")
	dest["ReqModeFormatted"] = dest["ReqMode"]
	dest["HttpsOnly"] = q.Get("httpsOnly") == "true"
	dest["IgnoreAuthorization"] = q.Get("ignoreAuthorization") == "true"
	dest["Index"] = 0
	svc["ServiceDest"] = []any{dest}
	return json.Marshal(svc)
}

func split(v string) []string {
	out := []string{}
	for _, p := range strings.Split(v, ",") {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
