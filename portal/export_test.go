package portal

// SetUsersCountLimit sets where the users list stops counting, and returns
// the function that restores it.
func SetUsersCountLimit(n int) (restore func()) {
	old := usersCountLimit
	usersCountLimit = n
	return func() { usersCountLimit = old }
}
