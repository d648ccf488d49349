package httpx

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies are the reverse proxies in front of scimd whose forwarding headers
// are believed (flag -trusted-proxies). The zero value trusts none.
type Proxies []netip.Prefix

// ParseProxies parses a comma-separated list of CIDR prefixes or single
// addresses ("10.0.0.0/8, 192.168.1.7, ::1").
func ParseProxies(s string) (Proxies, error) {
	var ps Proxies
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			ps = append(ps, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("invalid trusted proxy %q: want a CIDR prefix or an IP address", f)
		}
		ps = append(ps, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return ps, nil
}

func (ps Proxies) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// resolve returns the client address and scheme of r. The peer is the client
// unless it is a trusted proxy: then X-Forwarded-For is read from the right
// (the entry the proxy added) leftwards, skipping trusted proxies, and the
// first other address is the client; X-Forwarded-Proto ("http" or "https", the
// last value) is the scheme. Headers from any other peer are ignored, so that
// a client cannot choose the address its audit events, rate limits and
// lockouts are recorded under.
func (ps Proxies) resolve(r *http.Request) (ip, scheme string) {
	ip = peer(r)
	scheme = "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if len(ps) == 0 {
		return ip, scheme
	}
	if a, err := netip.ParseAddr(ip); err != nil || !ps.trusts(a) {
		return ip, scheme
	}
	if protos := r.Header.Values("X-Forwarded-Proto"); len(protos) > 0 {
		last := protos[len(protos)-1]
		if i := strings.LastIndexByte(last, ','); i >= 0 {
			last = last[i+1:]
		}
		if p := strings.ToLower(strings.TrimSpace(last)); p == "http" || p == "https" {
			scheme = p
		}
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return ip, scheme // a malformed hop: stop at the last address we can vouch for
			}
			a = a.Unmap()
			ip = a.String()
			if !ps.trusts(a) {
				return ip, scheme
			}
		}
	}
	return ip, scheme
}

// peer is the address of the connection's other end.
func peer(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Is4() {
			return host // ParseAddr accepts IPv4 only in canonical form: no copy needed
		}
		return a.Unmap().String()
	}
	return host
}

// ClientIP returns the address of the client that sent r: behind AccessLog,
// the one it resolved (forwarding headers are believed only from trusted
// proxies, see Proxies); otherwise the connection's peer.
func ClientIP(r *http.Request) string {
	if o := outcomeOf(r); o != nil {
		return o.clientIP
	}
	return peer(r)
}

// Scheme returns "https" or "http": how the client reached scimd (through a
// trusted proxy, what it reported in X-Forwarded-Proto).
func Scheme(r *http.Request) string {
	if o := outcomeOf(r); o != nil {
		return o.scheme
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}
