package discovery

import (
	"reflect"
	"testing"
)

func TestMergeAppliesExclusionsAndExtras(t *testing.T) {
	ex := NewExclusions([]string{"skip.example.com", "*.internal.example.com"})
	names, excluded := Merge(
		[]string{"www.example.com", "skip.example.com", "a.internal.example.com", "internal.example.com"},
		[]string{"extra.example.org", "www.example.com"},
		ex)
	wantNames := []string{"extra.example.org", "internal.example.com", "www.example.com"}
	wantExcluded := []string{"a.internal.example.com", "skip.example.com"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("names = %v, want %v", names, wantNames)
	}
	if !reflect.DeepEqual(excluded, wantExcluded) {
		t.Errorf("excluded = %v, want %v", excluded, wantExcluded)
	}
}
