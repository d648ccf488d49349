package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/scimd/scimd/directory"
)

// runAdmin runs "scimd admin create --email ADDRESS [serve's store flags]":
// it creates a portal administrator in the configured store, reading the
// password from stdin (prompting, without echo, when stdin is a terminal).
// The server must not be running on an embedded store (it holds the file).
func runAdmin(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(stderr, "usage: scimd admin create --email ADDRESS [--data-dir DIR | --mongodb-uri URI]  (password on stdin)")
		return exitUsage
	}
	var email string
	var rest []string
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--email" || a == "-email":
			if i+1 < len(args) {
				email = args[i+1]
				i++
			}
		case strings.HasPrefix(a, "--email="), strings.HasPrefix(a, "-email="):
			email = a[strings.IndexByte(a, '=')+1:]
		default:
			rest = append(rest, a)
		}
	}
	if email == "" {
		fmt.Fprintln(stderr, "scimd: admin create needs --email")
		return exitUsage
	}
	cfg, err := parseConfig(rest, getenv, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "scimd: %s\n", oneLine(err))
		return exitUsage
	}
	password, err := readPassword(stdin, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "scimd: reading the password: %s\n", oneLine(err))
		return exitUsage
	}
	store, _, err := openStore(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "scimd: %s\n", oneLine(err))
		return exitFailure
	}
	defer store.Close()
	svc := directory.New(store, directory.Options{Logger: cfg.logger(stderr)})
	if _, err := svc.CreateAdmin(ctx, directory.System, email, password); err != nil {
		fmt.Fprintf(stderr, "scimd: %s\n", oneLine(err))
		if k := directory.KindOf(err); k == directory.KindInvalid || k == directory.KindConflict {
			return exitUsage
		}
		return exitFailure
	}
	fmt.Fprintf(stdout, "administrator %s created; sign in at /portal/\n", directory.AdminID(email))
	return exitOK
}

// readPassword reads one line: from a terminal with a prompt and no echo,
// otherwise as piped (trailing newline removed).
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		return string(b), err
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on stdin")
	}
	return line, nil
}
