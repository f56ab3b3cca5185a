// server is the backend: GET /api/widgets on :8080.
package main

import (
	"log"
	"net/http"

	"example.com/fullstack/widgets"
)

func main() {
	http.Handle("/api/widgets", widgets.Handler([]widgets.Widget{{ID: 1, Name: "sprocket", Price: 250}}))
	log.Fatal(http.ListenAndServe(":8080", nil))
}
