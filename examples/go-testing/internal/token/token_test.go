package token

import "testing"

func TestNewLengthAndUniqueness(t *testing.T) {
	a, err := New(16)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := New(16)
	if len(a) != 32 {
		t.Errorf("len = %d, want 32", len(a))
	}
	if a == b {
		t.Errorf("two tokens are equal: %s", a)
	}
}
