package main

import "testing"

func TestSum(t *testing.T) {
	if got, err := sum([]string{"1", "2", "39"}); err != nil || got != 42 {
		t.Errorf("sum = %d, %v; want 42", got, err)
	}
	if _, err := sum([]string{"1", "x"}); err == nil {
		t.Error("sum of a word: no error")
	}
}
