// The Go side of the quantity benchmark: apimachinery's resource.ParseQuantity over the same ten
// values as core/benches/quantity.rs. benchmarks/run.sh copies this file into a throwaway module
// under ~/.cache/kubemetrics/quantity-bench that requires k8s.io/apimachinery, then runs
//   go test -run '^$' -bench . -benchtime 2s -count 5
// Each op handles all ten values (like one criterion iteration); divide by 10 for ns/value.
package quantitybench

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
)

var values = []string{"250264852n", "8318172Ki", "1500m", "969654n", "15012Ki", "1630534153n", "13280692Ki", "100m", "2Gi", "1.5"}

var sinkQ resource.Quantity
var sinkS string
var sinkI int64

// parse: resource.ParseQuantity of each value.
func BenchmarkParse(b *testing.B) {
	for i := 0; i < b.N; i++ {
		for _, v := range values {
			q, err := resource.ParseQuantity(v)
			if err == nil {
				sinkQ = q
			}
		}
	}
}

// format: canonical formatting of parsed quantities. ParseQuantity caches the input string when
// it is already canonical, so q.String() on a parsed value is usually a field read; this measures
// the uncached path String() takes for a computed quantity (CanonicalizeBytes + string).
func BenchmarkFormat(b *testing.B) {
	parsed := make([]resource.Quantity, 0, len(values))
	for _, v := range values {
		parsed = append(parsed, resource.MustParse(v))
	}
	buf := make([]byte, 0, 64)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range parsed {
			number, suffix := parsed[j].CanonicalizeBytes(buf[:0])
			sinkS = string(append(number, suffix...))
		}
	}
}

// parse + String() + MilliValue(), the way client code uses a quantity.
func BenchmarkParseFormatMilli(b *testing.B) {
	for i := 0; i < b.N; i++ {
		for _, v := range values {
			q, err := resource.ParseQuantity(v)
			if err == nil {
				sinkS = q.String()
				sinkI = q.MilliValue()
			}
		}
	}
}
