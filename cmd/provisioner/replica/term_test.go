package replica

import "testing"

func TestAfterTerm(t *testing.T) {
	tests := []struct {
		name             string
		lapsed, stopping bool
		want             TermEnd
	}{
		{"the session lapsed under a running replica", true, false, CampaignAgain},
		{"the session lapsed while stopping", true, true, HandOver},
		{"stopped while leading", false, true, HandOver},
		{"lead failed on its own (a refused account)", false, false, HandOver},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AfterTerm(tt.lapsed, tt.stopping); got != tt.want {
				t.Errorf("AfterTerm(%v, %v) = %d, want %d", tt.lapsed, tt.stopping, got, tt.want)
			}
		})
	}
}
