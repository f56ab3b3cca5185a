package widgets

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	rec := httptest.NewRecorder()
	Handler([]Widget{{1, "sprocket", 250}}).ServeHTTP(rec, httptest.NewRequest("GET", "/api/widgets", nil))
	if got := strings.TrimSpace(rec.Body.String()); got != `[{"id":1,"name":"sprocket","price_cents":250}]` {
		t.Fatalf("body = %s", got)
	}
	rec = httptest.NewRecorder()
	Handler(nil).ServeHTTP(rec, httptest.NewRequest("POST", "/api/widgets", nil))
	if rec.Code != 405 {
		t.Fatalf("POST: code %d, want 405", rec.Code)
	}
}
