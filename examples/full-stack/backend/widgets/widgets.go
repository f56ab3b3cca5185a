// Package widgets serves the widget list as JSON.
package widgets

import (
	"encoding/json"
	"net/http"
)

// Widget is one row of the widgets table (see database/migrations).
type Widget struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	Price int    `json:"price_cents"`
}

// Handler answers GET with the widgets as a JSON array.
func Handler(list []Widget) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(list)
	})
}
