package supervisor

import (
	"reflect"
	"strings"
	"testing"
)

func TestRoster(t *testing.T) {
	set := func(names ...string) map[string]bool {
		m := map[string]bool{}
		for _, n := range names {
			m[n] = true
		}
		return m
	}
	excludeInternal := func(n string) bool { return strings.HasSuffix(n, ".internal.test") }
	goneOld := func(n string) bool { return strings.HasPrefix(n, "old.") }
	rules := RosterRules{Excluded: excludeInternal, Gone: goneOld, MaxNames: 3}
	tests := []struct {
		name     string
		rules    RosterRules
		managed  map[string]bool
		excluded map[string]bool
		names    []string
		src      Source
		want     RosterPlan
	}{
		{"new names start in the list's order", rules, set(), set(), []string{"b.test", "a.test"}, FromDFP,
			RosterPlan{Start: []string{"b.test", "a.test"}}},
		{"a managed name is not started twice, a duplicate once", rules, set("a.test"), set(), []string{"a.test", "b.test", "b.test"}, FromDFP,
			RosterPlan{Start: []string{"b.test"}}},
		{"excluded names are reported once, then ignored", rules, set(), set("x.internal.test"), []string{"x.internal.test", "y.internal.test", "y.internal.test"}, FromDFP,
			RosterPlan{Excluded: []string{"y.internal.test"}}},
		{"past MAX_NAMES the rest wait", rules, set("a.test", "b.test"), set(), []string{"c.test", "d.test", "e.test"}, FromDFP,
			RosterPlan{Start: []string{"c.test"}, Waiting: 2}},
		{"no cap when MaxNames is 0", RosterRules{}, set("a.test", "b.test", "c.test"), set(), []string{"d.test"}, FromDFP,
			RosterPlan{Start: []string{"d.test"}}},
		{"a poll that is not authoritative stops nothing", rules, set("old.test"), set(), []string{}, FromDFP,
			RosterPlan{}},
		{"an authoritative poll stops managed names absent past the grace", rules, set("old.test", "old.b.test", "kept.test"), set(), []string{"new.test"}, FromDFPAuthoritative,
			RosterPlan{Waiting: 1, Stop: []string{"old.b.test", "old.test"}}}, // the freed places count from the next poll
		{"a name listed again is not stopped, whatever its record says", rules, set("old.test"), set(), []string{"old.test"}, FromDFPAuthoritative,
			RosterPlan{}},
		{"at start, stored names removed before are not resumed", rules, set(), set(), []string{"old.test", "a.test", "x.internal.test"}, FromStore,
			RosterPlan{Start: []string{"a.test"}, Excluded: []string{"x.internal.test"}}},
		{"a listed name removed before comes back", rules, set(), set(), []string{"old.test"}, FromDFP,
			RosterPlan{Start: []string{"old.test"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Roster(tt.rules, tt.managed, tt.excluded, tt.names, tt.src)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Roster = %+v, want %+v", got, tt.want)
			}
		})
	}
}
