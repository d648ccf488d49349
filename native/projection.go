package native

import (
	"errors"

	"github.com/scimd/scimd/schemas"
)

// The native user and group objects are projections of the canonical documents
// that package schemas owns; this file is the only place that names them, so
// that no handler maps fields by hand.

type nativeOptions = schemas.NativeOptions

var (
	projectUser = schemas.NativeUser
	mergeUser   = schemas.MergeNativeUser
	projectGrp  = schemas.NativeGroup
	mergeGrp    = schemas.MergeNativeGroup
)

// valueError reports whether err is (or wraps) a projection's validation error,
// and returns its user-facing text.
func valueError(err error) (string, bool) {
	var ve *schemas.ValueError
	if errors.As(err, &ve) {
		return ve.Error(), true
	}
	return "", false
}
