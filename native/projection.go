package native

import (
	"errors"

	"github.com/scimd/scimd/internal/nativewire"
	"github.com/scimd/scimd/schemas"
)

// The native user and group objects are projections of the canonical documents
// package schemas owns, rendered and merged by internal/nativewire (which the
// portal shares); this file is the only place that names them, so that no
// handler maps fields by hand.

type nativeOptions = nativewire.NativeOptions

var (
	projectUser = nativewire.NativeUser
	mergeUser   = nativewire.MergeNativeUser
	projectGrp  = nativewire.NativeGroup
	mergeGrp    = nativewire.MergeNativeGroup
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
