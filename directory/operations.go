package directory

// MayOperate reports whether p may run the server's maintenance operations
// (an online backup, a signing-key rotation): a caller with tenant reach and
// the admin scope, as a management application's token.
func (p Principal) MayOperate() bool { return p.administers() }
