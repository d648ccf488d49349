// Command scimpeer is a minimal in-memory SCIM 2.0 server for Users and
// Groups built on github.com/elimity-com/scim, the way that library's
// examples build one: each resource type is a map guarded by a mutex. It is
// the reference scimload puts beside scimd (issue 12: "side by side with
// in-memory SCIM servers"), so that a figure such as "GET /Users/{id} ≥ 1.0 ×
// elimity" can be measured on the same machine in the same batch:
//
//	cd test && go run ./cmd/scimpeer -addr 127.0.0.1:9090
//	# SCIM base URL: http://127.0.0.1:9090/scim/v2 (no authentication)
//
// What it does, and no more: Users (core schema with the enterprise
// extension) and Groups, create / get / list with a filter (every resource
// is checked with the library's filter validator: a scan) / replace / patch
// (the library's ApplyPatch) / delete, a unique userName (409 on a
// duplicate, through a second map) and a version per resource. Nothing is
// written to disk, nothing is authenticated, no referential integrity (a
// deleted user stays a member of its groups).
package main

import (
	"flag"
	"log"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9090", "listen address; the SCIM base URL is http://<addr>/scim/v2")
	flag.Parse()
	srv, err := newServer("http://" + *addr + "/scim/v2")
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("scimpeer (elimity-com/scim, in memory): SCIM base URL http://%s/scim/v2", *addr)
	log.Fatal(http.ListenAndServe(*addr, srv))
}

// newServer returns the peer's handler: SCIM under /scim/v2, as scimd serves it.
func newServer(baseURL string) (http.Handler, error) {
	users := newStore(schema.CoreUserSchema(), []schema.Schema{schema.ExtensionEnterpriseUser()}, "userName")
	groups := newStore(schema.CoreGroupSchema(), nil, "")
	s, err := scim.NewServer(&scim.ServerArgs{
		ServiceProviderConfig: &scim.ServiceProviderConfig{SupportFiltering: true, SupportPatch: true, MaxResults: 100},
		ResourceTypes: []scim.ResourceType{
			{ID: optional.NewString("User"), Name: "User", Endpoint: "/Users", Schema: users.schema,
				SchemaExtensions: []scim.SchemaExtension{{Schema: schema.ExtensionEnterpriseUser()}}, Handler: users},
			{ID: optional.NewString("Group"), Name: "Group", Endpoint: "/Groups", Schema: groups.schema, Handler: groups},
		},
	}, scim.WithBaseURL(baseURL))
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/scim/", http.StripPrefix("/scim", s))
	return mux, nil
}

// entry is a stored resource. Its attributes are never changed in place: a
// write stores a new map, so a reader may use the one it got after unlocking.
type entry struct {
	attrs   scim.ResourceAttributes
	created time.Time
	updated time.Time
	version int
}

// store is one resource type's in-memory map, a scim.ResourceHandler.
type store struct {
	schema     schema.Schema
	extensions []schema.Schema
	unique     string // attribute whose value is unique ("" for none)

	mu     sync.RWMutex
	nextID int
	data   map[string]*entry
	byKey  map[string]string // lower-cased unique value → id
}

func newStore(s schema.Schema, ext []schema.Schema, unique string) *store {
	return &store{schema: s, extensions: ext, unique: unique, data: map[string]*entry{}, byKey: map[string]string{}}
}

func (s *store) key(attrs scim.ResourceAttributes) string {
	if s.unique == "" {
		return ""
	}
	v, _ := attrs[s.unique].(string)
	return strings.ToLower(v)
}

// resource returns what the library renders. The library adds id, schemas
// and meta to the attributes map it is given, so it gets a copy.
func (s *store) resource(id string, e *entry) scim.Resource {
	attrs := make(scim.ResourceAttributes, len(e.attrs)+3)
	for k, v := range e.attrs {
		attrs[k] = v
	}
	var ext optional.String
	if v, ok := e.attrs["externalId"].(string); ok {
		ext = optional.NewString(v)
	}
	c, u := e.created, e.updated
	return scim.Resource{ID: id, ExternalID: ext, Attributes: attrs,
		Meta: scim.Meta{Created: &c, LastModified: &u, Version: `W/"` + strconv.Itoa(e.version) + `"`}}
}

func (s *store) Create(r *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.key(attrs)
	if _, taken := s.byKey[k]; taken && k != "" {
		return scim.Resource{}, scimerrors.ScimErrorUniqueness
	}
	s.nextID++
	id := strconv.Itoa(s.nextID)
	e := &entry{attrs: attrs, created: now, updated: now, version: 1}
	s.data[id] = e
	if k != "" {
		s.byKey[k] = id
	}
	return s.resource(id, e), nil
}

func (s *store) Get(r *http.Request, id string) (scim.Resource, error) {
	s.mu.RLock()
	e, ok := s.data[id]
	s.mu.RUnlock()
	if !ok {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	return s.resource(id, e), nil
}

func (s *store) GetAll(r *http.Request, p scim.ListRequestParams) (scim.Page, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var page scim.Page
	start := max(p.StartIndex, 1)
	for id, e := range s.data {
		if p.FilterValidator != nil && p.FilterValidator.PassesFilter(e.attrs) != nil {
			continue
		}
		page.TotalResults++
		if page.TotalResults >= start && len(page.Resources) < p.Count {
			page.Resources = append(page.Resources, s.resource(id, e))
		}
	}
	return page, nil
}

func (s *store) Replace(r *http.Request, id string, attrs scim.ResourceAttributes) (scim.Resource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.data[id]
	if !ok {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	return s.put(id, e, attrs)
}

// put stores attrs as the new state of resource id (s.mu held).
func (s *store) put(id string, old *entry, attrs scim.ResourceAttributes) (scim.Resource, error) {
	oldKey, newKey := s.key(old.attrs), s.key(attrs)
	if newKey != oldKey {
		if _, taken := s.byKey[newKey]; taken && newKey != "" {
			return scim.Resource{}, scimerrors.ScimErrorUniqueness
		}
		delete(s.byKey, oldKey)
		if newKey != "" {
			s.byKey[newKey] = id
		}
	}
	e := &entry{attrs: attrs, created: old.created, updated: time.Now(), version: old.version + 1}
	s.data[id] = e
	return s.resource(id, e), nil
}

func (s *store) Patch(r *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.data[id]
	if !ok {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	attrs, err := scim.ApplyPatch(e.attrs, ops, s.schema, s.extensions...)
	if err != nil {
		return scim.Resource{}, err
	}
	return s.put(id, e, attrs)
}

func (s *store) Delete(r *http.Request, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.data[id]
	if !ok {
		return scimerrors.ScimErrorResourceNotFound(id)
	}
	delete(s.byKey, s.key(e.attrs))
	delete(s.data, id)
	return nil
}
