package metrics

import (
	"maps"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// boundHistograms is a histogram vector whose series are looked up by a
// comparable key of their label values and bound once: WithLabelValues
// hashes the label values and looks the series up under the vector's lock
// on every call, which was a third of a microsecond, three times a request
// (the request's histogram and two store operations'). The series are read
// from an immutable map without a lock and copied on a miss; the keys are
// as bounded as the series themselves (every label value is a series the
// registry keeps for ever).
type boundHistograms[K comparable] struct {
	vec *prometheus.HistogramVec
	mu  sync.Mutex // serializes misses
	m   atomic.Pointer[map[K]prometheus.Observer]
}

func newBound[K comparable](vec *prometheus.HistogramVec) *boundHistograms[K] {
	return &boundHistograms[K]{vec: vec}
}

// with returns the series of key k, whose label values are labels(k).
func (b *boundHistograms[K]) with(k K, labels func(K) []string) prometheus.Observer {
	if m := b.m.Load(); m != nil {
		if o, ok := (*m)[k]; ok {
			return o
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	old := b.m.Load()
	if old != nil {
		if o, ok := (*old)[k]; ok {
			return o
		}
	}
	next := map[K]prometheus.Observer{}
	if old != nil {
		maps.Copy(next, *old)
	}
	o := b.vec.WithLabelValues(labels(k)...)
	next[k] = o
	b.m.Store(&next)
	return o
}
