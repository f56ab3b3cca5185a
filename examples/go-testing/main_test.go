package main

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	rec := httptest.NewRecorder()
	handler(rec, httptest.NewRequest("GET", "/token", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"token":"`) {
		t.Fatalf("got %d %q", rec.Code, rec.Body.String())
	}
}
