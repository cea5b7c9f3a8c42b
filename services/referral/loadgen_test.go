package referral

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// rawClient is a minimal HTTP/1.1 keep-alive client for load generation: it writes prepared
// request bytes and reads the status and body, and costs the two shared cores far less than
// net/http's client, as wrk would.
type rawClient struct {
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	host string
}

func dialRaw(base string) (*rawClient, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		return nil, err
	}
	return &rawClient{conn: conn, r: bufio.NewReaderSize(conn, 32<<10), w: bufio.NewWriterSize(conn, 8<<10), host: u.Host}, nil
}

// do sends method path with the headers and body and returns the status and the Location header.
func (c *rawClient) do(method, path, token string, body []byte) (int, string, error) {
	w := c.w
	w.WriteString(method)
	w.WriteByte(' ')
	w.WriteString(path)
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(c.host)
	if token != "" {
		w.WriteString("\r\nAuthorization: Bearer ")
		w.WriteString(token)
	}
	if body != nil {
		w.WriteString("\r\nContent-Type: application/json\r\nContent-Length: ")
		w.WriteString(strconv.Itoa(len(body)))
	}
	w.WriteString("\r\n\r\n")
	w.Write(body)
	if err := w.Flush(); err != nil {
		return 0, "", err
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, "", err
	}
	if len(line) < 12 {
		return 0, "", fmt.Errorf("status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, "", err
	}
	length, chunked, location := -1, false, ""
	for {
		h, err := c.r.ReadSlice('\n')
		if err != nil {
			return 0, "", err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, _ := bytes.Cut(h, []byte(": "))
		switch strings.ToLower(string(name)) {
		case "content-length":
			length, _ = strconv.Atoi(string(value))
		case "transfer-encoding":
			chunked = string(value) == "chunked"
		case "location":
			location = string(value)
		}
	}
	switch {
	case chunked:
		for {
			sizeLine, err := c.r.ReadSlice('\n')
			if err != nil {
				return 0, "", err
			}
			size, err := strconv.ParseInt(string(bytes.TrimRight(sizeLine, "\r\n")), 16, 64)
			if err != nil {
				return 0, "", err
			}
			if _, err := c.r.Discard(int(size) + 2); err != nil {
				return 0, "", err
			}
			if size == 0 {
				break
			}
		}
	case length >= 0:
		if _, err := io.CopyN(io.Discard, c.r, int64(length)); err != nil {
			return 0, "", err
		}
	default:
		return 0, "", errors.New("response without a length")
	}
	return status, location, nil
}

func (c *rawClient) close() { _ = c.conn.Close() }
