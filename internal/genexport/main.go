// Command genexport writes a synthetic `scimd export` file of n users, for
// measuring `scimd import` and `scimd export` at scale without seeding a
// store through the API first:
//
//	go run ./internal/genexport -n 1000000 -out /tmp/users-1m.jsonl
//
// The users are storagetest.NewUser(0…n-1) (realistic: names, two emails for
// every other user, a phone, an address, an enterprise extension, custom
// data), each with a bcrypt password hash as a migration from another system
// brings them (-hash "" for users without passwords). Lines are written as
// `scimd export` writes them: a header, then one {"type":"user","data":…}
// record a line. It runs on every CPU and stops after n users.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/scimd/scimd/schemas"
	"github.com/scimd/scimd/storage/storagetest"
)

func main() {
	n := flag.Int("n", 100000, "number of users (at most 10,000,000)")
	out := flag.String("out", "-", "file to write (- for stdout)")
	hash := flag.String("hash", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", "password hash of every user (\"\": no password)")
	flag.Parse()
	if *n < 0 || *n > 10_000_000 {
		fmt.Fprintln(os.Stderr, "genexport: -n must be between 0 and 10,000,000")
		os.Exit(2)
	}
	f := os.Stdout
	if *out != "-" {
		var err error
		if f, err = os.Create(*out); err != nil {
			fmt.Fprintln(os.Stderr, "genexport:", err)
			os.Exit(1)
		}
	}
	w := bufio.NewWriterSize(f, 1<<20)
	type rec struct {
		Type string `json:"type"`
		Data any    `json:"data"`
	}
	head, _ := json.Marshal(rec{Type: "header", Data: map[string]any{
		"format": "scimd-export", "version": 1, "created": time.Now().UTC(), "counts": map[string]int{"user": *n}}})
	w.Write(append(head, '\n'))
	// Chunks of users are encoded on every CPU and written in order.
	const chunk = 4096
	workers := runtime.GOMAXPROCS(0)
	type job struct {
		from int
		out  chan []byte
	}
	jobs := make(chan job, workers)
	results := make(chan chan []byte, workers*2)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				var buf []byte
				for i := j.from; i < min(j.from+chunk, *n); i++ {
					u := storagetest.NewUser(i)
					if *hash != "" {
						u.Password = &schemas.PasswordCredential{Hash: *hash, Updated: u.Created}
					}
					b, err := json.Marshal(rec{Type: "user", Data: u})
					if err != nil {
						panic(err)
					}
					buf = append(append(buf, b...), '\n')
				}
				j.out <- buf
			}
		})
	}
	go func() {
		for from := 0; from < *n; from += chunk {
			c := make(chan []byte, 1)
			results <- c
			jobs <- job{from, c}
		}
		close(jobs)
		close(results)
	}()
	for c := range results {
		w.Write(<-c)
	}
	wg.Wait()
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "genexport:", err)
		os.Exit(1)
	}
	if f != os.Stdout {
		if err := f.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "genexport:", err)
			os.Exit(1)
		}
	}
}
