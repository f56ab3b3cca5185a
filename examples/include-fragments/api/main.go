// Command api answers GET /hello with a greeting.
package main

import (
	"fmt"
	"log"
	"net/http"
)

// greeting is what the api says to name.
func greeting(name string) string {
	if name == "" {
		name = "world"
	}
	return "hello, " + name
}

func main() {
	http.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, greeting(r.URL.Query().Get("name")))
	})
	log.Fatal(http.ListenAndServe(":8080", nil))
}
