// Package packageurl is a substitute used only when Debian's package cannot be had. It covers
// what BuildKit needs for SBOM and provenance purls: pkg:type/namespace/name@version?k=v#subpath.
package packageurl

import (
	"errors"
	"net/url"
	"sort"
	"strings"
)

const (
	TypeDocker = "docker"
	TypeOCI    = "oci"
)

type Qualifier struct {
	Key   string
	Value string
}

type Qualifiers []Qualifier

type PackageURL struct {
	Type       string
	Namespace  string
	Name       string
	Version    string
	Qualifiers Qualifiers
	Subpath    string
}

func NewPackageURL(purlType, namespace, name, version string, qualifiers Qualifiers, subpath string) *PackageURL {
	return &PackageURL{purlType, namespace, name, version, qualifiers, subpath}
}

func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

func (p *PackageURL) ToString() string {
	var b strings.Builder
	b.WriteString("pkg:" + p.Type + "/")
	if p.Namespace != "" {
		b.WriteString(escapePath(p.Namespace) + "/")
	}
	b.WriteString(url.PathEscape(p.Name))
	if p.Version != "" {
		b.WriteString("@" + url.PathEscape(p.Version))
	}
	qs := append(Qualifiers(nil), p.Qualifiers...)
	sort.SliceStable(qs, func(i, j int) bool { return qs[i].Key < qs[j].Key })
	sep := "?"
	for _, q := range qs {
		if q.Value == "" {
			continue
		}
		b.WriteString(sep + q.Key + "=" + url.QueryEscape(q.Value))
		sep = "&"
	}
	if p.Subpath != "" {
		b.WriteString("#" + escapePath(p.Subpath))
	}
	return b.String()
}

func (p PackageURL) String() string { return p.ToString() }

func FromString(purl string) (PackageURL, error) {
	rest, ok := strings.CutPrefix(purl, "pkg:")
	if !ok {
		return PackageURL{}, errors.New("purl is missing the pkg: scheme")
	}
	var p PackageURL
	rest, sub, _ := strings.Cut(rest, "#")
	if p.Subpath, ok = unescape(strings.Trim(sub, "/")); !ok {
		return PackageURL{}, errors.New("invalid purl subpath")
	}
	rest, query, _ := strings.Cut(rest, "?")
	if query != "" {
		values, err := url.ParseQuery(query)
		if err != nil {
			return PackageURL{}, err
		}
		for k, vs := range values {
			p.Qualifiers = append(p.Qualifiers, Qualifier{strings.ToLower(k), vs[0]})
		}
		sort.Slice(p.Qualifiers, func(i, j int) bool { return p.Qualifiers[i].Key < p.Qualifiers[j].Key })
	}
	rest = strings.Trim(rest, "/")
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		if p.Version, ok = unescape(rest[at+1:]); !ok {
			return PackageURL{}, errors.New("invalid purl version")
		}
		rest = rest[:at]
	}
	typ, path, ok := strings.Cut(rest, "/")
	if !ok || typ == "" {
		return PackageURL{}, errors.New("purl needs a type and a name")
	}
	p.Type = strings.ToLower(typ)
	if slash := strings.LastIndex(path, "/"); slash >= 0 {
		p.Namespace, path = path[:slash], path[slash+1:]
		if p.Namespace, ok = unescape(p.Namespace); !ok {
			return PackageURL{}, errors.New("invalid purl namespace")
		}
	}
	if p.Name, ok = unescape(path); !ok || p.Name == "" {
		return PackageURL{}, errors.New("invalid purl name")
	}
	return p, nil
}

func unescape(s string) (string, bool) {
	u, err := url.PathUnescape(s)
	return u, err == nil
}
