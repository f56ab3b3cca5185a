// api serves a session token on :8080; the example gates its image on the
// tests and a security check.
package main

import (
	"fmt"
	"log"
	"net/http"

	"example.com/api/internal/token"
)

func handler(w http.ResponseWriter, r *http.Request) {
	t, err := token.New(16)
	if err != nil {
		http.Error(w, "token unavailable", http.StatusInternalServerError)
		return
	}
	fmt.Fprintf(w, "{\"token\":%q}\n", t)
}

func main() {
	http.HandleFunc("/token", handler)
	log.Fatal(http.ListenAndServe(":8080", nil))
}
