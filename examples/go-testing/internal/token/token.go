// Package token makes random session tokens.
package token

import (
	"crypto/rand"
	"encoding/hex"
)

// New returns n random bytes, hex-encoded.
func New(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
