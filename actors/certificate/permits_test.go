package certificate

import "testing"

func TestReadGrant(t *testing.T) {
	cases := []struct {
		name          string
		granted, held string
		waiting       bool
		want          Grant
	}{
		{"the answer waited for", "7.1", "7.1", true, OrderNow},
		{"the same grant again while ordering", "7.1", "7.1", false, InUse},
		{"a previous instance's grant", "6.3", "7.1", true, GiveBack},
		{"a grant for a request given up", "7.1", "", false, GiveBack},
		{"an older request of this instance", "7.1", "7.2", true, GiveBack},
		{"an empty permit", "", "", true, GiveBack},
	}
	for _, c := range cases {
		if got := ReadGrant(c.granted, c.held, c.waiting); got != c.want {
			t.Errorf("%s: ReadGrant(%q, %q, %v) = %d, want %d", c.name, c.granted, c.held, c.waiting, got, c.want)
		}
	}
}
