// Command probe is the end-to-end tests' network probe, run as a pod: `probe tcp HOST:PORT SECONDS`
// tries to open a TCP connection until one opens (exit 0, "open") or the seconds pass (exit 1,
// "closed"). It keeps trying because a NetworkPolicy enforcer admits a new pod's address to the
// policies that allow it only once it has seen the pod.
package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) != 4 || os.Args[1] != "tcp" {
		fmt.Println("usage: probe tcp HOST:PORT SECONDS")
		os.Exit(2)
	}
	seconds, err := strconv.Atoi(os.Args[3])
	if err != nil {
		fmt.Println("seconds:", err)
		os.Exit(2)
	}
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", os.Args[2], 2*time.Second)
		if err == nil {
			_ = conn.Close()
			fmt.Println("open")
			return
		}
		if time.Now().After(deadline) {
			fmt.Println("closed:", err)
			os.Exit(1)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
