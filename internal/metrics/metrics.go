// Package metrics exports scimd's Prometheus metrics. Only cmd/scimd imports
// it: the layers below report through small hooks (httpx.Options.Observe,
// directory.Observer, embedded.Options.OnCommit) and a wrapping storage.Store,
// so that none of them depends on Prometheus.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/scimd/scimd/internal/httpx"
	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage"
)

// Metrics holds scimd's collectors on their own registry (with the Go runtime
// and process collectors). Its methods are safe for concurrent use.
type Metrics struct {
	reg        *prometheus.Registry
	requests   *boundHistograms[requestKey]
	storeOps   *boundHistograms[storeKey]
	batches    prometheus.Histogram
	tokens     *prometheus.CounterVec
	authFailed *prometheus.CounterVec
	lockouts   prometheus.Counter
	audit      prometheus.Counter
}

// New registers every collector; version, commit and date label scimd_build_info.
func New(version, commit, date string) *Metrics {
	reg := prometheus.NewRegistry()
	requests := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "scimd_http_request_duration_seconds",
		Help:    "Time from receiving a request to its answer, by method, route pattern (never a raw path) and status; _count is the request count.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"method", "route", "status"})
	storeOps := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "scimd_store_operation_duration_seconds",
		Help:    "Duration of store operations by operation and result (ok, not_found, conflict, error).",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
	}, []string{"op", "result"})
	m := &Metrics{
		reg:      reg,
		requests: newBound[requestKey](requests),
		storeOps: newBound[storeKey](storeOps),
		batches: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "scimd_embedded_write_batch_size",
			Help:    "Writes committed together in one transaction (one fsync) by the embedded store.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12), // 1 … 2048 (the batch cap)
		}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scimd_tokens_issued_total",
			Help: "Access tokens issued, by kind (client, user, enrol).",
		}, []string{"kind"}),
		authFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scimd_auth_failures_total",
			Help: "Credentials refused, by reason.",
		}, []string{"reason"}),
		lockouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scimd_login_lockouts_total",
			Help: "Accounts locked after too many failed logins.",
		}),
		audit: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scimd_audit_events_written_total",
			Help: "Audit events committed to the store by this process.",
		}),
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "scimd_build_info",
		Help:        "Always 1; the labels identify the running build.",
		ConstLabels: prometheus.Labels{"version": version, "commit": commit, "build_date": date},
	})
	build.Set(1)
	reg.MustRegister(requests, storeOps, m.batches, m.tokens, m.authFailed, m.lockouts, m.audit, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// GaugeFunc registers a gauge without labels whose value is fn's at each
// scrape.
func (m *Metrics) GaugeFunc(name, help string, fn func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
}

// CounterFunc registers a counter without labels whose value is fn's at
// each scrape; fn must never decrease.
func (m *Metrics) CounterFunc(name, help string, fn func() float64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, fn))
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Request records one answered request (httpx.Options.Observe). A method
// outside RFC 9110's is labelled "OTHER": clients choose methods, and every
// label value is a series kept for ever.
func (m *Metrics) Request(r httpx.Record) {
	method := r.Method
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
	default:
		method = "OTHER"
	}
	m.requests.with(requestKey{method, r.Route, r.Status}, requestKey.labels).Observe(r.Duration.Seconds())
}

// requestKey is a request's series: its labels method, route and status.
type requestKey struct {
	method, route string
	status        int
}

func (k requestKey) labels() []string { return []string{k.method, k.route, strconv.Itoa(k.status)} }

// storeKey is a store operation's series: its labels op and result.
type storeKey struct{ op, result string }

func (k storeKey) labels() []string { return []string{k.op, k.result} }

// Batch records the size of one committed embedded-store transaction
// (embedded.Options.OnCommit).
func (m *Metrics) Batch(writes int) { m.batches.Observe(float64(writes)) }

// TokenIssued, AuthFailed and LoginLockedOut make Metrics a directory.Observer.
func (m *Metrics) TokenIssued(kind string)  { m.tokens.WithLabelValues(kind).Inc() }
func (m *Metrics) AuthFailed(reason string) { m.authFailed.WithLabelValues(reason).Inc() }
func (m *Metrics) LoginLockedOut()          { m.lockouts.Inc() }

// Zero exports the given auth-failure reasons and token kinds at 0 before the
// first event, so that rate() and alerts see them from the start.
func (m *Metrics) Zero(reasons, kinds []string) {
	for _, r := range reasons {
		m.authFailed.WithLabelValues(r)
	}
	for _, k := range kinds {
		m.tokens.WithLabelValues(k)
	}
}

// CountEntities exports the numbers of users, groups and applications (by
// kind) in store, read when scraped (each read bounded to 5 seconds).
func (m *Metrics) CountEntities(store storage.Store) {
	m.reg.MustRegister(&entityCollector{store: store})
}

var (
	usersDesc  = prometheus.NewDesc("scimd_users", "Users in the directory.", nil, nil)
	groupsDesc = prometheus.NewDesc("scimd_groups", "Groups in the directory.", nil, nil)
	appsDesc   = prometheus.NewDesc("scimd_apps", "Applications in the directory, by kind (regular, management).", []string{"kind"}, nil)
)

type entityCollector struct{ store storage.Store }

func (c *entityCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- usersDesc
	ch <- groupsDesc
	ch <- appsDesc
}

func (c *entityCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if p, err := c.store.ListUsers(ctx, storage.Query{Limit: 0}); err == nil {
		ch <- prometheus.MustNewConstMetric(usersDesc, prometheus.GaugeValue, float64(p.Total))
	} else {
		ch <- prometheus.NewInvalidMetric(usersDesc, err)
	}
	if p, err := c.store.ListGroups(ctx, storage.Query{Limit: 0}); err == nil {
		ch <- prometheus.MustNewConstMetric(groupsDesc, prometheus.GaugeValue, float64(p.Total))
	} else {
		ch <- prometheus.NewInvalidMetric(groupsDesc, err)
	}
	if apps, err := c.store.ListApps(ctx, ""); err == nil {
		n := map[string]int{schemas.AppRegular: 0, schemas.AppManagement: 0}
		for _, a := range apps {
			n[a.Kind]++
		}
		for kind, v := range n {
			ch <- prometheus.MustNewConstMetric(appsDesc, prometheus.GaugeValue, float64(v), kind)
		}
	} else {
		ch <- prometheus.NewInvalidMetric(appsDesc, err)
	}
}
