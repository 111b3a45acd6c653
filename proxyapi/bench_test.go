package proxyapi

import (
	"encoding/json"
	"fmt"
	"testing"
)

// BenchmarkExtractNames5000 is name extraction over a DFP config of 5,000 services, each with two
// destinations (a domain list and a redirect), as discovery runs it on every poll:
//
//	go test -run '^$' -bench ExtractNames ./proxyapi
func BenchmarkExtractNames5000(b *testing.B) {
	services := map[string]Service{}
	for i := 0; i < 5000; i++ {
		name := fmt.Sprintf("svc%d", i)
		services[name] = Service{ServiceName: name, ServiceDest: []ServiceDest{
			{ServiceDomain: []string{fmt.Sprintf("s%d.example.com", i), fmt.Sprintf("www.s%d.example.com", i)}, ReqMode: "http"},
			{ServiceDomain: []string{fmt.Sprintf("api.s%d.example.org", i)}, RedirectFromDomain: []string{fmt.Sprintf("old%d.example.net", i)}, ReqMode: "http"},
		}}
	}
	raw, err := json.Marshal(services)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var n int
	for i := 0; i < b.N; i++ {
		var decoded map[string]Service
		if err := json.Unmarshal(raw, &decoded); err != nil {
			b.Fatal(err)
		}
		n = len(ExtractNames(decoded, true).Names)
	}
	if n != 20000 {
		b.Fatalf("extracted %d names, want 20000", n)
	}
	b.ReportMetric(float64(len(raw)), "config_bytes")
}
