package metrics

import "testing"

func TestEndpoint(t *testing.T) {
	cases := map[string]string{
		// Let's Encrypt (Boulder)
		"/directory": "directory", "/acme/new-nonce": "new_nonce", "/acme/new-acct": "new_account", "/acme/new-order": "new_order",
		"/acme/authz/123/456": "authorization", "/acme/chall/123/456/abc": "challenge", "/acme/finalize/1/2": "finalize",
		"/acme/cert/fa23": "certificate", "/acme/order/1/2": "order", "/acme/acct/1": "account",
		"/draft-ietf-acme-ari-03/renewalInfo/aaa.bbb": "renewal_info",
		// Pebble
		"/dir": "directory", "/nonce-plz": "new_nonce", "/sign-me-up": "new_account", "/order-plz": "new_order",
		"/authZ/x": "authorization", "/chalZ/x": "challenge", "/finalize-order/x": "finalize", "/certZ/x": "certificate",
		"/my-order/x": "order", "/my-account/x": "account",
		"/something/else": "other",
	}
	for path, want := range cases {
		if got := Endpoint(path); got != want {
			t.Errorf("Endpoint(%q) = %q, want %q", path, got, want)
		}
	}
}
