package directory

import (
	"log/slog"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/scimd/scimd/storage"
)

// Service is the directory: the one implementation of every business rule,
// shared by the SCIM and native faces.
type Service struct {
	// master and prevMaster encrypt signing keys at rest (nil: not configured).
	master, prevMaster *masterKey
	store              storage.Store
	now                func() time.Time
	log                *slog.Logger
	issuer             string
	tenantID           string
	keys               keyring
	verified           *verifiedTokens
	limiter            *loginLimiter
	clients            *clientGuard
	obs                Observer
	// parser and validator check tokens by verifyOptions (built once: the
	// issuer and the clock never change).
	parser    *jwt.Parser
	validator *jwt.Validator
}

// Options configures a Service. Zero values select defaults.
type Options struct {
	// Now returns the current time; default time.Now. Times are stored in UTC.
	Now func() time.Time
	// Logger receives operational logs; default slog.Default().
	Logger *slog.Logger
	// Issuer is the iss claim of issued tokens: the public base URL; default "http://127.0.0.1:8080".
	Issuer string
	// TenantID is the tid claim of issued tokens; default "default".
	TenantID string
	// Observer is told of issued tokens, refused credentials and lockouts
	// (metrics); default none.
	Observer Observer
	// MasterKey, when set (MasterKeySize bytes), encrypts the signing keys'
	// private halves at rest; PreviousMasterKey is the one being replaced
	// (see masterkey.go). New panics on a key of another size than
	// MasterKeySize: check it with ParseMasterKey first.
	MasterKey, PreviousMasterKey []byte
}

// New returns a Service over store.
func New(store storage.Store, opts Options) *Service {
	s := &Service{store: store, now: opts.Now, log: opts.Logger, issuer: opts.Issuer, tenantID: opts.TenantID}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.issuer == "" {
		s.issuer = "http://127.0.0.1:8080"
	}
	if s.tenantID == "" {
		s.tenantID = "default"
	}
	s.obs = opts.Observer
	if s.obs == nil {
		s.obs = noObserver{}
	}
	var err error
	if s.master, err = newMasterKey(opts.MasterKey); err != nil {
		panic(err) // a programming error: the command line checks the size
	}
	if s.prevMaster, err = newMasterKey(opts.PreviousMasterKey); err != nil {
		panic(err)
	}
	s.verified = newVerifiedTokens(MaxVerifiedTokens)
	s.parser, s.validator = jwt.NewParser(s.verifyOptions()...), jwt.NewValidator(s.verifyOptions()...)
	s.limiter = newLoginLimiter(s.now)
	s.clients = newClientGuard(s.now)
	return s
}

// clock returns the current time in UTC, truncated to the millisecond every
// backend keeps.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// Now returns the directory's time (its injected clock, in UTC, to the
// millisecond). The faces pass it to the projections (the SCIM face's SCIMOptions.Now,
// nativewire.NativeOptions.Now) so that everything a request stamps reads one clock.
func (s *Service) Now() time.Time { return s.clock() }

// newID returns a new time-ordered id (see NewID) stamped by the directory's clock.
func (s *Service) newID() string { return ids.next(s.now()) }
