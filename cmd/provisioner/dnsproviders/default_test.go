//go:build !allproviders

package dnsproviders

import (
	"strings"
	"testing"
)

// Every provider of the default build is built by New (it may then miss its credentials), and a
// provider it lacks is refused with the build to use, never silently.
func TestDefaultBuildsItsProvidersAndNamesTheFullImageForOthers(t *testing.T) {
	for _, code := range Default {
		if _, err := New(code); err != nil && strings.Contains(err.Error(), "not in this image") {
			t.Errorf("%s is listed in Default but New refuses it: %v", code, err)
		}
	}
	for _, code := range []string{"gcloud", "azuredns", "nosuchprovider"} {
		_, err := New(code)
		if err == nil || !strings.Contains(err.Error(), "TAGS=allproviders") || !strings.Contains(err.Error(), code) {
			t.Errorf("New(%q) = %v; want an error naming it and TAGS=allproviders", code, err)
		}
	}
	if len(Default) < 20 {
		t.Errorf("Default lists %d providers", len(Default))
	}
}
