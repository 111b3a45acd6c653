package bundle

import (
	"bytes"
	"crypto/sha256"
	"slices"
	"time"
)

// Compact is b as a holder that does not upload it keeps it: the leaf's validity, the
// fingerprint, the interned chain, and a digest of the PEM instead of the PEM, and no parsed leaf
// (Leaf is nil). It answers Check (its validity: the names were checked while it was whole),
// Fingerprint, NotBefore, NotAfter, Lifetime and SamePEM; the PEM (key included) is read again
// from the store when an upload needs it. A parsed leaf and its PEM are about 6 KB a name; this
// is under 200 bytes.
func (b *Bundle) Compact() *Bundle {
	if b.Leaf == nil {
		return b // compact already
	}
	// The chain is copied: Parse's Chain shares its array with the leaf, which would otherwise
	// stay reachable through it (3 KB a name, 28 MB at 10,000).
	return &Bundle{Chain: slices.Clone(b.Chain), fingerprint: b.Fingerprint(), pemSum: sha256.Sum256(b.PEM),
		notBefore: b.Leaf.NotBefore, notAfter: b.Leaf.NotAfter}
}

// SamePEM says whether data is exactly b's PEM, byte for byte (by digest once b is compact).
func (b *Bundle) SamePEM(data []byte) bool {
	if b.PEM != nil {
		return bytes.Equal(b.PEM, data)
	}
	return sha256.Sum256(data) == b.pemSum
}

// NotBefore is when the leaf starts.
func (b *Bundle) NotBefore() time.Time {
	if b.Leaf == nil {
		return b.notBefore
	}
	return b.Leaf.NotBefore
}

// NotAfter is when the leaf ends.
func (b *Bundle) NotAfter() time.Time {
	if b.Leaf == nil {
		return b.notAfter
	}
	return b.Leaf.NotAfter
}
