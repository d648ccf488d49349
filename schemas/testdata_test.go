package schemas_test

import (
	"github.com/scimd/scimd/internal/schematest"
	. "github.com/scimd/scimd/schemas"
)

var (
	tCreated = schematest.Created
	scim     = ParseOptions{Resource: UserResource, Dialect: SCIMDialect}
	scimApp  = ParseOptions{Resource: UserResource, Dialect: SCIMDialect, AppID: "app1"}
	native   = ParseOptions{Resource: UserResource, Dialect: NativeDialect}
	nativeA1 = ParseOptions{Resource: UserResource, Dialect: NativeDialect, AppID: "app1"}
	nativeA2 = ParseOptions{Resource: UserResource, Dialect: NativeDialect, AppID: "app2"}
	nativeA3 = ParseOptions{Resource: UserResource, Dialect: NativeDialect, AppID: "app3"}
	scimGrp  = ParseOptions{Resource: GroupResource, Dialect: SCIMDialect}
	natGrp   = ParseOptions{Resource: GroupResource, Dialect: NativeDialect}
)

// The shared fixtures (internal/schematest), under the names the tests use.
var (
	sampleUser   = schematest.SampleUser
	sampleGroup  = schematest.SampleGroup
	mustJSON     = schematest.MustJSON
	decode       = schematest.Decode
	canon        = schematest.Canon
	asValueError = schematest.AsValueError
)
