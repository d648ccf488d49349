// Package schemas holds scimd's canonical model and its vocabulary.
//
// Every user is one canonical document ([User]) that is richer than either API's
// view of it; the SCIM face and the native face are projections of that document.
// The attribute catalog ([UserAttributes]) is the one place that
// says, for every SCIM attribute path and every native field name, which canonical
// path it maps to and what its type, mutability, returned-ness and case-exactness are.
//
// SCIM filter syntax is the single query language. [ParseFilter] turns a filter
// string into a [Filter] whose paths are resolved through the catalog to canonical
// paths; [MatchUser] and [MatchGroup] evaluate it against canonical documents, and
// storage backends may translate as much of it as they can express exactly into
// their own query language. [ParsePath], [SortUsers] and [SortGroups] do the same
// for sort keys, and [Path.UserValues] reads any attribute's values through the
// same accessors the evaluator uses.
//
// The filter grammar is parsed by this package's own small recursive-descent
// parser rather than github.com/scim2/filter-parser: that parser cannot express
// nested keys of free-form JSON attributes (custom_data.a.b), value filters with
// more than two terms or with parentheses, or lower-case \u escapes, does not
// decode string escapes, and its errors are not fit to show to API clients.
//
// Evaluation allocates nothing: attribute accessors are plain data interpreted
// by static functions (see accessor.go), so the callbacks they take stay on the
// stack.
//
// The two API faces' JSON views are projections derived from the same
// catalog, but they live with their faces, not here: the SCIM resource
// format, its PATCH engine and the identity providers' dialects in
// scim/internal/wire; the native (Transmit-style) objects, with Transmit's
// input caps, in internal/nativewire, walking the native table
// ([NativeFields], native_names.go). They read and write documents only through the
// accessor API, addressed by catalog attribute ([Get], [Set], [EachElem],
// [Values], [JSONData], the element writers [Elems], [AppendElem],
// [SingleElem], [RemoveElem], [ClearElems], [NewElem], [CopyElem], [Carry],
// [FindPrevious], [ElemEmpty], [SameOwned], [SetDerived]), so that neither
// face spells out a field mapping and the field enum stays private. Bad
// input is a [*ValueError] ([ValueErrorf]).
//
// This package depends on nothing else in scimd.
package schemas
